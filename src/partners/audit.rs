//! The intruder's audit of a partner pack: every suppressed count an unknown, every relation of
//! the pack's structure ([`structure::System`]) an equation or inequality, and for each unknown
//! its smallest and largest feasible value by linear programming, as statistical agencies audit
//! a table before release (tau-Argus's audit; Hundepool et al., *Statistical Disclosure
//! Control*, Wiley 2012, ch. 4).
//!
//! What the intruder is assumed to know: every published count, every relation, and that every
//! suppressed count is at least `floor` (1 in a pack: zeros are published and never chosen as
//! complements). A suppressed cell fails when its feasible interval is narrower than the
//! protection level; it is *recovered exactly* when the interval is a single value.
//!
//! The LP relaxation is solved (continuous unknowns), as tau-Argus does; integer constraints
//! could only narrow intervals further by less than one.

use std::collections::BTreeMap;

use good_lp::{
    Expression, ProblemVariables, ResolutionError, Solution, SolverModel, Variable, constraint,
    microlp, variable,
};

use crate::partners::structure::{Relation, System};

/// Slack for floating-point comparisons of LP results.
const EPSILON: f64 = 1e-6;

/// One suppressed count that the audit found insufficiently protected.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    /// The cell's global index in the system.
    pub cell: usize,
    /// Smallest feasible value.
    pub low: f64,
    /// Largest feasible value.
    pub high: f64,
}

impl Exposure {
    /// Whether the interval is a single value.
    pub fn exact(&self) -> bool {
        self.high - self.low < EPSILON
    }
}

/// What an audit found.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// Suppressed counts (unknowns).
    pub suppressed: usize,
    /// Relations with at least one unknown (the constraints solved).
    pub constraints: usize,
    /// Linear programs solved.
    pub programs: usize,
    /// Cells whose interval is narrower than the protection level, in cell order.
    pub exposed: Vec<Exposure>,
}

impl Audit {
    /// Whether every suppressed count is protected.
    pub fn passed(&self) -> bool {
        self.exposed.is_empty()
    }

    /// How many exposed cells are recovered exactly.
    pub fn exact(&self) -> usize {
        self.exposed.iter().filter(|e| e.exact()).count()
    }
}

/// Errors of the audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The published counts contradict the pack's relations.
    #[error(
        "the published counts contradict the pack's structure (no values of the suppressed counts satisfy it), around {cell}"
    )]
    Infeasible {
        /// A cell of the contradictory part.
        cell: String,
    },
    /// The solver failed.
    #[error("the LP solver failed on {cell}: {message}")]
    Solver {
        /// The cell being bounded.
        cell: String,
        /// The solver's message.
        message: String,
    },
}

/// Audits `system` (its cells' `suppressed` flags say which counts are unknown; the others'
/// values are published): every suppressed count must have a feasible interval at least
/// `protection` wide, given that each is at least `floor`.
pub fn audit(system: &System, protection: f64, floor: f64) -> Result<Audit, AuditError> {
    audit_touching(system, protection, floor, None)
}

/// [`audit`] of only the linked groups of unknowns that hold at least one cell of `only`
/// (all of them when `None`): the others are left out of the result.
pub fn audit_touching(
    system: &System,
    protection: f64,
    floor: f64,
    only: Option<&std::collections::HashSet<usize>>,
) -> Result<Audit, AuditError> {
    let unknowns: Vec<usize> = (0..system.len())
        .filter(|&id| system.cell(id).suppressed)
        .collect();
    let mut audit = Audit {
        suppressed: unknowns.len(),
        ..Audit::default()
    };
    if unknowns.is_empty() {
        return Ok(audit);
    }
    let position: BTreeMap<usize, usize> = unknowns
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, i))
        .collect();
    let known = |id: usize| system.cell(id).value.unwrap_or(0) as f64;

    // Each relation with an unknown, as (coefficients by unknown position, constant, is_sum):
    // sum(coefficient * x) + constant = 0 (a sum) or <= 0 (a subset).
    struct Row {
        terms: Vec<(usize, f64)>,
        constant: f64,
        equality: bool,
    }
    let mut rows = Vec::new();
    for relation in &system.relations {
        let signed: Vec<(usize, f64)> = match relation {
            Relation::Sum { total, parts, .. } => std::iter::once((*total, -1.0))
                .chain(parts.iter().map(|&p| (p, 1.0)))
                .collect(),
            Relation::Subset { part, whole, .. } => vec![(*part, 1.0), (*whole, -1.0)],
        };
        let mut row = Row {
            terms: Vec::new(),
            constant: 0.0,
            equality: matches!(relation, Relation::Sum { .. }),
        };
        for (id, sign) in signed {
            match position.get(&id) {
                Some(&x) => row.terms.push((x, sign)),
                None => row.constant += sign * known(id),
            }
        }
        if !row.terms.is_empty() {
            rows.push(row);
        }
    }
    audit.constraints = rows.len();

    // Unknowns linked by some constraint are solved together; the others apart.
    let mut components = UnionFind::new(unknowns.len());
    for row in &rows {
        for pair in row.terms.windows(2) {
            components.union(pair[0].0, pair[1].0);
        }
    }
    let mut by_component: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for x in 0..unknowns.len() {
        by_component.entry(components.find(x)).or_default().push(x);
    }
    let mut rows_of: BTreeMap<usize, Vec<&Row>> = BTreeMap::new();
    for row in &rows {
        rows_of
            .entry(components.find(row.terms[0].0))
            .or_default()
            .push(row);
    }

    for (root, members) in by_component {
        if let Some(only) = only
            && !members.iter().any(|&x| only.contains(&unknowns[x]))
        {
            continue;
        }
        let local: BTreeMap<usize, usize> =
            members.iter().enumerate().map(|(i, &x)| (x, i)).collect();
        let constraints = rows_of.remove(&root).unwrap_or_default();
        let describe = |x: usize| system.describe(unknowns[members[x]]);
        // Solves min or max of local unknown `target`: its value (None: unbounded) and the
        // whole solution.
        let solve = |target: usize, maximise: bool| -> Result<Option<Vec<f64>>, AuditError> {
            let mut variables = ProblemVariables::new();
            let xs: Vec<Variable> = (0..members.len())
                .map(|_| variables.add(variable().min(floor)))
                .collect();
            let problem = if maximise {
                variables.maximise(xs[target])
            } else {
                variables.minimise(xs[target])
            };
            let mut model = problem.using(microlp);
            for row in &constraints {
                let mut expression = Expression::from(row.constant);
                for &(x, coefficient) in &row.terms {
                    expression.add_mul(coefficient, xs[local[&x]]);
                }
                model = model.with(if row.equality {
                    constraint::eq(expression, 0.0)
                } else {
                    constraint::leq(expression, 0.0)
                });
            }
            match model.solve() {
                Ok(solution) => Ok(Some(xs.iter().map(|&x| solution.value(x)).collect())),
                Err(ResolutionError::Unbounded) => Ok(None),
                Err(ResolutionError::Infeasible) => Err(AuditError::Infeasible {
                    cell: describe(target),
                }),
                Err(other) => Err(AuditError::Solver {
                    cell: describe(target),
                    message: other.to_string(),
                }),
            }
        };
        // The spread of values seen in any feasible solution so far: a cell already seen
        // `protection` apart is protected without solving its own programs.
        let mut seen_low = vec![f64::INFINITY; members.len()];
        let mut seen_high = vec![f64::NEG_INFINITY; members.len()];
        for target in 0..members.len() {
            if seen_high[target] - seen_low[target] >= protection - EPSILON {
                continue;
            }
            audit.programs += 1;
            let low = match solve(target, false)? {
                Some(solution) => {
                    observe(&solution, &mut seen_low, &mut seen_high);
                    solution[target]
                }
                None => f64::NEG_INFINITY,
            };
            if seen_high[target] - low >= protection - EPSILON {
                continue;
            }
            audit.programs += 1;
            let high = match solve(target, true)? {
                Some(solution) => {
                    observe(&solution, &mut seen_low, &mut seen_high);
                    solution[target]
                }
                None => continue,
            };
            if high - low < protection - EPSILON {
                audit.exposed.push(Exposure {
                    cell: unknowns[members[target]],
                    low,
                    high,
                });
            }
        }
    }
    audit.exposed.sort_by_key(|e| e.cell);
    Ok(audit)
}

/// Widens the spread seen of each unknown by a feasible solution.
fn observe(solution: &[f64], low: &mut [f64], high: &mut [f64]) {
    for (i, &v) in solution.iter().enumerate() {
        low[i] = low[i].min(v);
        high[i] = high[i].max(v);
    }
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind((0..n).collect())
    }

    fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.0[root] != root {
            root = self.0[root];
        }
        let mut at = x;
        while self.0[at] != root {
            let next = self.0[at];
            self.0[at] = root;
            at = next;
        }
        root
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            let (low, high) = (a.min(b), a.max(b));
            self.0[high] = low;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partners::structure::tests::{cells, grid, panelled};
    use crate::partners::structure::{Grid, Layout, System};

    fn suppress(grid: &mut Grid, which: &[(&str, &str)]) {
        for cell in &mut grid.cells {
            if which
                .iter()
                .any(|(r, c)| cell.axes[1] == *r && cell.axes[2] == *c)
            {
                cell.suppressed = true;
            }
        }
    }

    #[test]
    fn a_lone_small_cell_with_published_margins_is_recovered_exactly() {
        // [3, 20 | 23], [12, 30 | 42]; only the 3 hidden.
        let mut g = grid("t", "n", &[&[3, 20], &[12, 30]]);
        suppress(&mut g, &[("r0", "c0")]);
        let audit = audit(&System::new(vec![g]), 5.0, 1.0).unwrap();
        assert_eq!(audit.exact(), 1);
        assert_eq!(audit.exposed[0].low, 3.0);
    }

    #[test]
    fn a_two_by_two_rectangle_of_a_small_cell_is_too_narrow() {
        // [1, 2 | 3], [4, 50 | 54]: suppressing the rectangle 1, 2, 4, 50 leaves the 1 in
        // [1, 2] (its row total is 3 and the 2 is at least 1): not exact, but too narrow.
        let mut g = grid("t", "n", &[&[1, 2], &[4, 50]]);
        suppress(
            &mut g,
            &[("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")],
        );
        let audit = audit(&System::new(vec![g]), 5.0, 1.0).unwrap();
        assert!(!audit.passed());
        assert_eq!(audit.exact(), 0);
        let first = &audit.exposed[0];
        assert_eq!((first.low, first.high), (1.0, 2.0));
    }

    #[test]
    fn a_three_by_three_hypercube_passes() {
        // The small 2 at r0 c0 hidden with r0 c1, r1 c0 and r1 c1 (all large).
        let mut g = grid("t", "n", &[&[2, 30, 40], &[25, 35, 45], &[50, 60, 70]]);
        suppress(
            &mut g,
            &[("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")],
        );
        let audit = audit(&System::new(vec![g]), 5.0, 1.0).unwrap();
        assert!(audit.passed(), "{:?}", audit.exposed);
        assert_eq!(audit.suppressed, 4);
    }

    #[test]
    fn the_floor_of_one_recovers_cells_of_a_row_total_equal_to_its_unknowns() {
        // r0 = [1, 1, 1 | 3] with its three cells hidden: each is at least 1, so each is 1.
        let mut g = grid("t", "n", &[&[1, 1, 1], &[20, 30, 40]]);
        suppress(
            &mut g,
            &[
                ("r0", "c0"),
                ("r0", "c1"),
                ("r0", "c2"),
                ("r1", "c0"),
                ("r1", "c1"),
                ("r1", "c2"),
            ],
        );
        let audit = audit(&System::new(vec![g.clone()]), 1.0, 1.0).unwrap();
        assert_eq!(audit.exact(), 6, "{:?}", audit.exposed);
        // Without the floor the same table hides them.
        let audit = super::audit(&System::new(vec![g]), 1.0, 0.0).unwrap();
        assert!(audit.passed(), "{:?}", audit.exposed);
    }

    #[test]
    fn a_cross_table_relation_recovers_what_each_table_hides() {
        // Table a: [2, 30 | 32], [40, 50 | 90], protected within itself by a rectangle.
        let mut a = grid("a", "n", &[&[2, 30], &[40, 50]]);
        suppress(
            &mut a,
            &[("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")],
        );
        assert!(
            audit(&System::new(vec![a.clone()]), 5.0, 1.0)
                .unwrap()
                .passed()
        );
        // Table b publishes the same counts by column and a second panel: its column c0
        // panel p (the same cells as a's column c0) is a by row r0 only... here simply the
        // same grid published unsuppressed in r0: b's r0 c0 = a's r0 c0.
        let mut b = grid("b", "n", &[&[2, 30], &[40, 50]]);
        for cell in &mut b.cells {
            cell.suppressed = cell.axes[1] != "r0" && cell.axes[2] != TOTAL_COLUMN;
        }
        let system = System::new(vec![a, b]);
        let audit = audit(&system, 5.0, 1.0).unwrap();
        assert!(audit.exact() >= 4, "{:?}", audit.exposed);
    }

    const TOTAL_COLUMN: &str = crate::partners::structure::TOTAL;

    #[test]
    fn a_subset_panel_bounds_its_cells_by_the_whole() {
        // Whole panel "all": [2, 30 | 32], [40, 50 | 90], published. Subset panel "young":
        // [2, 10 | 12], [5, 20 | 25] with a rectangle hidden. Without the subset relation, the
        // 2 could be anything from 1 to 11; with it, at most 2 (its whole cell).
        let layout =
            Layout::parse("panel=panel rows=row columns=column counts=n whole=panel:all").unwrap();
        let mut all = panelled("t", "n", "all", &[&[2, 30], &[40, 50]]);
        let young = panelled("t", "n", "young", &[&[2, 10], &[5, 20]]);
        all.cells.extend(young.cells);
        all.layout = layout.clone();
        for cell in &mut all.cells {
            cell.suppressed =
                cell.axes[0] == "young" && cell.axes[1] != "Total" && cell.axes[2] != "Total";
        }
        let audit = audit(&System::new(vec![all.clone()]), 5.0, 1.0).unwrap();
        let young_r0_c0 = all
            .cells
            .iter()
            .position(|c| c.axes == ["young", "r0", "c0"])
            .unwrap();
        let found = audit
            .exposed
            .iter()
            .find(|e| e.cell == young_r0_c0)
            .expect("exposed");
        assert_eq!((found.low, found.high), (1.0, 2.0));
        // Without the whole, the same panels are independent and the 2 is protected.
        all.layout.whole = None;
        let audit = super::audit(&System::new(vec![all]), 5.0, 1.0).unwrap();
        assert!(audit.passed(), "{:?}", audit.exposed);
    }

    #[test]
    fn group_relations_recover_an_lsoa_hidden_only_within_its_own_table() {
        // LSOA table: r0, r1 in district A; r2 in B. Rectangle hidden: r0/r2 x c0/c1 (r0 c0
        // is the small one). Within the table it is protected; but the district table
        // publishes A's column c0 (= r0 c0 + r1 c0), so r0 c0 follows.
        let mut lsoa = Grid {
            table: "lsoa".into(),
            count: "n".into(),
            layout: Layout::parse("panel=panel rows=lsoa columns=column counts=n groups=district")
                .unwrap(),
            cells: cells("p", &[&[2, 30], &[20, 25], &[40, 50]], &|r| {
                (if r < 2 { "A" } else { "B" }).to_owned()
            }),
        };
        suppress(
            &mut lsoa,
            &[("r0", "c0"), ("r0", "c1"), ("r2", "c0"), ("r2", "c1")],
        );
        assert!(
            audit(&System::new(vec![lsoa.clone()]), 5.0, 1.0)
                .unwrap()
                .passed()
        );
        let mut district = grid("district", "n", &[&[22, 55], &[40, 50]]);
        district.layout =
            Layout::parse("panel=panel rows=district columns=column counts=n").unwrap();
        for cell in &mut district.cells {
            if cell.axes[1] == "r0" {
                cell.axes[1] = "A".into();
            } else if cell.axes[1] == "r1" {
                cell.axes[1] = "B".into();
            }
        }
        let system = System::new(vec![lsoa, district]);
        assert!(
            system.contradictions().is_empty(),
            "{:?}",
            system.contradictions()
        );
        let audit = audit(&system, 5.0, 1.0).unwrap();
        assert_eq!(audit.exact(), 4, "{:?}", audit.exposed);
    }
}
