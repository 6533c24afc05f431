//! Statistical disclosure control for shared tables: primary suppression of small counts and
//! secondary (complementary) suppression so that no suppressed count can be recovered from the
//! row, column or grand totals published beside it.
//!
//! A table is a set of panels; each panel is a grid of cells with a `Total` row, a `Total`
//! column and a grand total. Every row (its cells and its row total) and every column (its
//! cells and its column total) is an additive *relation*: its members sum to its total. A
//! suppressed count is recoverable by differencing exactly when some relation has one
//! suppressed member and the rest published, and chained differencing starts from such a
//! relation. So after primary suppression we repeat: in every relation with exactly one
//! suppressed member, suppress one more (the smallest non-zero count, preferring inner cells to
//! totals), until no relation has exactly one. This is the classic hypercube heuristic; it is
//! not guaranteed minimal, but it never leaves a single-unknown relation.
//!
//! Hand-rolled rather than taken from a crate: no maintained Rust crate implements cell
//! suppression (the statistical agencies' tools, tau-argus and sdcTable, are Java and R).

use std::collections::BTreeMap;

/// The label of a total row or column.
pub const TOTAL: &str = "Total";

/// One published cell: its panel, row and column keys and its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// Panel key (the values of the panel columns, joined).
    pub panel: String,
    /// Group of the row (e.g. its district), when the sum of a group's rows is published
    /// elsewhere; rows of one group in one column then form a relation too. Empty for none,
    /// and for total rows.
    pub group: String,
    /// Row key, or [`TOTAL`].
    pub row: String,
    /// Column key, or [`TOTAL`].
    pub column: String,
    /// The count; `None` when it is null in the source (treated as zero and published as null).
    pub count: Option<u64>,
}

/// Decides which cells to suppress. Returns one flag per cell, in order.
///
/// Primary suppression: counts from 1 to `threshold - 1`. Secondary suppression as described
/// in the module documentation. Zero counts are published unless needed as complements.
pub fn suppress(cells: &[Cell], threshold: u64) -> Vec<bool> {
    let mut suppressed: Vec<bool> = cells
        .iter()
        .map(|c| matches!(c.count, Some(v) if v >= 1 && v < threshold))
        .collect();
    let relations = relations(cells);
    loop {
        let mut changed = false;
        for members in &relations {
            let hidden = members.iter().filter(|&&i| suppressed[i]).count();
            if hidden != 1 {
                continue;
            }
            if let Some(complement) = pick_complement(cells, members, &suppressed) {
                suppressed[complement] = true;
                changed = true;
            }
        }
        if !changed {
            return suppressed;
        }
    }
}

/// The additive relations of every panel: each row and each column, with its total.
pub fn relations(cells: &[Cell]) -> Vec<Vec<usize>> {
    let mut rows: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    let mut columns: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, cell) in cells.iter().enumerate() {
        rows.entry((&cell.panel, &cell.row)).or_default().push(i);
        columns
            .entry((&cell.panel, &cell.column))
            .or_default()
            .push(i);
    }
    rows.into_values()
        .chain(columns.into_values())
        .filter(|members| members.len() > 1)
        .collect()
}

/// The cell to suppress alongside a lone suppressed one: the smallest non-zero count among the
/// published members, inner cells before totals, then the earliest; a zero if nothing else.
fn pick_complement(cells: &[Cell], members: &[usize], suppressed: &[bool]) -> Option<usize> {
    members
        .iter()
        .copied()
        .filter(|&i| !suppressed[i])
        .min_by_key(|&i| {
            let cell = &cells[i];
            let value = cell.count.unwrap_or(0);
            let is_total = cell.row == TOTAL || cell.column == TOTAL;
            (value == 0, is_total, value, i)
        })
}

/// Tries to recover suppressed counts by repeated differencing within relations, as an
/// attacker with the published table would. Returns the indices it recovers (empty when the
/// table is protected). Used by tests of the pack.
pub fn recoverable(cells: &[Cell], suppressed: &[bool]) -> Vec<usize> {
    let mut known: Vec<bool> = suppressed.iter().map(|s| !s).collect();
    let relations = relations(cells);
    let mut recovered = Vec::new();
    loop {
        let mut changed = false;
        for members in &relations {
            let unknown: Vec<usize> = members.iter().copied().filter(|&i| !known[i]).collect();
            if let [only] = unknown[..] {
                known[only] = true;
                recovered.push(only);
                changed = true;
            }
        }
        if !changed {
            recovered.sort_unstable();
            return recovered;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panel from a grid of inner counts, with totals added.
    fn grid(panel: &str, counts: &[&[u64]]) -> Vec<Cell> {
        let mut cells = Vec::new();
        let columns = counts[0].len();
        let mut column_totals = vec![0; columns];
        for (r, row) in counts.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                cells.push(Cell {
                    panel: panel.into(),
                    group: String::new(),
                    row: format!("r{r}"),
                    column: format!("c{c}"),
                    count: Some(*v),
                });
                column_totals[c] += v;
            }
            cells.push(Cell {
                panel: panel.into(),
                group: String::new(),
                row: format!("r{r}"),
                column: TOTAL.into(),
                count: Some(row.iter().sum()),
            });
        }
        for (c, v) in column_totals.iter().enumerate() {
            cells.push(Cell {
                panel: panel.into(),
                group: String::new(),
                row: TOTAL.into(),
                column: format!("c{c}"),
                count: Some(*v),
            });
        }
        cells.push(Cell {
            panel: panel.into(),
            group: String::new(),
            row: TOTAL.into(),
            column: TOTAL.into(),
            count: Some(column_totals.iter().sum()),
        });
        cells
    }

    #[test]
    fn nothing_small_means_nothing_suppressed() {
        let cells = grid("p", &[&[10, 20], &[30, 0]]);
        assert!(suppress(&cells, 5).iter().all(|s| !s));
    }

    #[test]
    fn a_lone_small_cell_gets_complements_in_its_row_and_column() {
        // r0: 3 (small), 20, 15 | r1: 12, 30, 40 | r2: 25, 9, 50
        let cells = grid("p", &[&[3, 20, 15], &[12, 30, 40], &[25, 9, 50]]);
        let flags = suppress(&cells, 5);
        assert!(flags[0], "the 3 is suppressed");
        assert!(
            flags.iter().filter(|f| **f).count() >= 4,
            "at least a rectangle"
        );
        assert!(recoverable(&cells, &flags).is_empty());
        // Each relation has zero or at least two suppressed members.
        for members in relations(&cells) {
            let hidden = members.iter().filter(|&&i| flags[i]).count();
            assert_ne!(hidden, 1);
        }
    }

    #[test]
    fn small_totals_are_protected_too() {
        // A row whose cells are 1 and 1: both cells and the row total (2) are small.
        let cells = grid("p", &[&[1, 1, 0], &[10, 12, 14], &[8, 9, 30]]);
        let flags = suppress(&cells, 5);
        assert!(recoverable(&cells, &flags).is_empty());
        let row_total = cells
            .iter()
            .position(|c| c.row == "r0" && c.column == TOTAL)
            .unwrap();
        assert!(flags[row_total]);
    }

    #[test]
    fn panels_are_independent() {
        let mut cells = grid("a", &[&[3, 20], &[12, 30]]);
        cells.extend(grid("b", &[&[10, 20], &[12, 30]]));
        let flags = suppress(&cells, 5);
        let b_flags: Vec<bool> = cells
            .iter()
            .zip(&flags)
            .filter(|(c, _)| c.panel == "b")
            .map(|(_, f)| *f)
            .collect();
        assert!(b_flags.iter().all(|f| !f));
        assert!(recoverable(&cells, &flags).is_empty());
    }

    #[test]
    fn groups_published_elsewhere_are_protected() {
        // Three rows in two groups; group "a" holds r0 (3, small) and r1 (30). The group's sum
        // is published in another table, so r0 must not be the only one hidden in its group.
        let mut cells = grid("p", &[&[3, 20], &[30, 40], &[50, 60]]);
        for cell in &mut cells {
            cell.group = match cell.row.as_str() {
                "r0" | "r1" => "a".into(),
                "r2" => "b".into(),
                _ => String::new(),
            };
        }
        let flags = suppress(&cells, 5);
        for members in relations(&cells) {
            assert_ne!(members.iter().filter(|&&i| flags[i]).count(), 1);
        }
        let in_group_a_c0: Vec<usize> = (0..cells.len())
            .filter(|&i| cells[i].group == "a" && cells[i].column == "c0")
            .collect();
        assert!(
            in_group_a_c0.iter().all(|&i| flags[i]),
            "both rows of group a in c0"
        );
    }

    #[test]
    fn the_attack_recovers_a_badly_protected_cell() {
        let cells = grid("p", &[&[3, 20], &[12, 30]]);
        let mut flags = vec![false; cells.len()];
        flags[0] = true;
        assert_eq!(recoverable(&cells, &flags), vec![0]);
    }
}
