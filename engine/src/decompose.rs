//! Independent parts of a district: nodes joined by no line and no shared decision.
//!
//! The dispatch problem couples nodes only through lines (their flows enter both nodes'
//! balances) and through the groups of units whose first-step decision is shared (the
//! scenario MPC's copies of a unit). Everything else — a node's balance, a connection's
//! import, export and demand charge, a unit's own constraints — belongs to one node, and the
//! objective is a sum over them. So the problem of a district whose nodes fall into several
//! groups that nothing joins is the sum of independent problems, one per group: solved
//! apart (in parallel), their optimal schedules together are the optimum of the whole. The
//! CityLearn homes are five such parts; the scenario MPC's copies of one home are one part.

use std::collections::BTreeMap;

use crate::scenario::{FirstStepShared, Scenario};
use crate::schedule::{Schedule, UnservedSchedule};

/// A part of a scenario: the indices of its nodes and assets in the whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    /// Nodes.
    pub nodes: Vec<usize>,
    /// Grid connections.
    pub grids: Vec<usize>,
    /// PV arrays.
    pub pvs: Vec<usize>,
    /// Batteries.
    pub batteries: Vec<usize>,
    /// HVAC units.
    pub hvacs: Vec<usize>,
    /// Generators.
    pub generators: Vec<usize>,
    /// Lines.
    pub lines: Vec<usize>,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb)] = ra.min(rb);
    }
}

/// The independent parts of `sc`, ordered by their first node (one part when everything is
/// joined).
pub fn parts(sc: &Scenario) -> Vec<Part> {
    let mut parent: Vec<usize> = (0..sc.nodes.len()).collect();
    for l in &sc.lines {
        union(&mut parent, l.from, l.to);
    }
    let groups = &sc.first_step_shared;
    let join = |parent: &mut [usize], groups: &[Vec<usize>], node: &dyn Fn(usize) -> usize| {
        for g in groups {
            for w in g.windows(2) {
                union(parent, node(w[0]), node(w[1]));
            }
        }
    };
    join(&mut parent, &groups.batteries, &|i| sc.batteries[i].node);
    join(&mut parent, &groups.hvacs, &|i| sc.hvacs[i].node);
    join(&mut parent, &groups.generators, &|i| sc.generators[i].node);

    let mut by_root: BTreeMap<usize, Part> = BTreeMap::new();
    for n in 0..sc.nodes.len() {
        let r = find(&mut parent, n);
        by_root.entry(r).or_default().nodes.push(n);
    }
    let mut at = |node: usize| -> usize { find(&mut parent, node) };
    let mut assign = Vec::new();
    for (i, g) in sc.grids.iter().enumerate() {
        assign.push((at(g.node), 0, i));
    }
    for (i, p) in sc.pvs.iter().enumerate() {
        assign.push((at(p.node), 1, i));
    }
    for (i, k) in sc.batteries.iter().enumerate() {
        assign.push((at(k.node), 2, i));
    }
    for (i, h) in sc.hvacs.iter().enumerate() {
        assign.push((at(h.node), 3, i));
    }
    for (i, j) in sc.generators.iter().enumerate() {
        assign.push((at(j.node), 4, i));
    }
    for (i, l) in sc.lines.iter().enumerate() {
        assign.push((at(l.from), 5, i));
    }
    for (root, kind, i) in assign {
        if let Some(p) = by_root.get_mut(&root) {
            match kind {
                0 => p.grids.push(i),
                1 => p.pvs.push(i),
                2 => p.batteries.push(i),
                3 => p.hvacs.push(i),
                4 => p.generators.push(i),
                _ => p.lines.push(i),
            }
        }
    }
    by_root.into_values().collect()
}

/// `parts` gathered into at most `groups` groups of about equal size (largest part first,
/// each into the lightest group; every list sorted), one per core: HiGHS's fixed cost per
/// run (setting up, checking the solution) is paid once per group rather than once per
/// part, while every core still has a model to solve. A group of independent parts is
/// itself independent of the rest, so solving groups gives the same optimum.
pub fn groups(parts: Vec<Part>, groups: usize) -> Vec<Part> {
    let k = groups.clamp(1, parts.len().max(1));
    if parts.len() <= k {
        return parts;
    }
    let weight = |p: &Part| {
        p.nodes.len()
            + 2 * p.grids.len()
            + p.pvs.len()
            + 4 * p.batteries.len()
            + 5 * p.hvacs.len()
            + 4 * p.generators.len()
            + 2 * p.lines.len()
    };
    let mut order: Vec<Part> = parts;
    order.sort_by_key(|p| std::cmp::Reverse(weight(p)));
    let mut out = vec![(0usize, Part::default()); k];
    for p in order {
        let (w, g) = out
            .iter_mut()
            .min_by_key(|(w, _)| *w)
            .expect("at least one group");
        *w += weight(&p);
        g.nodes.extend(p.nodes);
        g.grids.extend(p.grids);
        g.pvs.extend(p.pvs);
        g.batteries.extend(p.batteries);
        g.hvacs.extend(p.hvacs);
        g.generators.extend(p.generators);
        g.lines.extend(p.lines);
    }
    let mut out: Vec<Part> = out
        .into_iter()
        .map(|(_, mut g)| {
            for v in [
                &mut g.nodes,
                &mut g.grids,
                &mut g.pvs,
                &mut g.batteries,
                &mut g.hvacs,
                &mut g.generators,
                &mut g.lines,
            ] {
                v.sort_unstable();
            }
            g
        })
        .collect();
    out.sort_by_key(|g| g.nodes.first().copied());
    out
}

/// Position of each whole-scenario index in `kept` (`usize::MAX` where not kept).
fn positions(len: usize, kept: &[usize]) -> Vec<usize> {
    let mut at = vec![usize::MAX; len];
    for (new, &old) in kept.iter().enumerate() {
        at[old] = new;
    }
    at
}

/// The scenario of `part` alone: its nodes and assets, renumbered, every series and
/// setting as in `sc`.
pub fn subset(sc: &Scenario, part: &Part) -> Scenario {
    let node_at = positions(sc.nodes.len(), &part.nodes);
    let pick = |kept: &[usize], all_len: usize| (kept.to_vec(), positions(all_len, kept));
    let (_, battery_at) = pick(&part.batteries, sc.batteries.len());
    let (_, hvac_at) = pick(&part.hvacs, sc.hvacs.len());
    let (_, generator_at) = pick(&part.generators, sc.generators.len());
    let grid_at = positions(sc.grids.len(), &part.grids);
    let remap_groups = |groups: &[Vec<usize>], at: &[usize]| -> Vec<Vec<usize>> {
        groups
            .iter()
            .map(|g| g.iter().map(|&i| at[i]).collect::<Vec<_>>())
            .filter(|g: &Vec<usize>| g.iter().all(|&i| i != usize::MAX))
            .collect()
    };
    Scenario {
        name: sc.name.clone(),
        timezone: sc.timezone,
        start: sc.start,
        step_minutes: sc.step_minutes,
        steps: sc.steps,
        times: sc.times.clone(),
        carbon_price_yen_per_kg: sc.carbon_price_yen_per_kg,
        nodes: part.nodes.iter().map(|&n| sc.nodes[n].clone()).collect(),
        grids: part
            .grids
            .iter()
            .map(|&i| {
                let mut g = sc.grids[i].clone();
                g.node = node_at[g.node];
                g
            })
            .collect(),
        pvs: part
            .pvs
            .iter()
            .map(|&i| {
                let mut p = sc.pvs[i].clone();
                p.node = node_at[p.node];
                p
            })
            .collect(),
        batteries: part
            .batteries
            .iter()
            .map(|&i| {
                let mut k = sc.batteries[i].clone();
                k.node = node_at[k.node];
                k
            })
            .collect(),
        hvacs: part
            .hvacs
            .iter()
            .map(|&i| {
                let mut h = sc.hvacs[i].clone();
                h.node = node_at[h.node];
                h
            })
            .collect(),
        generators: part
            .generators
            .iter()
            .map(|&i| {
                let mut j = sc.generators[i].clone();
                j.node = node_at[j.node];
                j
            })
            .collect(),
        lines: part
            .lines
            .iter()
            .map(|&i| {
                let mut l = sc.lines[i].clone();
                l.from = node_at[l.from];
                l.to = node_at[l.to];
                l
            })
            .collect(),
        // Every outage stays (an outage anywhere is an emergency everywhere: emergency
        // generators, emergency lines, shedding); one of a grid in another part names no
        // grid here (`usize::MAX`), so it cuts no connection of this part.
        outages: sc
            .outages
            .iter()
            .map(|o| {
                let mut o = o.clone();
                o.grid = grid_at[o.grid];
                o
            })
            .collect(),
        first_step_shared: FirstStepShared {
            batteries: remap_groups(&sc.first_step_shared.batteries, &battery_at),
            hvacs: remap_groups(&sc.first_step_shared.hvacs, &hvac_at),
            generators: remap_groups(&sc.first_step_shared.generators, &generator_at),
        },
        path: sc.path.clone(),
    }
}

/// Puts each part's items back at their places in a list of `len` items.
pub fn scatter<T: Clone>(len: usize, parts: &[(&[usize], Vec<T>)]) -> Option<Vec<T>> {
    let mut out: Vec<Option<T>> = vec![None; len];
    for (at, items) in parts {
        for (&i, item) in at.iter().zip(items) {
            out[i] = Some(item.clone());
        }
    }
    out.into_iter().collect()
}

/// The schedule of the whole `sc` from its parts' schedules (each over `sc.steps` steps),
/// or `None` when the parts leave an item of `sc` without a schedule.
pub fn merge_schedules(sc: &Scenario, pieces: &[(&Part, &Schedule)]) -> Option<Schedule> {
    fn put<T: Clone>(
        len: usize,
        pieces: &[(&Part, &Schedule)],
        at: fn(&Part) -> &[usize],
        items: fn(&Schedule) -> &[T],
    ) -> Option<Vec<T>> {
        let placed: Vec<(&[usize], Vec<T>)> = pieces
            .iter()
            .map(|(p, s)| (at(p), items(s).to_vec()))
            .collect();
        scatter(len, &placed)
    }
    Some(Schedule {
        grids: put(sc.grids.len(), pieces, |p| &p.grids, |s| &s.grids)?,
        pvs: put(sc.pvs.len(), pieces, |p| &p.pvs, |s| &s.pvs)?,
        batteries: put(
            sc.batteries.len(),
            pieces,
            |p| &p.batteries,
            |s| &s.batteries,
        )?,
        hvacs: put(sc.hvacs.len(), pieces, |p| &p.hvacs, |s| &s.hvacs)?,
        generators: put(
            sc.generators.len(),
            pieces,
            |p| &p.generators,
            |s| &s.generators,
        )?,
        lines: put(sc.lines.len(), pieces, |p| &p.lines, |s| &s.lines)?,
        unserved: if pieces.iter().all(|(_, s)| s.unserved.is_empty()) {
            Vec::new()
        } else {
            let full: Vec<(&[usize], Vec<UnservedSchedule>)> = pieces
                .iter()
                .map(|(p, s)| {
                    let u = if s.unserved.is_empty() {
                        vec![
                            UnservedSchedule {
                                shed_kw: vec![[0.0; 4]; sc.steps],
                            };
                            p.nodes.len()
                        ]
                    } else {
                        s.unserved.clone()
                    };
                    (p.nodes.as_slice(), u)
                })
                .collect();
            scatter(sc.nodes.len(), &full)?
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(case: &str) -> Option<Scenario> {
        let dir = std::env::var_os("AEMS_CASES_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/cases")
            });
        let p = dir.join(case).join("scenario.toml");
        p.exists()
            .then(|| Scenario::load(&p).expect("reference case loads"))
    }

    #[test]
    fn a_district_joined_by_lines_is_one_part_and_its_subset_is_itself() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        let sc = Scenario::load(&p).unwrap();
        let parts = parts(&sc);
        assert_eq!(parts.len(), 1);
        assert_eq!(subset(&sc, &parts[0]), sc);
        if let Some(sc) = reference("d_gate_square_48h") {
            assert_eq!(super::parts(&sc).len(), 1);
        }
    }

    #[test]
    fn unjoined_nodes_are_parts_and_shared_first_steps_join_them() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        let mut sc = Scenario::load(&p).unwrap();
        let lines = sc.lines.len();
        sc.lines.clear();
        let parts = parts(&sc);
        assert!(lines > 0 && parts.len() > 1, "{} parts", parts.len());
        // Every node and asset in exactly one part, each asset with its node.
        let mut nodes: Vec<usize> = parts.iter().flat_map(|p| p.nodes.clone()).collect();
        nodes.sort_unstable();
        assert_eq!(nodes, (0..sc.nodes.len()).collect::<Vec<_>>());
        for part in &parts {
            let sub = subset(&sc, part);
            for (k, &i) in sub.batteries.iter().zip(&part.batteries) {
                assert_eq!(sub.nodes[k.node].id, sc.nodes[sc.batteries[i].node].id);
            }
            for (g, &i) in sub.grids.iter().zip(&part.grids) {
                assert_eq!(sub.nodes[g.node].id, sc.nodes[sc.grids[i].node].id);
            }
        }
        // Two batteries on different parts sharing their first step: one part fewer.
        let (a, b) = (
            &parts[0],
            parts.iter().skip(1).find(|p| !p.batteries.is_empty()),
        );
        if let (Some(&ka), Some(b)) = (a.batteries.first(), b) {
            sc.first_step_shared.batteries = vec![vec![ka, b.batteries[0]]];
            assert_eq!(super::parts(&sc).len(), parts.len() - 1);
        }
    }

    /// Gate Square without its lines is one part per node: gathered into two groups, each
    /// node and asset is in exactly one group, lists sorted, and a group's sub-scenario
    /// keeps every asset on its own node.
    #[test]
    fn parts_gather_into_groups_with_every_index_once() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gate_square/scenario.toml");
        let mut sc = Scenario::load(&p).unwrap();
        sc.lines.clear();
        let all = parts(&sc);
        assert!(all.len() > 2);
        let gathered = groups(all.clone(), 2);
        assert_eq!(gathered.len(), 2);
        let mut nodes: Vec<usize> = gathered.iter().flat_map(|g| g.nodes.clone()).collect();
        nodes.sort_unstable();
        assert_eq!(nodes, (0..sc.nodes.len()).collect::<Vec<_>>());
        let batteries: usize = gathered.iter().map(|g| g.batteries.len()).sum();
        assert_eq!(batteries, sc.batteries.len());
        for g in &gathered {
            assert!(g.nodes.windows(2).all(|w| w[0] < w[1]));
            let sub = subset(&sc, g);
            for (k, &i) in sub.batteries.iter().zip(&g.batteries) {
                assert_eq!(sub.nodes[k.node].id, sc.nodes[sc.batteries[i].node].id);
            }
        }
        // No more groups than parts.
        assert_eq!(groups(all.clone(), 64).len(), all.len());
    }
}
