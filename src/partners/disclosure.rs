//! Statistical disclosure control for the partner pack, over all its tables as one system.
//!
//! **Primary suppression**: counts from 1 to `threshold - 1`, and cohort cells that equal their
//! whole-population cell while non-zero (group attribute disclosure: "every offence here
//! involved someone under 25").
//!
//! **Secondary suppression**: first, in every sum relation with a single suppressed member,
//! one more (differencing). Then the pack is audited as an intruder would ([`audit`]: every
//! relation of [`structure`], within and across tables, and each suppressed count's feasible
//! interval, knowing suppressed counts are at least 1), starting from the true counts. Every
//! cell not shown protected gets a complement in its most binding relation (the one with the
//! fewest suppressed members): a published non-zero count there, inner cells before totals,
//! then the smallest count at least the protection level plus 1 (large enough to hide a
//! small one), then the largest smaller one, then the first in pack order; a relation that
//! got a large enough complement in a round gives none to its other failing cells in that
//! round. Then only the failing cells and the new complements are audited again (suppressing
//! more only widens intervals), until none fails. Zeros are never complements, so every
//! suppressed count really is at least 1, as the audit assumes. The same counts give the same
//! suppression: every choice is made in pack order.
//!
//! **Earlier releases** ([`System::joint`]): when the system holds packs already published,
//! their counts are what the intruder holds (published counts known, suppressed ones unknown)
//! and their suppressions are fixed. Only the new pack's counts are primary suppressions or
//! complements; a new count equal to a count an earlier pack published is never a complement
//! (hiding it hides nothing); and a count an earlier pack suppressed is suppressed again where
//! the new pack publishes the same events (the differencing rule does it: the two form a sum
//! relation with one suppressed member), so complements stay stable between exports of
//! overlapping periods. Then the joint system is audited, every earlier suppressed count
//! included, and complemented within the new pack until it passes.
//!
//! This is the iterative audit-and-complement scheme of Hundepool et al., *Statistical
//! Disclosure Control* (Wiley 2012), §4.4; it is deterministic but not minimal (tau-Argus's
//! optimal and modular methods solve a mixed-integer programme instead).
//!
//! [`structure`]: crate::partners::structure

use std::collections::{HashMap, HashSet};

use crate::partners::audit::{self, Audit, AuditError};
use crate::partners::structure::{Relation, System};

/// The floor an intruder knows for every suppressed count.
pub const SUPPRESSED_AT_LEAST: u64 = 1;

/// Rounds of audit and complement before giving up.
const MAX_ROUNDS: usize = 500;

/// What protecting a pack did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protection {
    /// Counts suppressed because they are small.
    pub primary: usize,
    /// Cohort counts suppressed because they equal their whole-population count.
    pub attribute: usize,
    /// Counts suppressed to protect the others.
    pub secondary: usize,
    /// Sum of all suppressed counts (the information lost).
    pub suppressed_total: u64,
    /// Rounds of audit.
    pub rounds: usize,
    /// Linear programs solved over all rounds.
    pub programs: usize,
}

/// Errors of disclosure control.
#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    /// The audit could not be run.
    #[error("{0}")]
    Audit(#[from] AuditError),
    /// Counts the new pack must hide were published by an earlier release.
    #[error(
        "{count} count(s) this pack must withhold were published by an earlier release in the release log, e.g. {example}: nothing in a new pack can hide them again (was the earlier pack written at a lower threshold?); the pack was not written"
    )]
    PublishedEarlier {
        /// How many.
        count: usize,
        /// The first, with the earlier count that gives it away.
        example: String,
    },
    /// No complement is left to protect some cells.
    #[error(
        "secondary suppression cannot protect {count} cell(s), e.g. {example} (interval {low} to {high}): every count related to it is already suppressed or zero"
    )]
    Unprotectable {
        /// How many.
        count: usize,
        /// The first.
        example: String,
        /// Its interval.
        low: f64,
        /// Its interval.
        high: f64,
    },
}

/// Marks the primary suppressions of `system`: counts from 1 to `threshold - 1`, and subset
/// (cohort) counts equal to their non-zero whole. Returns (small, attribute) counts marked.
/// Cells of releases already published are left as they are.
pub fn suppress_primary(system: &mut System, threshold: u64) -> (usize, usize) {
    let mut small = 0;
    let open: Vec<bool> = (0..system.grids.len())
        .map(|g| !system.releases[system.release_of(g)].published)
        .collect();
    for (grid, open) in system.grids.iter_mut().zip(open) {
        if !open {
            continue;
        }
        for cell in &mut grid.cells {
            if matches!(cell.value, Some(v) if v >= 1 && v < threshold) {
                cell.suppressed = true;
                small += 1;
            }
        }
    }
    let mut attribute = Vec::new();
    for relation in &system.relations {
        if let Relation::Subset { part, whole, .. } = relation {
            let (p, w) = (system.cell(*part), system.cell(*whole));
            if !system.fixed(*part)
                && !p.suppressed
                && p.value.is_some_and(|v| v > 0)
                && p.value == w.value
            {
                attribute.push(*part);
            }
        }
    }
    attribute.sort_unstable();
    attribute.dedup();
    for &id in &attribute {
        system.cell_mut(id).suppressed = true;
    }
    (small, attribute.len())
}

/// Primary then secondary suppression of `system` until the audit at `protection` passes.
///
/// Each round audits the cells still failing and the new complements (the first round all
/// of them) with the true counts as the starting solution, and without solving whole linked
/// groups ([`audit::Options::exact`] off: a cell no smaller program shows protected counts as
/// failing and gets a complement); the written pack is then audited exactly.
pub fn protect(
    system: &mut System,
    threshold: u64,
    protection: u64,
) -> Result<Protection, DisclosureError> {
    let (primary, attribute) = suppress_primary(system, threshold);
    let mut result = Protection {
        primary,
        attribute,
        ..Protection::default()
    };
    let memberships = system.memberships();
    let truth = true_values(system);
    let known = known_from_earlier(system);
    let mut given_away: Vec<usize> = known
        .keys()
        .copied()
        .filter(|&id| system.cell(id).suppressed)
        .collect();
    given_away.sort_unstable();
    if let Some(&first) = given_away.first() {
        return Err(DisclosureError::PublishedEarlier {
            count: given_away.len(),
            example: format!(
                "{} = {}, given away by {} = {}",
                system.describe(first),
                system.cell(first).value.unwrap_or(0),
                system.describe(known[&first]),
                system.cell(known[&first]).value.unwrap_or(0)
            ),
        });
    }
    // First the cheap rule: no relation with a single suppressed member (differencing).
    result.secondary += no_single_unknowns(system, protection, &known);
    let mut dirty: Option<HashSet<usize>> = None;
    loop {
        let audit = audit::audit_with(
            system,
            protection as f64,
            SUPPRESSED_AT_LEAST as f64,
            audit::Options {
                only: dirty.as_ref(),
                hint: Some(&truth),
                local: true,
                exact: false,
            },
        )?;
        result.rounds += 1;
        result.programs += audit.programs;
        if audit.passed() {
            break;
        }
        // Each failing cell gets a complement in its most binding relation (fewest suppressed
        // members) that has a candidate, unless a relation of its got a complement large
        // enough to hide it this round. Complements are marked at once, so two failing cells
        // of one relation get two.
        let enough = protection + SUPPRESSED_AT_LEAST;
        let mut helped = vec![false; system.relations.len()];
        let mut added = Vec::new();
        for exposure in &audit.exposed {
            let mut relations: Vec<usize> = memberships[exposure.cell].clone();
            if relations.iter().any(|&r| helped[r]) {
                continue;
            }
            relations.sort_by_key(|&r| (system.suppressed_members(r), r));
            let pick = relations.iter().find_map(|&r| {
                let choice =
                    complement(system, &system.relations[r].members(), protection, &known)?;
                Some((r, choice))
            });
            if let Some((r, choice)) = pick {
                if system.cell(choice).value.unwrap_or(0) >= enough {
                    helped[r] = true;
                }
                system.cell_mut(choice).suppressed = true;
                added.push(choice);
            }
        }
        if added.is_empty() || result.rounds >= MAX_ROUNDS {
            let first = &audit.exposed[0];
            return Err(DisclosureError::Unprotectable {
                count: audit.exposed.len(),
                example: system.describe(first.cell),
                low: first.low,
                high: first.high,
            });
        }
        // A complement alone in a relation (the total of a row it was the only hidden cell
        // of) would be recovered by differencing: close that at once.
        let before: HashSet<usize> = (0..system.len())
            .filter(|&id| system.cell(id).suppressed)
            .collect();
        result.secondary += added.len() + no_single_unknowns(system, protection, &known);
        let mut next: HashSet<usize> = audit.exposed.iter().map(|e| e.cell).collect();
        next.extend(added);
        next.extend(
            (0..system.len()).filter(|&id| system.cell(id).suppressed && !before.contains(&id)),
        );
        dirty = Some(next);
    }
    result.suppressed_total = (0..system.len())
        .filter(|&id| !system.fixed(id))
        .map(|id| system.cell(id))
        .filter(|c| c.suppressed)
        .map(|c| c.value.unwrap_or(0))
        .sum();
    Ok(result)
}

/// Every cell's true count (a null as zero), by global index: a feasible solution of the
/// audit's system, to start it from. A count an earlier release suppressed is taken from the
/// new count it equals (the same events), where there is one.
pub fn true_values(system: &System) -> Vec<f64> {
    let mut values: Vec<f64> = (0..system.len())
        .map(|id| system.cell(id).value.unwrap_or(0) as f64)
        .collect();
    fill_from_equal(system, &mut values);
    values
}

/// Sets each count an earlier release suppressed to the value of the count it equals (the
/// same events in another release), where there is one.
pub fn fill_from_equal(system: &System, values: &mut [f64]) {
    for relation in &system.relations {
        if let Relation::Sum { total, parts, .. } = relation
            && let [part] = parts[..]
        {
            for (unknown, from) in [(*total, part), (part, *total)] {
                let cell = system.cell(unknown);
                if system.fixed(unknown) && cell.suppressed && cell.value.is_none() {
                    values[unknown] = values[from];
                }
            }
        }
    }
}

/// The cells of the new release whose counts an earlier release already gives away: the one
/// new member of a sum relation whose other members are all published earlier counts.
/// Each is mapped to an earlier count that gives it away.
fn known_from_earlier(system: &System) -> HashMap<usize, usize> {
    let mut known = HashMap::new();
    for relation in &system.relations {
        if !relation.is_equation() {
            continue;
        }
        let members = relation.members();
        let open: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&m| !system.fixed(m))
            .collect();
        if let [only] = open[..]
            && members
                .iter()
                .all(|&m| m == only || !system.cell(m).suppressed)
            && let Some(&earlier) = members.iter().find(|&&m| m != only)
        {
            known.entry(only).or_insert(earlier);
        }
    }
    known
}

/// Suppresses, in every sum relation with exactly one suppressed member, a [`complement`], until none has exactly one. Returns how many it suppressed.
fn no_single_unknowns(
    system: &mut System,
    protection: u64,
    known: &HashMap<usize, usize>,
) -> usize {
    let mut added = 0;
    loop {
        let mut changed = false;
        for r in 0..system.relations.len() {
            if !system.relations[r].is_equation() || system.suppressed_members(r) != 1 {
                continue;
            }
            let members = system.relations[r].members();
            if let Some(choice) = complement(system, &members, protection, known) {
                system.cell_mut(choice).suppressed = true;
                added += 1;
                changed = true;
            }
        }
        if !changed {
            return added;
        }
    }
}

/// Audits `system` as published at `protection`, knowing suppressed counts are at least 1.
pub fn audit_system(system: &System, protection: u64) -> Result<Audit, AuditError> {
    audit::audit(system, protection as f64, SUPPRESSED_AT_LEAST as f64)
}

/// The published, non-zero member to suppress next: inner cells before totals; then counts
/// large enough to hide the others (at least the protection level plus the floor: a
/// complement of 2 lets a hidden 1 move by 1 only), smallest first; then smaller counts,
/// largest first; then the first in pack order. Never a count of an earlier release, nor one
/// an earlier release gives away (`known`).
fn complement(
    system: &System,
    members: &[usize],
    protection: u64,
    known: &HashMap<usize, usize>,
) -> Option<usize> {
    let enough = protection + SUPPRESSED_AT_LEAST;
    members
        .iter()
        .copied()
        .filter(|&m| {
            let cell = system.cell(m);
            !cell.suppressed
                && cell.value.is_some_and(|v| v > 0)
                && !system.fixed(m)
                && !known.contains_key(&m)
        })
        .min_by_key(|&m| {
            let cell = system.cell(m);
            let value = cell.value.unwrap_or(0);
            let size = if value >= enough {
                value
            } else {
                u64::MAX - value
            };
            (cell.is_total(), size, m)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partners::structure::tests::{cells, districts, grid, panelled, release, timed};
    use crate::partners::structure::{Grid, Layout, Release};

    fn protected(grids: Vec<Grid>, threshold: u64) -> (System, Protection) {
        let mut system = System::new(grids);
        let result = protect(&mut system, threshold, threshold).unwrap();
        let audit = audit_system(&system, threshold).unwrap();
        assert!(audit.passed(), "{:?}", audit.exposed);
        (system, result)
    }

    #[test]
    fn nothing_small_means_nothing_suppressed() {
        let (_, result) = protected(vec![grid("t", "n", &[&[10, 20], &[30, 0]])], 5);
        assert_eq!(
            result,
            Protection {
                rounds: 1,
                ..Protection::default()
            }
        );
    }

    #[test]
    fn a_lone_small_cell_gets_protected_complements() {
        let (system, result) = protected(
            vec![grid("t", "n", &[&[3, 20, 15], &[12, 30, 40], &[25, 9, 50]])],
            5,
        );
        assert_eq!(result.primary, 1);
        assert!(result.secondary >= 3, "{result:?}");
        assert!(system.cell(0).suppressed);
    }

    #[test]
    fn small_totals_are_protected_too() {
        // A row whose cells are 1 and 1: both cells and the row total (2) are small.
        let (system, _) = protected(
            vec![grid("t", "n", &[&[1, 1, 0], &[10, 12, 14], &[8, 9, 30]])],
            5,
        );
        let row_total = (0..system.len())
            .find(|&id| system.cell(id).axes[1..] == ["r0", "Total"])
            .unwrap();
        assert!(system.cell(row_total).suppressed);
    }

    #[test]
    fn zeros_are_never_complements() {
        let (system, _) = protected(
            vec![grid("t", "n", &[&[2, 0, 30], &[0, 40, 50], &[25, 35, 0]])],
            5,
        );
        for id in 0..system.len() {
            let cell = system.cell(id);
            assert!(
                !(cell.suppressed && cell.value == Some(0)),
                "{}",
                system.describe(id)
            );
        }
    }

    #[test]
    fn a_cohort_equal_to_everyone_is_suppressed() {
        let mut g = panelled("t", "n", "all", &[&[20, 30], &[40, 50]]);
        g.cells
            .extend(panelled("t", "n", "young", &[&[20, 10], &[5, 20]]).cells);
        g.layout =
            Layout::parse("panel=panel rows=row columns=column counts=n whole=panel:all").unwrap();
        let (system, result) = protected(vec![g], 5);
        assert_eq!(result.attribute, 1);
        let young = (0..system.len())
            .find(|&id| system.cell(id).axes == ["young", "r0", "c0"])
            .unwrap();
        assert!(system.cell(young).suppressed);
    }

    #[test]
    fn groups_published_elsewhere_are_protected() {
        // LSOAs r0, r1 in district A; r2 in B. The district table publishes A's sums, so
        // hiding r0 c0 (small) with complements in r2 (the cheapest within the LSOA table,
        // and in district B) is not enough: ignoring the group relation leaves it exposed.
        let lsoa = Grid {
            table: "lsoa".into(),
            count: "n".into(),
            layout: Layout::parse("panel=panel rows=lsoa columns=column counts=n groups=district")
                .unwrap(),
            cells: cells("p", &[&[2, 30], &[40, 25], &[20, 50]], &|r| {
                (if r < 2 { "A" } else { "B" }).to_owned()
            }),
        };
        let district = districts(&[&[42, 55], &[20, 50]], &|r| ["A", "B"][r].to_owned());
        let (system, _) = protected(vec![lsoa, district], 5);
        // The small cell's own district in c0: either r1 c0 (its group mate) or A c0 hidden.
        let find = |table: &str, row: &str, column: &str| {
            (0..system.len())
                .find(|&id| {
                    let (g, _) = system.locate(id);
                    system.grids[g].table == table && system.cell(id).axes[1..] == [row, column]
                })
                .unwrap()
        };
        assert!(system.cell(find("lsoa", "r0", "c0")).suppressed);
        assert!(
            system.cell(find("lsoa", "r1", "c0")).suppressed
                || system.cell(find("district", "A", "c0")).suppressed,
            "the group sum would give r0 c0 away"
        );
    }

    /// LSOAs `r0..` of sparse small counts in four districts, and the district table of their
    /// sums: one linked system with many small cells.
    fn lsoas_and_districts(rows: usize) -> Vec<Grid> {
        let values: Vec<Vec<u64>> = (0..rows)
            .map(|r| {
                (0..3)
                    .map(|c| [0, 1, 2, 6, 3, 0, 9, 1, 4, 15, 2][(r * 5 + c * 3 + r / 3) % 11])
                    .collect()
            })
            .collect();
        let district_of = |r: usize| ["A", "B", "C", "D"][r % 4].to_owned();
        let lsoa_rows: Vec<&[u64]> = values.iter().map(Vec::as_slice).collect();
        let lsoa = Grid {
            table: "lsoa".into(),
            count: "n".into(),
            layout: Layout::parse("panel=panel rows=lsoa columns=column counts=n groups=district")
                .unwrap(),
            cells: cells("p", &lsoa_rows, &district_of),
        };
        let mut sums = vec![vec![0; 3]; 4];
        for (r, row) in values.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                sums[r % 4][c] += v;
            }
        }
        let sum_rows: Vec<&[u64]> = sums.iter().map(Vec::as_slice).collect();
        vec![lsoa, districts(&sum_rows, &district_of)]
    }

    #[test]
    fn a_sparse_linked_system_is_protected_and_the_same_every_time() {
        let grids = lsoas_and_districts(60);
        let before = System::new(grids.clone());
        assert!(
            before.contradictions().is_empty(),
            "{:?}",
            before.contradictions()
        );
        // Without secondary suppression beyond differencing the audit fails here.
        let mut naive = System::new(grids.clone());
        suppress_primary(&mut naive, 5);
        no_single_unknowns(&mut naive, 5, &HashMap::new());
        assert!(!audit_system(&naive, 5).unwrap().passed());
        let (first, result) = protected(grids.clone(), 5);
        assert!(result.secondary > 0 && result.rounds > 1, "{result:?}");
        let (second, _) = protected(grids, 5);
        let flags = |s: &System| {
            (0..s.len())
                .map(|id| s.cell(id).suppressed)
                .collect::<Vec<_>>()
        };
        assert_eq!(flags(&first), flags(&second));
        // Small counts stay hidden.
        for id in 0..first.len() {
            let cell = first.cell(id);
            if matches!(cell.value, Some(1..=4)) {
                assert!(cell.suppressed, "{}", first.describe(id));
            }
        }
    }

    /// Two packs of overlapping periods, July to September and August to October, each with a
    /// small count, of three districts by month.
    fn overlapping() -> (Grid, Grid) {
        let a = timed(
            "m",
            "month",
            &["2020-07", "2020-08", "2020-09"],
            &[&[2, 20, 30], &[15, 25, 35], &[12, 18, 40]],
        );
        let b = timed(
            "m",
            "month",
            &["2020-08", "2020-09", "2020-10"],
            &[&[20, 30, 14], &[25, 35, 3], &[18, 40, 16]],
        );
        (a, b)
    }

    fn published_a() -> Release {
        let (a, _) = overlapping();
        let (a, _) = protected(vec![a], 5);
        release("2020-07-01", "2020-09-30", true, a.grids)
    }

    #[test]
    fn packs_protected_apart_undo_each_other_and_the_joint_audit_finds_it() {
        let (_, b) = overlapping();
        // Each alone passes its audit.
        let (b, _) = protected(vec![b], 5);
        let mut b = release("2020-08-01", "2020-10-31", true, b.grids);
        b.label = "B".into();
        let joint = System::joint(vec![published_a(), b]);
        let audit = audit_system(&joint, 5).unwrap();
        assert!(!audit.passed(), "the two packs together give a count away");
        // A's small count is the one given away: B publishes the complement A hid it with.
        let exposed: Vec<String> = audit
            .exposed
            .iter()
            .map(|e| joint.describe(e.cell))
            .collect();
        assert!(
            exposed.contains(&"2020-07-01: m.n [panel=p district=r0 month=2020-07]".to_owned()),
            "{exposed:?}"
        );
    }

    #[test]
    fn a_pack_protected_with_the_earlier_one_keeps_its_suppressions_and_passes() {
        let (_, b) = overlapping();
        let mut joint = System::joint(vec![
            published_a(),
            release("2020-08-01", "2020-10-31", false, vec![b]),
        ]);
        let before: Vec<bool> = (0..joint.len())
            .map(|id| joint.cell(id).suppressed)
            .collect();
        let result = protect(&mut joint, 5, 5).unwrap();
        assert!(audit_system(&joint, 5).unwrap().passed());
        // The earlier pack is as it was; only the new one's counts are counted.
        for (id, was) in before.iter().enumerate() {
            if joint.fixed(id) {
                assert_eq!(joint.cell(id).suppressed, *was, "{}", joint.describe(id));
            }
        }
        assert_eq!(result.primary, 1);
        // Every count the earlier pack hid is hidden again where the new one has it.
        let hidden_in_a: Vec<(String, String)> = (0..joint.len())
            .filter(|&id| joint.fixed(id) && joint.cell(id).suppressed)
            .map(|id| {
                let axes = &joint.cell(id).axes;
                (axes[1].clone(), axes[2].clone())
            })
            .filter(|(_, month)| month.as_str() >= "2020-08" && month != "Total")
            .collect();
        assert!(!hidden_in_a.is_empty());
        for (district, month) in hidden_in_a {
            let again = (0..joint.len())
                .find(|&id| {
                    !joint.fixed(id)
                        && joint.cell(id).axes[1..] == [district.clone(), month.clone()]
                })
                .unwrap();
            assert!(joint.cell(again).suppressed, "{}", joint.describe(again));
        }
    }

    #[test]
    fn a_count_published_earlier_cannot_be_hidden_again() {
        // An earlier pack (at a lower threshold) published the 3; this one must withhold it.
        let a = timed("m", "month", &["2020-07"], &[&[3], &[20]]);
        let mut joint = System::joint(vec![
            release("2020-07-01", "2020-07-31", true, vec![a.clone()]),
            release("2020-07-01", "2020-07-31", false, vec![a]),
        ]);
        let err = protect(&mut joint, 5, 5).unwrap_err().to_string();
        assert!(err.contains("published by an earlier release"), "{err}");
        assert!(
            err.contains("m.n [panel=p district=r0 month=2020-07] = 3, given away by 2020-07-01: m.n [panel=p district=r0 month="),
            "{err}"
        );
    }
}
