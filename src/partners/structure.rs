//! The structure of a partner pack: how each table is laid out, and every additive relation
//! an intruder can write down between its published and suppressed counts.
//!
//! A pack table is one or more *grids*, one per count column. A grid's cells are addressed by
//! its *axes*: the panel columns, the row column and the column column. On every axis but a
//! panel's, the value [`TOTAL`] stands for the sum over the axis. Three kinds of relation follow:
//!
//! - **Margins** (within a grid): in each panel, every row's cells sum to its `Total` column
//!   and every column's cells sum to its `Total` row.
//! - **Links** (across grids with the same count column, e.g. `offences`): a cell of one grid
//!   equals the sum of the cells of another grid that cover exactly the same offences. A cell
//!   is the set of offences matching its axis values; an axis may also imply a coarser one (the
//!   `groups` column: an LSOA's district; a `month` axis: its financial year, April to March).
//!   Another grid covers the cell when it can express every one of those values: on each of
//!   its axes it takes the cell's value, or every value inside the cell's coarser value (the
//!   LSOAs of a district, the months of a financial year), or its `Total` (or every panel when
//!   a panel column has no total).
//! - **Subsets**: a panel column with a `whole=` value (e.g. `cohort`, whole `all`) has
//!   panels that are subsets of the whole, cell by cell (`under_25 <= all`).
//!
//! The same code derives the relations when a pack is written and when it is audited, from
//! the layouts recorded in the pack's manifest, so an auditor needs no SQL.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// The label of a total row, column or panel.
pub const TOTAL: &str = "Total";

/// A panel column whose one value is the whole population and whose others are subsets of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whole {
    /// The panel column (e.g. `cohort`).
    pub column: String,
    /// Its value for the whole population (e.g. `all`).
    pub value: String,
}

/// How a pack table is laid out for disclosure control, from its metadata's
/// `disclosure = "panel=... rows=... columns=... counts=... [groups=...] [whole=col:value]"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Columns identifying a panel (an independent grid).
    pub panel: Vec<String>,
    /// The column whose values are the grid's rows (with a `Total` row).
    pub rows: String,
    /// The column whose values are the grid's columns (with a `Total` column).
    pub columns: String,
    /// The count columns to protect.
    pub counts: Vec<String>,
    /// A column naming the coarser unit each row belongs to (e.g. `district` of an LSOA), whose
    /// sums other tables publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    /// A panel column whose panels are subsets of one whole panel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whole: Option<Whole>,
}

impl Layout {
    /// Parses `panel=a,b rows=r columns=c counts=n [groups=g] [whole=a:value]`.
    pub fn parse(text: &str) -> Result<Layout, String> {
        let mut layout = Layout {
            panel: Vec::new(),
            rows: String::new(),
            columns: String::new(),
            counts: Vec::new(),
            groups: None,
            whole: None,
        };
        for part in text.split_whitespace() {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not key=value"))?;
            let list = || value.split(',').map(str::to_owned).collect::<Vec<_>>();
            match key {
                "panel" => layout.panel = list(),
                "rows" => layout.rows = value.to_owned(),
                "columns" => layout.columns = value.to_owned(),
                "counts" => layout.counts = list(),
                "groups" => layout.groups = Some(value.to_owned()),
                "whole" => {
                    let (column, value) = value.split_once(':').ok_or_else(|| {
                        format!("`whole={value}` should be whole=<panel column>:<value>")
                    })?;
                    layout.whole = Some(Whole {
                        column: column.to_owned(),
                        value: value.to_owned(),
                    });
                }
                other => return Err(format!("unknown layout key `{other}`")),
            }
        }
        if layout.rows.is_empty() || layout.columns.is_empty() || layout.counts.is_empty() {
            return Err("the layout needs rows=, columns= and counts=".to_owned());
        }
        if let Some(whole) = &layout.whole
            && !layout.panel.contains(&whole.column)
        {
            return Err(format!(
                "whole={}:{} names a column that is not a panel column",
                whole.column, whole.value
            ));
        }
        Ok(layout)
    }

    /// The axes of the layout: panel columns, then the row column, then the column column.
    pub fn axes(&self) -> Vec<&str> {
        self.panel
            .iter()
            .map(String::as_str)
            .chain([self.rows.as_str(), self.columns.as_str()])
            .collect()
    }
}

/// One cell of a grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridCell {
    /// Its value on each axis of the layout ([`Layout::axes`] order).
    pub axes: Vec<String>,
    /// The value of the layout's `groups` column on this row; empty for none.
    pub group: String,
    /// The count (the true one while a pack is written; the published one, `None` when
    /// suppressed, when a pack is audited). A null count that is not suppressed is a zero.
    pub value: Option<u64>,
    /// Whether the count is (to be) withheld.
    pub suppressed: bool,
}

impl GridCell {
    /// Whether the cell is a total on its row or column axis (a margin, not an inner cell).
    pub fn is_total(&self) -> bool {
        self.axes.iter().any(|a| a == TOTAL)
    }
}

/// One count column of one pack table, cell by cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// The table (file stem).
    pub table: String,
    /// The count column.
    pub count: String,
    /// The table's layout.
    pub layout: Layout,
    /// The cells, in the table's row order.
    pub cells: Vec<GridCell>,
}

/// Where a relation comes from, to summarise the structure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A row or column of a grid with its total (grid index).
    Margin(usize),
    /// A cell of the first grid equal to a sum of cells of the second.
    Link(usize, usize),
    /// A subset panel of a grid, cell by cell, at most its whole panel.
    Subset(usize),
}

/// One relation between cells, by global cell index ([`System::id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// `total` equals the sum of `parts`.
    Sum {
        /// The total cell.
        total: usize,
        /// The cells summing to it.
        parts: Vec<usize>,
        /// Where it comes from.
        origin: Origin,
    },
    /// `part` is at most `whole`.
    Subset {
        /// The subset cell.
        part: usize,
        /// The whole-population cell.
        whole: usize,
        /// Where it comes from.
        origin: Origin,
    },
}

impl Relation {
    /// Every cell of the relation.
    pub fn members(&self) -> Vec<usize> {
        match self {
            Relation::Sum { total, parts, .. } => std::iter::once(*total)
                .chain(parts.iter().copied())
                .collect(),
            Relation::Subset { part, whole, .. } => vec![*part, *whole],
        }
    }

    /// The relation as signed cells: `sum(sign * cell) = 0` for a sum, `<= 0` for a subset.
    pub fn signed(&self) -> Vec<(usize, f64)> {
        match self {
            Relation::Sum { total, parts, .. } => std::iter::once((*total, -1.0))
                .chain(parts.iter().map(|&p| (p, 1.0)))
                .collect(),
            Relation::Subset { part, whole, .. } => vec![(*part, 1.0), (*whole, -1.0)],
        }
    }

    /// Whether the relation is an equation (a sum) rather than an inequality (a subset).
    pub fn is_equation(&self) -> bool {
        matches!(self, Relation::Sum { .. })
    }

    /// Where the relation comes from.
    pub fn origin(&self) -> &Origin {
        match self {
            Relation::Sum { origin, .. } | Relation::Subset { origin, .. } => origin,
        }
    }
}

/// A relation as an intruder writes it down: a linear constraint on the suppressed counts,
/// `sum(coefficient * x) + constant = 0` (a sum) or `<= 0` (a subset), where the published
/// counts have gone into the constant.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// The relation's index in [`System::relations`].
    pub relation: usize,
    /// (global cell index of a suppressed member, coefficient).
    pub terms: Vec<(usize, f64)>,
    /// The published members' signed sum.
    pub constant: f64,
    /// An equation (`= 0`) rather than an inequality (`<= 0`).
    pub equality: bool,
}

/// The grids of a pack with every relation between their cells.
#[derive(Debug, Clone)]
pub struct System {
    /// The grids.
    pub grids: Vec<Grid>,
    offsets: Vec<usize>,
    /// Every relation.
    pub relations: Vec<Relation>,
}

impl System {
    /// Derives the relations of `grids`.
    pub fn new(grids: Vec<Grid>) -> System {
        let mut offsets = Vec::with_capacity(grids.len());
        let mut next = 0;
        for grid in &grids {
            offsets.push(next);
            next += grid.cells.len();
        }
        let mut system = System {
            grids,
            offsets,
            relations: Vec::new(),
        };
        let mut relations = Vec::new();
        for g in 0..system.grids.len() {
            relations.extend(system.margins(g));
            relations.extend(system.subsets(g));
        }
        let mut seen: HashSet<(usize, Vec<usize>)> = HashSet::new();
        for a in 0..system.grids.len() {
            for b in 0..system.grids.len() {
                if a != b && system.grids[a].count == system.grids[b].count {
                    for relation in system.links(a, b) {
                        if let Relation::Sum { total, parts, .. } = &relation {
                            let mut key = parts.clone();
                            key.sort_unstable();
                            // X = Y is found from both sides; keep it once.
                            if let [only] = key[..]
                                && seen.contains(&(only, vec![*total]))
                            {
                                continue;
                            }
                            if !seen.insert((*total, key)) {
                                continue;
                            }
                        }
                        relations.push(relation);
                    }
                }
            }
        }
        system.relations = relations;
        system
    }

    /// Number of cells over all grids.
    pub fn len(&self) -> usize {
        self.offsets
            .last()
            .map_or(0, |o| o + self.grids.last().map_or(0, |g| g.cells.len()))
    }

    /// Whether there are no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The global index of cell `cell` of grid `grid`.
    pub fn id(&self, grid: usize, cell: usize) -> usize {
        self.offsets[grid] + cell
    }

    /// The grid and cell index of a global index.
    pub fn locate(&self, id: usize) -> (usize, usize) {
        let grid = self.offsets.partition_point(|&o| o <= id) - 1;
        (grid, id - self.offsets[grid])
    }

    /// The cell with global index `id`.
    pub fn cell(&self, id: usize) -> &GridCell {
        let (g, c) = self.locate(id);
        &self.grids[g].cells[c]
    }

    /// The cell with global index `id`, to change.
    pub fn cell_mut(&mut self, id: usize) -> &mut GridCell {
        let (g, c) = self.locate(id);
        &mut self.grids[g].cells[c]
    }

    /// A cell for people: `table.count [axis=value ...]`.
    pub fn describe(&self, id: usize) -> String {
        let (g, c) = self.locate(id);
        let grid = &self.grids[g];
        let cell = &grid.cells[c];
        let axes: Vec<String> = grid
            .layout
            .axes()
            .iter()
            .zip(&cell.axes)
            .map(|(a, v)| format!("{a}={v}"))
            .collect();
        format!("{}.{} [{}]", grid.table, grid.count, axes.join(" "))
    }

    /// Relations whose members' values contradict them (a sum that does not add up, a subset
    /// larger than its whole), described; checked on the true counts before suppression, so a
    /// layout that declares a relation the data do not satisfy is caught.
    pub fn contradictions(&self) -> Vec<String> {
        let value = |id: usize| self.cell(id).value;
        let mut found = Vec::new();
        for relation in &self.relations {
            match relation {
                Relation::Sum { total, parts, .. } => {
                    let sum: Option<u64> = parts.iter().map(|&p| value(p).or(Some(0))).sum();
                    let total_value = value(*total).unwrap_or(0);
                    if sum != Some(total_value) {
                        found.push(format!(
                            "{} = {total_value}, but the {} cells that should sum to it sum to {} (first: {})",
                            self.describe(*total),
                            parts.len(),
                            sum.unwrap_or(0),
                            parts.first().map(|&p| self.describe(p)).unwrap_or_default()
                        ));
                    }
                }
                Relation::Subset { part, whole, .. } => {
                    let (p, w) = (value(*part).unwrap_or(0), value(*whole).unwrap_or(0));
                    if p > w {
                        found.push(format!(
                            "{} = {p} exceeds its whole {} = {w}",
                            self.describe(*part),
                            self.describe(*whole)
                        ));
                    }
                }
            }
        }
        found
    }

    /// Every relation with at least one suppressed member, as a constraint on the suppressed
    /// counts (a published count that is null is a zero). The one place relations are turned
    /// into equations: the audit solves them, disclosure control walks them.
    pub fn constraints(&self) -> Vec<Constraint> {
        let mut out = Vec::new();
        for (r, relation) in self.relations.iter().enumerate() {
            let mut constraint = Constraint {
                relation: r,
                terms: Vec::new(),
                constant: 0.0,
                equality: relation.is_equation(),
            };
            for (id, sign) in relation.signed() {
                let cell = self.cell(id);
                if cell.suppressed {
                    constraint.terms.push((id, sign));
                } else {
                    constraint.constant += sign * cell.value.unwrap_or(0) as f64;
                }
            }
            if !constraint.terms.is_empty() {
                out.push(constraint);
            }
        }
        out
    }

    /// How many members of relation `r` are suppressed.
    pub fn suppressed_members(&self, r: usize) -> usize {
        self.relations[r]
            .members()
            .iter()
            .filter(|&&m| self.cell(m).suppressed)
            .count()
    }

    /// For each cell, the indices of the relations it is a member of.
    pub fn memberships(&self) -> Vec<Vec<usize>> {
        let mut of = vec![Vec::new(); self.len()];
        for (r, relation) in self.relations.iter().enumerate() {
            for m in relation.members() {
                of[m].push(r);
            }
        }
        of
    }

    /// The relations summarised by origin: (origin, number of relations).
    pub fn summary(&self) -> BTreeMap<Origin, usize> {
        let mut counts = BTreeMap::new();
        for relation in &self.relations {
            *counts.entry(relation.origin().clone()).or_insert(0) += 1;
        }
        counts
    }

    fn margins(&self, g: usize) -> Vec<Relation> {
        let grid = &self.grids[g];
        let panel = grid.layout.panel.len();
        let (row, column) = (panel, panel + 1);
        // (by row?, panel and line key) -> (its total cell, its other cells)
        type Line = (Option<usize>, Vec<usize>);
        let mut lines: BTreeMap<(bool, Vec<&str>), Line> = BTreeMap::new();
        for (c, cell) in grid.cells.iter().enumerate() {
            let id = self.id(g, c);
            let key: Vec<&str> = cell.axes[..panel].iter().map(String::as_str).collect();
            for (by_row, fixed, free) in [(true, row, column), (false, column, row)] {
                let mut key = key.clone();
                key.push(cell.axes[fixed].as_str());
                let line = lines.entry((by_row, key)).or_default();
                if cell.axes[free] == TOTAL {
                    line.0 = Some(id);
                } else {
                    line.1.push(id);
                }
            }
        }
        lines
            .into_values()
            .filter_map(|(total, parts)| {
                let total = total?;
                (!parts.is_empty()).then_some(Relation::Sum {
                    total,
                    parts,
                    origin: Origin::Margin(g),
                })
            })
            .collect()
    }

    fn subsets(&self, g: usize) -> Vec<Relation> {
        let grid = &self.grids[g];
        let Some(whole) = &grid.layout.whole else {
            return Vec::new();
        };
        let Some(at) = grid.layout.panel.iter().position(|p| *p == whole.column) else {
            return Vec::new();
        };
        let index: HashMap<&[String], usize> = grid
            .cells
            .iter()
            .enumerate()
            .filter(|(_, cell)| cell.axes[at] == whole.value)
            .map(|(c, cell)| (cell.axes.as_slice(), c))
            .collect();
        let mut relations = Vec::new();
        for (c, cell) in grid.cells.iter().enumerate() {
            if cell.axes[at] == whole.value {
                continue;
            }
            let mut key = cell.axes.clone();
            key[at] = whole.value.clone();
            if let Some(&w) = index.get(key.as_slice()) {
                relations.push(Relation::Subset {
                    part: self.id(g, c),
                    whole: self.id(g, w),
                    origin: Origin::Subset(g),
                });
            }
        }
        relations
    }

    /// The coordinates of a cell: each axis value but totals and the whole panel, with the
    /// coarser values they imply.
    fn coordinates(&self, g: usize, cell: &GridCell) -> BTreeMap<String, String> {
        let layout = &self.grids[g].layout;
        let mut coordinates = BTreeMap::new();
        for (axis, value) in layout.axes().into_iter().zip(&cell.axes) {
            if value == TOTAL {
                continue;
            }
            if layout
                .whole
                .as_ref()
                .is_some_and(|w| w.column == axis && w.value == *value)
            {
                continue;
            }
            if let Some((parent, of)) = parent(layout, axis, value, cell) {
                coordinates.insert(parent, of);
            }
            coordinates.insert(axis.to_owned(), value.clone());
        }
        coordinates
    }

    /// Every cell of grid `a` as a sum of cells of grid `b`, where `b` covers it exactly.
    fn links(&self, a: usize, b: usize) -> Vec<Relation> {
        let target = &self.grids[b];
        let axes = target.layout.axes();
        let index: HashMap<&[String], usize> = target
            .cells
            .iter()
            .enumerate()
            .map(|(c, cell)| (cell.axes.as_slice(), c))
            .collect();
        // Per axis of b: its values (not Total), whether it has a Total, and its values under
        // each coarser value.
        let mut values: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); axes.len()];
        let mut has_total = vec![false; axes.len()];
        let mut parents: Vec<Option<String>> = vec![None; axes.len()];
        let mut children: Vec<BTreeMap<String, BTreeSet<&str>>> = vec![BTreeMap::new(); axes.len()];
        for cell in &target.cells {
            for (i, value) in cell.axes.iter().enumerate() {
                if value == TOTAL {
                    has_total[i] = true;
                    continue;
                }
                values[i].insert(value.as_str());
                if let Some((p, of)) = parent(&target.layout, axes[i], value, cell) {
                    parents[i] = Some(p);
                    children[i].entry(of).or_default().insert(value.as_str());
                }
            }
        }
        let expressible: BTreeSet<&str> = axes
            .iter()
            .copied()
            .chain(parents.iter().flatten().map(String::as_str))
            .collect();
        let mut relations = Vec::new();
        'cells: for (c, cell) in self.grids[a].cells.iter().enumerate() {
            let at = self.coordinates(a, cell);
            if at.keys().any(|k| !expressible.contains(k.as_str())) {
                continue;
            }
            let mut choices: Vec<Vec<&str>> = Vec::with_capacity(axes.len());
            for (i, axis) in axes.iter().enumerate() {
                let choice: Vec<&str> = if let Some(v) = at.get(*axis) {
                    vec![v.as_str()]
                } else if let Some(of) = parents[i].as_ref().and_then(|p| at.get(p)) {
                    match children[i].get(of) {
                        Some(set) => set.iter().copied().collect(),
                        None => continue 'cells,
                    }
                } else if let Some(w) = target.layout.whole.as_ref().filter(|w| w.column == *axis) {
                    vec![w.value.as_str()]
                } else if has_total[i] {
                    vec![TOTAL]
                } else {
                    values[i].iter().copied().collect()
                };
                if choice.is_empty() {
                    continue 'cells;
                }
                choices.push(choice);
            }
            let mut parts = Vec::new();
            for key in product(&choices) {
                let key: Vec<String> = key.into_iter().map(str::to_owned).collect();
                match index.get(key.as_slice()) {
                    Some(&p) => parts.push(self.id(b, p)),
                    None => continue 'cells,
                }
            }
            relations.push(Relation::Sum {
                total: self.id(a, c),
                parts,
                origin: Origin::Link(a, b),
            });
        }
        relations
    }
}

/// The coarser value an axis value implies, as (dimension, value): an LSOA row's district (the
/// layout's `groups` column), a month's financial year.
fn parent(layout: &Layout, axis: &str, value: &str, cell: &GridCell) -> Option<(String, String)> {
    if axis == layout.rows
        && let Some(groups) = &layout.groups
        && !cell.group.is_empty()
    {
        return Some((groups.clone(), cell.group.clone()));
    }
    if axis == "month" {
        return financial_year(value).map(|fy| ("financial_year".to_owned(), fy));
    }
    None
}

/// The UK financial year (April to March) of a `YYYY-MM` month, as `2020/21`.
pub fn financial_year(month: &str) -> Option<String> {
    let (year, month) = month.split_once('-')?;
    let (year, month): (i32, u32) = (year.parse().ok()?, month.parse().ok()?);
    if !(1..=12).contains(&month) {
        return None;
    }
    let start = if month >= 4 { year } else { year - 1 };
    Some(format!("{start}/{:02}", (start + 1).rem_euclid(100)))
}

fn product<'a>(choices: &[Vec<&'a str>]) -> Vec<Vec<&'a str>> {
    let mut out: Vec<Vec<&'a str>> = vec![Vec::new()];
    for choice in choices {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                choice.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(*v);
                    next
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A grid from inner counts, with Total row, column and grand total; rows `r0..`,
    /// columns `c0..`, one panel `p`.
    pub fn grid(table: &str, count: &str, counts: &[&[u64]]) -> Grid {
        panelled(table, count, "p", counts)
    }

    /// A district table (`rows=district`) from inner counts, its rows named by `district`
    /// from their index: the coarser table that LSOA rows grouped by district sum into.
    pub fn districts(counts: &[&[u64]], district: &dyn Fn(usize) -> String) -> Grid {
        let mut grid = grid("district", "n", counts);
        grid.layout = Layout::parse("panel=panel rows=district columns=column counts=n").unwrap();
        for cell in &mut grid.cells {
            if let Some(r) = cell.axes[1].strip_prefix('r') {
                cell.axes[1] = district(r.parse().unwrap());
            }
        }
        grid
    }

    /// Like [`grid`] with a panel value.
    pub fn panelled(table: &str, count: &str, panel: &str, counts: &[&[u64]]) -> Grid {
        let layout = Layout::parse(&format!(
            "panel=panel rows=row columns=column counts={count}"
        ))
        .unwrap();
        Grid {
            table: table.into(),
            count: count.into(),
            layout,
            cells: cells(panel, counts, &|_| String::new()),
        }
    }

    /// The cells of one panel, with totals; `group` names each row's group.
    pub fn cells(panel: &str, counts: &[&[u64]], group: &dyn Fn(usize) -> String) -> Vec<GridCell> {
        let mut out = Vec::new();
        let width = counts[0].len();
        let mut column_totals = vec![0; width];
        let cell = |row: String, column: String, value: u64, group: String| GridCell {
            axes: vec![panel.into(), row, column],
            group,
            value: Some(value),
            suppressed: false,
        };
        for (r, row) in counts.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                out.push(cell(format!("r{r}"), format!("c{c}"), *v, group(r)));
                column_totals[c] += v;
            }
            out.push(cell(
                format!("r{r}"),
                TOTAL.into(),
                row.iter().sum(),
                group(r),
            ));
        }
        for (c, v) in column_totals.iter().enumerate() {
            out.push(cell(TOTAL.into(), format!("c{c}"), *v, String::new()));
        }
        out.push(cell(
            TOTAL.into(),
            TOTAL.into(),
            column_totals.iter().sum(),
            String::new(),
        ));
        out
    }

    #[test]
    fn layout_lines_parse() {
        let layout = Layout::parse(
            "panel=cohort,sex rows=lsoa columns=month counts=n groups=district whole=cohort:all",
        )
        .unwrap();
        assert_eq!(layout.panel, vec!["cohort", "sex"]);
        assert_eq!(layout.groups.as_deref(), Some("district"));
        assert_eq!(layout.whole.as_ref().unwrap().value, "all");
        assert!(
            Layout::parse("rows=a counts=n")
                .unwrap_err()
                .contains("columns=")
        );
        assert!(
            Layout::parse("rows=a colums=b counts=n")
                .unwrap_err()
                .contains("colums")
        );
        assert!(
            Layout::parse("rows=a columns=b counts=n whole=x:all")
                .unwrap_err()
                .contains("not a panel column")
        );
    }

    #[test]
    fn financial_years_start_in_april() {
        assert_eq!(financial_year("2021-03").as_deref(), Some("2020/21"));
        assert_eq!(financial_year("2021-04").as_deref(), Some("2021/22"));
        assert_eq!(financial_year("1999-12").as_deref(), Some("1999/00"));
        assert_eq!(financial_year("Total"), None);
    }

    #[test]
    fn margins_are_rows_and_columns_with_their_totals() {
        let system = System::new(vec![grid("t", "n", &[&[1, 2], &[3, 4]])]);
        // 2 rows + Total row, 2 columns + Total column.
        assert_eq!(system.relations.len(), 6);
        assert!(system.contradictions().is_empty());
    }

    #[test]
    fn a_district_table_links_to_the_lsoas_of_each_district() {
        // LSOA table: rows r0, r1 in district A, r2 in B; columns c0, c1.
        let lsoa = Grid {
            table: "lsoa".into(),
            count: "n".into(),
            layout: Layout::parse("panel=panel rows=lsoa columns=column counts=n groups=district")
                .unwrap(),
            cells: cells("p", &[&[1, 2], &[3, 4], &[5, 6]], &|r| {
                (if r < 2 { "A" } else { "B" }).to_owned()
            }),
        };
        // District table: rows A, B.
        let district = districts(&[&[4, 6], &[5, 6]], &|r| ["A", "B"][r].to_owned());
        let system = System::new(vec![lsoa, district]);
        assert!(
            system.contradictions().is_empty(),
            "{:?}",
            system.contradictions()
        );
        let links: Vec<&Relation> = system
            .relations
            .iter()
            .filter(|r| matches!(r.origin(), Origin::Link(..)))
            .collect();
        // District A, column c0 = LSOA r0 c0 + r1 c0.
        let a_c0 = system.grids[1]
            .cells
            .iter()
            .position(|c| c.axes[1] == "A" && c.axes[2] == "c0")
            .map(|c| system.id(1, c))
            .unwrap();
        let found = links
            .iter()
            .find(|r| matches!(r, Relation::Sum { total, .. } if *total == a_c0));
        let Some(Relation::Sum { parts, .. }) = found else {
            panic!("no link for district A c0: {links:?}")
        };
        let described: Vec<String> = parts.iter().map(|&p| system.describe(p)).collect();
        assert_eq!(
            described,
            [
                "lsoa.n [panel=p lsoa=r0 column=c0]",
                "lsoa.n [panel=p lsoa=r1 column=c0]"
            ]
        );
        // Grand totals are equal across the tables (one relation, not two).
        let grand: Vec<&&Relation> = links
            .iter()
            .filter(|r| matches!(r, Relation::Sum { parts, .. } if parts.len() == 1))
            .collect();
        assert!(!grand.is_empty());
    }

    #[test]
    fn wrong_relations_are_contradictions() {
        let mut g = grid("t", "n", &[&[1, 2], &[3, 4]]);
        g.cells[0].value = Some(9);
        let system = System::new(vec![g]);
        assert_eq!(system.contradictions().len(), 2);
    }
}
