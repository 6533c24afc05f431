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
//!   panels that are subsets of the whole, cell by cell (`under_25 <= all`); a count column
//!   named in `subsets=part<whole` counts a subset of another count column's events, cell by
//!   cell (`knife_offences <= offences`).
//!
//! The same code derives the relations when a pack is written and when it is audited, from
//! the layouts recorded in the pack's manifest, so an auditor needs no SQL.
//!
//! **Several releases** ([`System::joint`]): an intruder may hold packs of other, overlapping
//! periods. Each release's grids keep the relations above among themselves; across releases a
//! cell also equals the sum of another release's cells that cover exactly the same events.
//! There the period is part of a cell's events: a cell covers the days of its month, or of its
//! financial year, or (with neither) of the whole period, within its release's period; another
//! release's grid covers it when its months (or financial years, or its whole period) within
//! its own period add up to exactly those days, and its other axes as for a link. So the same
//! district-month in two packs is one count, and a financial year of one pack is the sum of
//! the months another pack publishes when that pack's months cover the same days.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
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
    /// Count columns counting a subset of another count column's events, cell by cell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subsets: Vec<CountSubset>,
    /// A panel column whose value names the dimension of the rows (`dimension=breakdown`: the
    /// rows of panel `district` are districts, those of panel `hour` hours), so that they are
    /// linked with other tables' axes of that name. Such a table is audited as one grid per
    /// panel, its row axis named by the panel ([`Layout::named_by_panel`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
}

/// A count column counting a subset of another's events (`subsets=knife_offences<offences`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountSubset {
    /// The subset's count column.
    pub part: String,
    /// The count column of all the events.
    pub whole: String,
}

impl Layout {
    /// Parses `panel=a,b rows=r columns=c counts=n,m [groups=g] [whole=a:value]
    /// [subsets=m<n] [dimension=a]`.
    pub fn parse(text: &str) -> Result<Layout, String> {
        let mut layout = Layout {
            panel: Vec::new(),
            rows: String::new(),
            columns: String::new(),
            counts: Vec::new(),
            groups: None,
            whole: None,
            subsets: Vec::new(),
            dimension: None,
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
                "subsets" => {
                    for pair in value.split(',') {
                        let (part, whole) = pair.split_once('<').ok_or_else(|| {
                            format!("`subsets={value}` should be subsets=<count><<count>,...")
                        })?;
                        layout.subsets.push(CountSubset {
                            part: part.to_owned(),
                            whole: whole.to_owned(),
                        });
                    }
                }
                "dimension" => layout.dimension = Some(value.to_owned()),
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
        for subset in &layout.subsets {
            for count in [&subset.part, &subset.whole] {
                if !layout.counts.contains(count) {
                    return Err(format!(
                        "subsets={}<{} names `{count}`, which is not one of counts=",
                        subset.part, subset.whole
                    ));
                }
            }
        }
        if let Some(dimension) = &layout.dimension
            && !layout.panel.contains(dimension)
        {
            return Err(format!(
                "dimension={dimension} names a column that is not a panel column"
            ));
        }
        Ok(layout)
    }

    /// The layout of the grid of one panel value of a `dimension=` layout: without that panel
    /// column, its rows named `value` (the rows' dimension). `None` without `dimension=`.
    pub fn named_by_panel(&self, value: &str) -> Option<Layout> {
        let dimension = self.dimension.as_ref()?;
        Some(Layout {
            panel: self
                .panel
                .iter()
                .filter(|p| *p != dimension)
                .cloned()
                .collect(),
            rows: value.to_owned(),
            // Rows of the groups' own dimension are their own groups.
            groups: self.groups.clone().filter(|g| g != value),
            whole: self.whole.clone().filter(|w| w.column != *dimension),
            dimension: None,
            ..self.clone()
        })
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

/// One cell of a grid (as the release log records it, too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridCell {
    /// Its value on each axis of the layout ([`Layout::axes`] order).
    pub axes: Vec<String>,
    /// The value of the layout's `groups` column on this row; empty for none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The count (the true one while a pack is written; the published one, `None` when
    /// suppressed, when a pack is audited). A null count that is not suppressed is a zero.
    pub value: Option<u64>,
    /// Whether the count is (to be) withheld.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
}

impl GridCell {
    /// Whether the cell is a total on its row or column axis (a margin, not an inner cell).
    pub fn is_total(&self) -> bool {
        self.axes.iter().any(|a| a == TOTAL)
    }
}

/// One count column of one pack table, cell by cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// A cell of the first grid equal to a sum of cells of the second, of another release
    /// (the same events published twice).
    Across(usize, usize),
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

/// The days a release covers, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
}

impl Period {
    /// The days of both, if any.
    pub fn intersect(self, other: Period) -> Option<Period> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start <= end).then_some(Period { start, end })
    }

    /// How many days.
    pub fn days(self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// Whether every day of `self` is in `other`.
    pub fn within(self, other: Period) -> bool {
        other.start <= self.start && self.end <= other.end
    }

    /// The days of a `YYYY-MM` month.
    pub fn month(month: &str) -> Option<Period> {
        let start = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
        let end = start
            .checked_add_months(chrono::Months::new(1))?
            .pred_opt()?;
        Some(Period { start, end })
    }

    /// The days of a UK financial year written `2020/21` (April to March).
    pub fn financial_year(year: &str) -> Option<Period> {
        let (first, _) = year.split_once('/')?;
        let first: i32 = first.parse().ok()?;
        let start = NaiveDate::from_ymd_opt(first, 4, 1)?;
        let end = NaiveDate::from_ymd_opt(first + 1, 3, 31)?;
        (financial_year(&format!("{first}-04")).as_deref() == Some(year))
            .then_some(Period { start, end })
    }

    /// The days an axis value stands for, if the axis is a time axis (`month`,
    /// `financial_year`); `None` for other axes or a value that is not a month or year.
    fn of_axis(axis: &str, value: &str) -> Option<Period> {
        match axis {
            MONTH => Period::month(value),
            FINANCIAL_YEAR => Period::financial_year(value),
            _ => None,
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} to {}", self.start, self.end)
    }
}

/// The axis of months, `YYYY-MM`.
const MONTH: &str = "month";
/// The axis of financial years, `2020/21`.
const FINANCIAL_YEAR: &str = "financial_year";

/// One pack's grids in a system of several: a pack published earlier, or the one being written.
#[derive(Debug, Clone)]
pub struct Release {
    /// How cells of this release are named for people (e.g. the pack's directory and period);
    /// empty in a system of one release.
    pub label: String,
    /// The days the pack covers; without it, no relation to other releases is derived.
    pub period: Option<Period>,
    /// Already published: its suppressions are fixed, and its counts are never complements.
    pub published: bool,
    /// Its grids.
    pub grids: Vec<Grid>,
}

/// What a system keeps of each release.
#[derive(Debug, Clone)]
pub struct ReleaseInfo {
    /// See [`Release::label`].
    pub label: String,
    /// See [`Release::period`].
    pub period: Option<Period>,
    /// See [`Release::published`].
    pub published: bool,
    /// Its grids, as a range of [`System::grids`].
    pub grids: std::ops::Range<usize>,
}

/// The grids of a pack (or of several releases) with every relation between their cells.
#[derive(Debug, Clone)]
pub struct System {
    /// The grids.
    pub grids: Vec<Grid>,
    offsets: Vec<usize>,
    /// Every relation.
    pub relations: Vec<Relation>,
    /// The releases the grids belong to, in order.
    pub releases: Vec<ReleaseInfo>,
    release_of: Vec<usize>,
}

impl System {
    /// Derives the relations of `grids`, one pack's.
    pub fn new(grids: Vec<Grid>) -> System {
        System::joint(vec![Release {
            label: String::new(),
            period: None,
            published: false,
            grids,
        }])
    }

    /// Derives the relations of several releases' grids: each release's own, and those
    /// across releases (see the module's documentation).
    pub fn joint(releases: Vec<Release>) -> System {
        let mut grids = Vec::new();
        let mut infos = Vec::new();
        let mut release_of = Vec::new();
        for (r, release) in releases.into_iter().enumerate() {
            let from = grids.len();
            release_of.extend(std::iter::repeat_n(r, release.grids.len()));
            grids.extend(release.grids);
            infos.push(ReleaseInfo {
                label: release.label,
                period: release.period,
                published: release.published,
                grids: from..grids.len(),
            });
        }
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
            releases: infos,
            release_of,
        };
        let mut relations = Vec::new();
        for g in 0..system.grids.len() {
            relations.extend(system.margins(g));
            relations.extend(system.subsets(g));
            relations.extend(system.count_subsets(g));
        }
        let mut seen: HashSet<(usize, Vec<usize>)> = HashSet::new();
        for a in 0..system.grids.len() {
            for b in 0..system.grids.len() {
                if a != b && system.grids[a].count == system.grids[b].count {
                    let related = if system.release_of[a] == system.release_of[b] {
                        system.links(a, b)
                    } else {
                        system.across(a, b)
                    };
                    for relation in related {
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

    /// The release of grid `grid`.
    pub fn release_of(&self, grid: usize) -> usize {
        self.release_of[grid]
    }

    /// Whether cell `id` belongs to a release already published: its suppression is fixed.
    pub fn fixed(&self, id: usize) -> bool {
        let (g, _) = self.locate(id);
        self.releases[self.release_of[g]].published
    }

    /// The grids of release `r`.
    pub fn release_grids(&self, r: usize) -> &[Grid] {
        &self.grids[self.releases[r].grids.clone()]
    }

    /// A cell for people: `table.count [axis=value ...]`, after its release's label when the
    /// system has several.
    pub fn describe(&self, id: usize) -> String {
        let (g, c) = self.locate(id);
        let grid = &self.grids[g];
        let label = &self.releases[self.release_of[g]].label;
        let release = if self.releases.len() > 1 && !label.is_empty() {
            format!("{label}: ")
        } else {
            String::new()
        };
        let cell = &grid.cells[c];
        let axes: Vec<String> = grid
            .layout
            .axes()
            .iter()
            .zip(&cell.axes)
            .map(|(a, v)| format!("{a}={v}"))
            .collect();
        format!(
            "{release}{}.{} [{}]",
            grid.table,
            grid.count,
            axes.join(" ")
        )
    }

    /// Relations whose members' values contradict them (a sum that does not add up, a subset
    /// larger than its whole), described; checked on the true counts before suppression, so a
    /// layout that declares a relation the data do not satisfy is caught.
    /// Relations with a member whose count is unknown (suppressed in a published release) are
    /// left out.
    pub fn contradictions(&self) -> Vec<String> {
        let value = |id: usize| self.cell(id).value;
        let unknown = |id: usize| {
            let cell = self.cell(id);
            cell.suppressed && cell.value.is_none()
        };
        let mut found = Vec::new();
        for relation in &self.relations {
            if relation.members().into_iter().any(unknown) {
                continue;
            }
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

    /// Grid `g`'s cells as subsets of the same cells of the grid of its `whole` count column
    /// (the same table and layout but the count), where its layout says `subsets=`.
    fn count_subsets(&self, g: usize) -> Vec<Relation> {
        let grid = &self.grids[g];
        let [count] = grid.layout.counts.as_slice() else {
            return Vec::new();
        };
        let mut relations = Vec::new();
        for subset in grid.layout.subsets.iter().filter(|s| s.part == *count) {
            let whole_layout = Layout {
                counts: vec![subset.whole.clone()],
                ..grid.layout.clone()
            };
            let Some(w) = (0..self.grids.len()).find(|&w| {
                self.release_of[w] == self.release_of[g]
                    && self.grids[w].table == grid.table
                    && self.grids[w].layout == whole_layout
            }) else {
                continue;
            };
            let index: HashMap<&[String], usize> = self.grids[w]
                .cells
                .iter()
                .enumerate()
                .map(|(c, cell)| (cell.axes.as_slice(), c))
                .collect();
            for (c, cell) in grid.cells.iter().enumerate() {
                if let Some(&whole) = index.get(cell.axes.as_slice()) {
                    relations.push(Relation::Subset {
                        part: self.id(g, c),
                        whole: self.id(w, whole),
                        origin: Origin::Subset(g),
                    });
                }
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
        self.sums(a, b, None)
    }

    /// Every cell of grid `a` as a sum of cells of grid `b` of another release, where `b`
    /// covers the same events: on its time axis (`month` or `financial_year`, at most one) the
    /// values whose days within `b`'s period add up to exactly the cell's days (or its Total,
    /// when `b`'s period is those days); without a time axis, only when `b`'s period is the
    /// cell's days; on its other axes as in [`System::links`].
    fn across(&self, a: usize, b: usize) -> Vec<Relation> {
        match (
            self.releases[self.release_of[a]].period,
            self.releases[self.release_of[b]].period,
        ) {
            (Some(period_a), Some(period_b)) => self.sums(a, b, Some((period_a, period_b))),
            _ => Vec::new(),
        }
    }

    /// Every cell of grid `a` as a sum of cells of grid `b` ([`System::links`] with no
    /// `periods`, [`System::across`] with the two releases' periods).
    fn sums(&self, a: usize, b: usize, periods: Option<(Period, Period)>) -> Vec<Relation> {
        let target = &self.grids[b];
        let axes = target.layout.axes();
        // Only across releases is a time axis matched by its days.
        let timed: Vec<bool> = axes
            .iter()
            .map(|a| periods.is_some() && (*a == MONTH || *a == FINANCIAL_YEAR))
            .collect();
        if timed.iter().filter(|t| **t).count() > 1 {
            return Vec::new();
        }
        let index: HashMap<&[String], usize> = target
            .cells
            .iter()
            .enumerate()
            .map(|(c, cell)| (cell.axes.as_slice(), c))
            .collect();
        let mut values: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); axes.len()];
        let mut has_total = vec![false; axes.len()];
        let mut parents: Vec<Option<String>> = vec![None; axes.len()];
        let mut children: Vec<BTreeMap<String, BTreeSet<&str>>> = vec![BTreeMap::new(); axes.len()];
        // The days of each value of the time axis, within b's period.
        let mut days: BTreeMap<&str, Period> = BTreeMap::new();
        for cell in &target.cells {
            for (i, value) in cell.axes.iter().enumerate() {
                if value == TOTAL {
                    has_total[i] = true;
                    continue;
                }
                values[i].insert(value.as_str());
                if let (true, Some((_, period_b))) = (timed[i], periods) {
                    match Period::of_axis(axes[i], value) {
                        Some(p) => {
                            if let Some(p) = p.intersect(period_b) {
                                days.insert(value.as_str(), p);
                            }
                        }
                        // Not a month or year: nothing is known of its days.
                        None => return Vec::new(),
                    }
                    continue;
                }
                if let Some((p, of)) = parent(&target.layout, axes[i], value, cell) {
                    parents[i] = Some(p);
                    children[i].entry(of).or_default().insert(value.as_str());
                }
            }
        }
        let expressible: BTreeSet<&str> = axes
            .iter()
            .zip(&timed)
            .filter(|(_, t)| !**t)
            .map(|(a, _)| *a)
            .chain(parents.iter().flatten().map(String::as_str))
            .collect();
        let mut relations = Vec::new();
        'cells: for (c, cell) in self.grids[a].cells.iter().enumerate() {
            let mut at = self.coordinates(a, cell);
            // Across releases: the days the cell covers, and whether they are b's period.
            let mut span = None;
            if let Some((period_a, period_b)) = periods {
                let days = match (at.remove(MONTH), at.remove(FINANCIAL_YEAR)) {
                    (Some(month), _) => Period::month(&month),
                    (None, Some(year)) => Period::financial_year(&year),
                    (None, None) => Some(period_a),
                };
                let Some(days) = days.and_then(|s| s.intersect(period_a)) else {
                    continue;
                };
                if !timed.contains(&true) && days != period_b {
                    continue;
                }
                span = Some((days, days == period_b));
            }
            if at.keys().any(|k| !expressible.contains(k.as_str())) {
                continue;
            }
            let mut choices: Vec<Vec<&str>> = Vec::with_capacity(axes.len());
            for (i, axis) in axes.iter().enumerate() {
                let choice: Vec<&str> = if let (true, Some((span, whole))) = (timed[i], span) {
                    if whole && has_total[i] {
                        vec![TOTAL]
                    } else {
                        let inside: Vec<&str> = days
                            .iter()
                            .filter(|(_, d)| d.within(span))
                            .map(|(v, _)| *v)
                            .collect();
                        let covered: i64 = inside.iter().map(|v| days[v].days()).sum();
                        if covered != span.days() {
                            continue 'cells;
                        }
                        inside
                    }
                } else if let Some(v) = at.get(*axis) {
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
                origin: if periods.is_some() {
                    Origin::Across(a, b)
                } else {
                    Origin::Link(a, b)
                },
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

    /// A grid with `rows=district columns=month` (or another time axis): rows `r0..`, the
    /// columns named by `times`.
    pub fn timed(table: &str, axis: &str, times: &[&str], counts: &[&[u64]]) -> Grid {
        let mut grid = grid(table, "n", counts);
        grid.layout = Layout::parse(&format!(
            "panel=panel rows=district columns={axis} counts=n"
        ))
        .unwrap();
        for cell in &mut grid.cells {
            if let Some(c) = cell.axes[2].strip_prefix('c') {
                cell.axes[2] = times[c.parse::<usize>().unwrap()].to_owned();
            }
        }
        grid
    }

    /// A release of `grids` for the days `start` to `end`.
    pub fn release(start: &str, end: &str, published: bool, grids: Vec<Grid>) -> Release {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        Release {
            label: start.to_owned(),
            period: Some(Period {
                start: day(start),
                end: day(end),
            }),
            published,
            grids,
        }
    }

    /// The relations across releases, described: `cell = part + part`.
    pub fn across(system: &System) -> Vec<String> {
        system
            .relations
            .iter()
            .filter_map(|r| match r {
                Relation::Sum {
                    total,
                    parts,
                    origin: Origin::Across(..),
                } => Some(format!(
                    "{} = {}",
                    system.describe(*total),
                    parts
                        .iter()
                        .map(|&p| system.describe(p))
                        .collect::<Vec<_>>()
                        .join(" + ")
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_same_district_month_in_two_releases_is_one_count() {
        // April to September and July to December: July to September in both.
        let a = timed(
            "m",
            "month",
            &[
                "2020-04", "2020-05", "2020-06", "2020-07", "2020-08", "2020-09",
            ],
            &[&[1, 2, 3, 4, 5, 6], &[7, 8, 9, 10, 11, 12]],
        );
        let b = timed(
            "m",
            "month",
            &[
                "2020-07", "2020-08", "2020-09", "2020-10", "2020-11", "2020-12",
            ],
            &[&[4, 5, 6, 1, 1, 1], &[10, 11, 12, 2, 2, 2]],
        );
        let system = System::joint(vec![
            release("2020-04-01", "2020-09-30", true, vec![a]),
            release("2020-07-01", "2020-12-31", false, vec![b]),
        ]);
        assert!(
            system.contradictions().is_empty(),
            "{:?}",
            system.contradictions()
        );
        let found = across(&system);
        // Three months of two districts and their Total row, once each (not both ways); the
        // periods' totals are not the same events.
        assert_eq!(found.len(), 9, "{found:#?}");
        assert!(found.contains(
            &"2020-04-01: m.n [panel=p district=r0 month=2020-07] = 2020-07-01: m.n [panel=p district=r0 month=2020-07]"
                .to_owned()
        ));
        assert!(!found.iter().any(|f| f.contains("month=Total")
            || f.contains("2020-04]")
            || f.contains("2020-10]")));
        // Each release keeps its own margins and no cell of one is a margin of the other.
        assert_eq!(
            system
                .relations
                .iter()
                .filter(|r| matches!(r.origin(), Origin::Margin(_)))
                .count(),
            2 * (3 + 7)
        );
        // The same period twice: every cell is one count, Totals included (a month's cell of a
        // one-month pack is also its Total's).
        let c = timed("m", "month", &["2020-07"], &[&[4], &[10]]);
        let system = System::joint(vec![
            release("2020-07-01", "2020-07-31", true, vec![c.clone()]),
            release("2020-07-01", "2020-07-31", false, vec![c]),
        ]);
        let related: HashSet<usize> = system
            .relations
            .iter()
            .filter(|r| matches!(r.origin(), Origin::Across(..)))
            .flat_map(Relation::members)
            .collect();
        assert_eq!(related.len(), system.len(), "{:#?}", across(&system));
    }

    #[test]
    fn a_financial_year_is_the_sum_of_months_published_in_another_release() {
        let months: Vec<String> = (4..=15)
            .map(|m| format!("{}-{:02}", 2020 + (m - 1) / 12, (m - 1) % 12 + 1))
            .collect();
        let months: Vec<&str> = months.iter().map(String::as_str).collect();
        let row: Vec<u64> = (1..=12).collect();
        let by_month = timed("m", "month", &months, &[&row]);
        let by_year = timed("y", "financial_year", &["2020/21"], &[&[78]]);
        // The year's pack covers 2020/21; the months' pack all of it too (and more).
        let system = System::joint(vec![
            release("2020-04-01", "2021-03-31", true, vec![by_year.clone()]),
            release("2020-04-01", "2021-06-30", false, vec![by_month.clone()]),
        ]);
        let found = across(&system);
        assert!(
            found.iter().any(|f| f.starts_with(
                "2020-04-01: y.n [panel=p district=r0 financial_year=2020/21] = 2020-04-01: m.n [panel=p district=r0 month=2020-04] + "
            ) && f.matches(" + ").count() == 11),
            "{found:#?}"
        );
        // Months covering only part of the year say nothing of it.
        let half = timed("m", "month", &months[..6], &[&row[..6]]);
        let system = System::joint(vec![
            release("2020-04-01", "2021-03-31", true, vec![by_year.clone()]),
            release("2020-04-01", "2020-09-30", false, vec![half]),
        ]);
        assert!(
            !across(&system).iter().any(|f| f.contains("financial_year")),
            "{:#?}",
            across(&system)
        );
        // A year of a pack of six months is those six months of the year.
        let system = System::joint(vec![
            release("2020-04-01", "2020-09-30", true, vec![by_year]),
            release("2020-04-01", "2021-03-31", false, vec![by_month]),
        ]);
        assert!(
            across(&system)
                .iter()
                .any(|f| f.contains("financial_year=2020/21] = ") && f.matches(" + ").count() == 5),
            "{:#?}",
            across(&system)
        );
    }

    #[test]
    fn a_table_of_the_whole_period_is_one_count_only_for_the_same_period() {
        let whole = grid("w", "n", &[&[5, 6], &[7, 8]]);
        let same = System::joint(vec![
            release("2020-04-01", "2020-09-30", true, vec![whole.clone()]),
            release("2020-04-01", "2020-09-30", false, vec![whole.clone()]),
        ]);
        assert_eq!(across(&same).len(), 9);
        let overlapping = System::joint(vec![
            release("2020-04-01", "2020-09-30", true, vec![whole.clone()]),
            release("2020-07-01", "2020-12-31", false, vec![whole]),
        ]);
        assert!(across(&overlapping).is_empty());
        // Days and years.
        assert_eq!(
            Period::financial_year("2020/21").map(|p| p.days()),
            Some(365)
        );
        assert_eq!(Period::month("2020-02").map(|p| p.days()), Some(29));
        assert_eq!(Period::financial_year("2020/22"), None);
    }

    #[test]
    fn revised_counts_contradict_what_an_earlier_release_published() {
        let earlier = timed("m", "month", &["2020-07"], &[&[4], &[10]]);
        let mut revised = earlier.clone();
        for cell in &mut revised.cells {
            if cell.axes[1] != "r1" {
                cell.value = cell.value.map(|v| v + 1);
            }
        }
        let joint = |earlier: Grid| {
            System::joint(vec![
                release("2020-07-01", "2020-07-31", true, vec![earlier]),
                release("2020-07-01", "2020-07-31", false, vec![revised.clone()]),
            ])
        };
        assert!(!joint(earlier.clone()).contradictions().is_empty());
        // What the earlier release withheld cannot contradict anything.
        let mut hidden = earlier;
        for cell in &mut hidden.cells {
            if cell.axes[1] != "r1" {
                (cell.value, cell.suppressed) = (None, true);
            }
        }
        assert!(
            joint(hidden.clone()).contradictions().is_empty(),
            "{:?}",
            joint(hidden).contradictions()
        );
    }

    #[test]
    fn wrong_relations_are_contradictions() {
        let mut g = grid("t", "n", &[&[1, 2], &[3, 4]]);
        g.cells[0].value = Some(9);
        let system = System::new(vec![g]);
        assert_eq!(system.contradictions().len(), 2);
    }
}
