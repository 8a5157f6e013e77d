//! A district of independent parts is solved part by part: the same optimum as the whole.

mod common;

use engine::{optimize, Scenario, SolveOptions, Status};

/// `sc` twice over: a second, disjoint copy of every node and asset (ids suffixed `~1`).
fn doubled(sc: &Scenario) -> Scenario {
    let mut out = sc.clone();
    let n = sc.nodes.len();
    let suffix = |id: &str| format!("{id}~1");
    out.nodes.extend(sc.nodes.iter().map(|x| {
        let mut x = x.clone();
        x.id = suffix(&x.id);
        x
    }));
    out.grids.extend(sc.grids.iter().map(|x| {
        let mut x = x.clone();
        x.id = suffix(&x.id);
        x.node += n;
        x
    }));
    out.pvs.extend(sc.pvs.iter().map(|x| {
        let mut x = x.clone();
        x.id = suffix(&x.id);
        x.node += n;
        x
    }));
    out.batteries.extend(sc.batteries.iter().map(|x| {
        let mut x = x.clone();
        x.id = suffix(&x.id);
        x.node += n;
        x
    }));
    out.hvacs.extend(sc.hvacs.iter().map(|x| {
        let mut x = x.clone();
        x.id = suffix(&x.id);
        x.node += n;
        x
    }));
    out.generators.extend(sc.generators.iter().map(|x| {
        let mut x = x.clone();
        x.id = suffix(&x.id);
        x.node += n;
        x
    }));
    out.lines.extend(sc.lines.iter().map(|x| {
        let mut x = x.clone();
        x.id = suffix(&x.id);
        x.from += n;
        x.to += n;
        x
    }));
    out
}

#[test]
fn two_copies_of_every_reference_case_cost_twice_the_case() {
    let dir = common::cases_dir();
    let mut solved = 0;
    for case in common::case_dirs(&dir) {
        let sc = Scenario::load(case.join("scenario.toml")).expect("case loads");
        let one = optimize(&sc, &SolveOptions::default()).expect("case solves");
        if one.status != Status::Optimal {
            continue; // the infeasible case: below
        }
        let parts = engine::decompose::parts(&sc).len();
        let two_sc = doubled(&sc);
        assert_eq!(engine::decompose::parts(&two_sc).len(), 2 * parts);
        let two = optimize(&two_sc, &SolveOptions::default()).expect("doubled case solves");
        assert_eq!(two.status, Status::Optimal, "{}", case.display());
        let (a, b) = (
            one.figures.expect("figures").objective_yen,
            two.figures.expect("figures").objective_yen,
        );
        assert!(
            (b - 2.0 * a).abs() <= 1e-6 * a.abs().max(1.0),
            "{}: doubled {b} against 2 × {a}",
            case.display()
        );
        assert!(two.mip_gap.expect("gap") <= 1e-6);
        // Four copies of the small cases: more parts than this machine's cores, so parts
        // are gathered into groups (one HiGHS model per core): still four times the case.
        if sc.nodes.len() <= 3 {
            let four_sc = doubled(&two_sc);
            let four =
                optimize(&four_sc, &SolveOptions::default()).expect("quadrupled case solves");
            let d = four.figures.expect("figures").objective_yen;
            assert!(
                (d - 4.0 * a).abs() <= 1e-6 * a.abs().max(1.0),
                "{}: four copies {d} against 4 × {a}",
                case.display()
            );
        }
        solved += 1;
    }
    assert!(solved >= 8, "only {solved} reference cases solved");
}

#[test]
fn an_infeasible_part_makes_the_whole_infeasible_and_is_named() {
    let dir = common::cases_dir();
    let bad = Scenario::load(dir.join("f_infeasible_feeder/scenario.toml")).expect("f");
    let alone = optimize(&bad, &SolveOptions::default()).expect("f solves");
    assert_eq!(alone.status, Status::Infeasible);
    // The first infeasible part by node order speaks for the whole: the original's nodes.
    let two = optimize(&doubled(&bad), &SolveOptions::default()).expect("doubled f solves");
    assert_eq!(two.status, Status::Infeasible);
    assert!(two.diagnosis.is_some());
    assert_eq!(two.diagnosis, alone.diagnosis);
}
