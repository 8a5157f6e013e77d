//! The district's network: private lines with losses, grid connections, and how power
//! actually flows through them.
//!
//! A line `from → to` delivers `(1 − loss_fraction)` of what it carries (the node balance
//! of `shared/spec/dispatch-model.md`). Physically, the flows of a radial network are
//! fixed by what its nodes draw: each node belongs to the tree of its nearest grid
//! connection (fewest lines, the first connection in file order on ties; a group of nodes
//! no connection reaches is an island with its own tree), and every line of a tree carries
//! what the part of the tree beyond it draws or gives back, losses included. The lines that
//! are not in any tree — those joining two trees, or closing a loop — are *tie lines*: they
//! carry what they are told (an interchange setpoint), within their capacity.
//!
//! What a tree's root still needs is imported (or exported) at its connections, filled in
//! file order up to each one's limit. Where a tree would export more than its connections
//! take, PV is curtailed (every array of the tree in the same proportion), then battery
//! discharge is held back (an export limiter), then the tie lines feeding it carry less;
//! where it would import more than they give, battery charging is held back. What even that cannot fix is reported as a
//! [`Violation`], never silently dropped.

use serde::{Deserialize, Serialize};

/// A private line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Node a(l).
    pub from: usize,
    /// Node b(l).
    pub to: usize,
    /// Largest flow in each direction, kW.
    pub capacity_kw: f64,
    /// Share of the sent power lost, in [0, 1).
    pub loss_fraction: f64,
}

impl Line {
    /// What the receiving end gets of `sent_kw`.
    pub fn received_kw(&self, sent_kw: f64) -> f64 {
        (1.0 - self.loss_fraction) * sent_kw
    }
}

/// A grid connection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Node it is attached to.
    pub node: usize,
    /// Largest import, kW (may be infinite).
    pub import_limit_kw: f64,
    /// Largest export, kW (may be infinite; 0 forbids reverse flow).
    pub export_limit_kw: f64,
}

/// What a node asks of the network over an interval, kW.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NodeDemand {
    /// Load, HVAC and other consumers less generation that cannot be held back, kW.
    pub base_kw: f64,
    /// PV power available, kW.
    pub pv_kw: f64,
    /// Battery charging asked for, kW.
    pub charge_kw: f64,
    /// Battery discharging asked for, kW.
    pub discharge_kw: f64,
}

/// What the network cannot do.
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    /// A connection would import beyond its limit (or an island lacks power).
    Import {
        /// Root node of the tree.
        node: usize,
        /// The power missing beyond what its connections may import, kW.
        excess_kw: f64,
    },
    /// A tree has more power than its connections may export, with all its PV curtailed
    /// and its batteries idle.
    Export {
        /// Root node of the tree.
        node: usize,
        /// The power left over, kW.
        excess_kw: f64,
    },
    /// A line would carry more than its capacity.
    Line {
        /// The line.
        line: usize,
        /// The flow, kW.
        flow_kw: f64,
    },
}

/// How power flows over an interval.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flows {
    /// Per connection: import, kW.
    pub import_kw: Vec<f64>,
    /// Per connection: export, kW.
    pub export_kw: Vec<f64>,
    /// Per node: share of its available PV used, in [0, 1].
    pub pv_share: Vec<f64>,
    /// Per node: share of the battery charging asked for that happens, in [0, 1].
    pub charge_share: Vec<f64>,
    /// Per node: share of the battery discharging asked for that happens, in [0, 1].
    pub discharge_share: Vec<f64>,
    /// Per line: flow from → to, kW.
    pub fwd_kw: Vec<f64>,
    /// Per line: flow to → from, kW.
    pub rev_kw: Vec<f64>,
    /// What could not be done.
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, PartialEq)]
struct Tree {
    root: usize,
    /// Connections at the root, in file order.
    grids: Vec<usize>,
    /// Nodes in breadth-first order, the root first.
    order: Vec<usize>,
}

/// A network and its trees.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    nodes: usize,
    lines: Vec<Line>,
    grids: Vec<Grid>,
    trees: Vec<Tree>,
    tree_of: Vec<usize>,
    parent: Vec<Option<usize>>,
    ties: Vec<usize>,
    parts: Vec<usize>,
}

impl Network {
    /// The network of `nodes` nodes joined by `lines`, with `grids`.
    pub fn new(nodes: usize, lines: Vec<Line>, grids: Vec<Grid>) -> Self {
        let mut tree_of = vec![usize::MAX; nodes];
        let mut parent = vec![None; nodes];
        let mut in_tree = vec![false; lines.len()];
        let mut trees: Vec<Tree> = Vec::new();
        let grow = |trees: &mut Vec<Tree>,
                    tree_of: &mut Vec<usize>,
                    parent: &mut Vec<Option<usize>>,
                    in_tree: &mut Vec<bool>,
                    seeds: Vec<usize>| {
            // Breadth-first from every seed at once, one level at a time.
            let mut frontier = seeds;
            while !frontier.is_empty() {
                let mut next = Vec::new();
                for &u in &frontier {
                    for (l, line) in lines.iter().enumerate() {
                        let v = if line.from == u {
                            line.to
                        } else if line.to == u {
                            line.from
                        } else {
                            continue;
                        };
                        if v >= tree_of.len() || tree_of[v] != usize::MAX {
                            continue;
                        }
                        tree_of[v] = tree_of[u];
                        parent[v] = Some(l);
                        in_tree[l] = true;
                        trees[tree_of[u]].order.push(v);
                        next.push(v);
                    }
                }
                frontier = next;
            }
        };
        let mut seeds = Vec::new();
        for (g, grid) in grids.iter().enumerate() {
            if grid.node >= nodes {
                continue;
            }
            if tree_of[grid.node] == usize::MAX {
                tree_of[grid.node] = trees.len();
                trees.push(Tree {
                    root: grid.node,
                    grids: vec![g],
                    order: vec![grid.node],
                });
                seeds.push(grid.node);
            } else if let Some(t) = trees.iter_mut().find(|t| t.root == grid.node) {
                t.grids.push(g);
            }
        }
        grow(&mut trees, &mut tree_of, &mut parent, &mut in_tree, seeds);
        for n in 0..nodes {
            if tree_of[n] == usize::MAX {
                tree_of[n] = trees.len();
                trees.push(Tree {
                    root: n,
                    grids: Vec::new(),
                    order: vec![n],
                });
                grow(&mut trees, &mut tree_of, &mut parent, &mut in_tree, vec![n]);
            }
        }
        let ties = (0..lines.len()).filter(|l| !in_tree[*l]).collect();
        // Parts: nodes joined by any line.
        let mut part: Vec<usize> = (0..nodes).collect();
        fn root(part: &mut [usize], mut i: usize) -> usize {
            while part[i] != i {
                part[i] = part[part[i]];
                i = part[i];
            }
            i
        }
        for l in &lines {
            if l.from < nodes && l.to < nodes {
                let (a, b) = (root(&mut part, l.from), root(&mut part, l.to));
                part[a.max(b)] = a.min(b);
            }
        }
        let mut ids = std::collections::BTreeMap::new();
        let parts = (0..nodes)
            .map(|i| {
                let r = root(&mut part, i);
                let n = ids.len();
                *ids.entry(r).or_insert(n)
            })
            .collect();
        Self {
            nodes,
            lines,
            grids,
            trees,
            tree_of,
            parent,
            ties,
            parts,
        }
    }

    /// The lines.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The grid connections.
    pub fn grids(&self) -> &[Grid] {
        &self.grids
    }

    /// The tie lines: the lines whose flow is commanded rather than fixed by the nodes.
    pub fn ties(&self) -> &[usize] {
        &self.ties
    }

    /// The connection that serves each node: the first of its tree's root (`None` on an
    /// island).
    pub fn areas(&self) -> Vec<Option<usize>> {
        (0..self.nodes)
            .map(|n| self.trees[self.tree_of[n]].grids.first().copied())
            .collect()
    }

    /// The part of the network each node is in, numbered from 0: nodes joined by lines
    /// (tree or tie) share a part.
    pub fn parts(&self) -> &[usize] {
        &self.parts
    }

    /// Adds the flow each line carries toward the root to the nodes above it, leaves first;
    /// returns what the root still needs, kW (negative: it gives back).
    fn flow_up(&self, tree: &Tree, net: &mut [f64], fwd: &mut [f64], rev: &mut [f64]) -> f64 {
        for &n in tree.order.iter().skip(1).rev() {
            let Some(l) = self.parent[n] else { continue };
            let line = &self.lines[l];
            let p = if line.from == n { line.to } else { line.from };
            let s = net[n];
            // (sender, sent)
            let (sender, sent) = if s >= 0.0 {
                let sent = s / (1.0 - line.loss_fraction);
                net[p] += sent;
                (p, sent)
            } else {
                net[p] -= line.received_kw(-s);
                (n, -s)
            };
            if sender == line.from {
                fwd[l] = sent;
                rev[l] = 0.0;
            } else {
                rev[l] = sent;
                fwd[l] = 0.0;
            }
        }
        net[tree.root]
    }

    /// How power flows when the nodes ask for `demand` and each tie line is told to carry
    /// `tie_kw[l]` (+ from → to; other lines' entries are ignored, a missing entry is 0).
    /// A tree that would still export beyond its connections' limit with its PV curtailed
    /// and its batteries held back gets less over the tie lines that feed it (their
    /// converters hold back).
    pub fn balance(&self, demand: &[NodeDemand], tie_kw: &[f64]) -> Flows {
        self.balance_with(demand, tie_kw, &[])
    }

    /// The nodes of the tree that holds `node` (the root first), for a district that
    /// must act on one island.
    pub fn tree_nodes(&self, node: usize) -> &[usize] {
        &self.trees[self.tree_of[node]].order
    }

    /// Whether the tree that holds `node` has a connection marked out in `grid_out`.
    pub fn tree_islanded(&self, node: usize, grid_out: &[bool]) -> bool {
        self.trees[self.tree_of[node]]
            .grids
            .iter()
            .any(|g| grid_out.get(*g).copied().unwrap_or(false))
    }

    /// [`Network::balance`] with the connections marked in `grid_out` lost (a grid
    /// outage: they neither import nor export; a missing entry is a connection that is up).
    pub fn balance_with(&self, demand: &[NodeDemand], tie_kw: &[f64], grid_out: &[bool]) -> Flows {
        // The tie lines' flows: (line, + from → to, within capacity).
        let mut sent: Vec<(usize, f64)> = self
            .ties
            .iter()
            .map(|&l| {
                let want = tie_kw
                    .get(l)
                    .copied()
                    .filter(|v| v.is_finite())
                    .unwrap_or(0.0);
                let cap = self.lines[l].capacity_kw;
                (l, want.clamp(-cap, cap))
            })
            .collect();
        let mut rounds = 0;
        loop {
            let (mut f, excess) = self.balance_trees(demand, &sent, grid_out);
            rounds += 1;
            let mut held = false;
            for (t, e) in excess.iter().enumerate() {
                let mut e = *e;
                for (l, s) in sent.iter_mut() {
                    let line = &self.lines[*l];
                    let to = if *s >= 0.0 { line.to } else { line.from };
                    if e <= 1e-9 || self.tree_of[to] != t || *s == 0.0 {
                        continue;
                    }
                    let cut = s.abs().min(e / (1.0 - line.loss_fraction));
                    *s -= cut * s.signum();
                    e -= line.received_kw(cut);
                    held = true;
                }
            }
            if !held || rounds > self.ties.len() + 1 {
                for (t, e) in excess.iter().enumerate() {
                    if *e > 1e-9 {
                        f.violations.push(Violation::Export {
                            node: self.trees[t].root,
                            excess_kw: *e,
                        });
                    }
                }
                for (l, line) in self.lines.iter().enumerate() {
                    let flow = f.fwd_kw[l].max(f.rev_kw[l]);
                    if flow > line.capacity_kw + 1e-9 {
                        f.violations.push(Violation::Line {
                            line: l,
                            flow_kw: flow,
                        });
                    }
                }
                return f;
            }
        }
    }

    /// The flows with the tie lines carrying `sent`; and per tree, the power it would
    /// export beyond its limit with its PV curtailed and its batteries held back.
    fn balance_trees(
        &self,
        demand: &[NodeDemand],
        sent: &[(usize, f64)],
        grid_out: &[bool],
    ) -> (Flows, Vec<f64>) {
        let up = |g: usize| !grid_out.get(g).copied().unwrap_or(false);
        let n = self.nodes;
        let mut f = Flows {
            import_kw: vec![0.0; self.grids.len()],
            export_kw: vec![0.0; self.grids.len()],
            pv_share: vec![1.0; n],
            charge_share: vec![1.0; n],
            discharge_share: vec![1.0; n],
            fwd_kw: vec![0.0; self.lines.len()],
            rev_kw: vec![0.0; self.lines.len()],
            violations: Vec::new(),
        };
        let mut excess = vec![0.0; self.trees.len()];
        let d = |i: usize| demand.get(i).copied().unwrap_or_default();
        // Tie lines: fixed injections at their ends.
        let mut tie_net = vec![0.0; n];
        for &(l, s) in sent {
            let line = &self.lines[l];
            let (a, b) = if s >= 0.0 {
                f.fwd_kw[l] = s;
                (line.from, line.to)
            } else {
                f.rev_kw[l] = -s;
                (line.to, line.from)
            };
            tie_net[a] += s.abs();
            tie_net[b] -= line.received_kw(s.abs());
        }
        let mut net = vec![0.0; n];
        // Each tree's lines are written by its own pass only.
        let (mut fw, mut rv) = (std::mem::take(&mut f.fwd_kw), std::mem::take(&mut f.rev_kw));
        for (t, tree) in self.trees.iter().enumerate() {
            let import_cap: f64 = tree
                .grids
                .iter()
                .filter(|g| up(**g))
                .map(|g| self.grids[*g].import_limit_kw)
                .sum();
            let export_cap: f64 = tree
                .grids
                .iter()
                .filter(|g| up(**g))
                .map(|g| self.grids[*g].export_limit_kw)
                .sum();
            // The root's need with PV used at share `pv`, charging at `ch`, discharging at
            // `dis`.
            let mut need = |pv: f64, ch: f64, dis: f64, fwd: &mut [f64], rev: &mut [f64]| {
                for &i in &tree.order {
                    let x = d(i);
                    net[i] = x.base_kw + tie_net[i] - pv * x.pv_kw + ch * x.charge_kw
                        - dis * x.discharge_kw;
                }
                self.flow_up(tree, &mut net, fwd, rev)
            };
            let (mut pv, mut ch, mut dis) = (1.0, 1.0, 1.0);
            let mut root = need(pv, ch, dis, &mut fw, &mut rv);
            if root > import_cap {
                // Less charging (the need grows with it).
                ch = bisect(|x| need(1.0, x, 1.0, &mut fw, &mut rv) <= import_cap);
                root = need(pv, ch, dis, &mut fw, &mut rv);
                if root > import_cap + 1e-9 {
                    f.violations.push(Violation::Import {
                        node: tree.root,
                        excess_kw: root - import_cap,
                    });
                }
            } else if root < -export_cap {
                // Curtail PV (the need falls as more is used), then hold discharging back.
                pv = bisect(|x| need(x, 1.0, 1.0, &mut fw, &mut rv) >= -export_cap);
                if pv <= 0.0 && need(0.0, 1.0, 1.0, &mut fw, &mut rv) < -export_cap {
                    dis = bisect(|x| need(0.0, 1.0, x, &mut fw, &mut rv) >= -export_cap);
                }
                root = need(pv, ch, dis, &mut fw, &mut rv);
                excess[t] = (-export_cap - root).max(0.0);
            }
            for &i in &tree.order {
                f.pv_share[i] = pv;
                f.charge_share[i] = ch;
                f.discharge_share[i] = dis;
            }
            // The root's need over its connections, in file order up to each limit; what
            // is left goes to the last one (and is a violation).
            let mut left = root;
            let live: Vec<usize> = tree.grids.iter().copied().filter(|g| up(*g)).collect();
            for (k, &g) in live.iter().enumerate() {
                let last = k + 1 == live.len();
                let grid = &self.grids[g];
                if left >= 0.0 {
                    let take = if last {
                        left
                    } else {
                        left.min(grid.import_limit_kw)
                    };
                    f.import_kw[g] = take;
                    left -= take;
                } else {
                    let take = if last {
                        -left
                    } else {
                        (-left).min(grid.export_limit_kw)
                    };
                    f.export_kw[g] = take;
                    left += take;
                }
            }
        }
        f.fwd_kw = fw;
        f.rev_kw = rv;
        (f, excess)
    }
}

/// The largest `x` in [0, 1] for which `ok(x)` holds, where `ok` holds for every `x` below
/// some threshold (0 if it never holds).
pub(crate) fn bisect(mut ok: impl FnMut(f64) -> bool) -> f64 {
    if ok(1.0) {
        return 1.0;
    }
    if !ok(0.0) {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(from: usize, to: usize, loss: f64) -> Line {
        Line {
            from,
            to,
            capacity_kw: 1000.0,
            loss_fraction: loss,
        }
    }

    fn grid(node: usize, export: f64) -> Grid {
        Grid {
            node,
            import_limit_kw: f64::INFINITY,
            export_limit_kw: export,
        }
    }

    fn load(kw: f64) -> NodeDemand {
        NodeDemand {
            base_kw: kw,
            ..Default::default()
        }
    }

    /// A hub with a grid and two buildings: flows carry the losses, and each node's
    /// balance of the spec holds.
    #[test]
    fn a_radial_network_carries_its_losses() {
        let net = Network::new(
            3,
            vec![line(0, 1, 0.01), line(2, 0, 0.02)],
            vec![grid(0, 0.0)],
        );
        assert!(net.ties().is_empty());
        let f = net.balance(&[load(10.0), load(99.0), load(49.0)], &[]);
        assert!((f.fwd_kw[0] - 100.0).abs() < 1e-9, "{f:?}");
        assert!((f.rev_kw[1] - 50.0).abs() < 1e-9, "{f:?}");
        assert!((f.import_kw[0] - 160.0).abs() < 1e-9);
        assert!(f.violations.is_empty());
        // Building 2 gives back 20 kW of PV: 19.6 kW reach the hub.
        let pv = NodeDemand {
            pv_kw: 20.0,
            ..Default::default()
        };
        let f = net.balance(&[load(10.0), load(99.0), pv], &[]);
        assert!((f.fwd_kw[1] - 20.0).abs() < 1e-9, "{f:?}");
        assert!((f.import_kw[0] - (10.0 + 100.0 - 19.6)).abs() < 1e-9);
    }

    #[test]
    fn surplus_beyond_the_export_limit_is_curtailed_then_held_back() {
        let net = Network::new(1, vec![], vec![grid(0, 5.0)]);
        let d = NodeDemand {
            base_kw: 10.0,
            pv_kw: 30.0,
            charge_kw: 0.0,
            discharge_kw: 0.0,
        };
        let f = net.balance(&[d], &[]);
        assert!((f.export_kw[0] - 5.0).abs() < 1e-9, "{f:?}");
        assert!((f.pv_share[0] - 0.5).abs() < 1e-9);
        let d = NodeDemand {
            base_kw: 10.0,
            pv_kw: 0.0,
            charge_kw: 0.0,
            discharge_kw: 20.0,
        };
        let f = net.balance(&[d], &[]);
        assert!((f.discharge_share[0] - 0.75).abs() < 1e-9, "{f:?}");
        assert!(f.violations.is_empty());
    }

    #[test]
    fn tie_lines_carry_their_setpoint_and_islands_report_what_they_lack() {
        // Two grids joined by one line: the line is a tie.
        let net = Network::new(2, vec![line(0, 1, 0.1)], vec![grid(0, 0.0), grid(1, 0.0)]);
        assert_eq!(net.ties(), &[0]);
        assert_eq!(net.areas(), vec![Some(0), Some(1)]);
        let f = net.balance(&[load(100.0), load(100.0)], &[50.0]);
        assert!((f.import_kw[0] - 150.0).abs() < 1e-9);
        assert!((f.import_kw[1] - 55.0).abs() < 1e-9);
        // A tie feeding a tree that cannot use or export it carries less.
        let f = net.balance(&[load(100.0), load(20.0)], &[50.0]);
        assert!(f.violations.is_empty(), "{f:?}");
        assert!((f.fwd_kw[0] - 20.0 / 0.9).abs() < 1e-9, "{f:?}");
        assert!(f.export_kw.iter().all(|e| *e < 1e-9));
        let island = Network::new(1, vec![], vec![]);
        let f = island.balance(&[load(3.0)], &[]);
        assert_eq!(
            f.violations,
            vec![Violation::Import {
                node: 0,
                excess_kw: 3.0
            }]
        );
    }
}
