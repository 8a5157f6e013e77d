//! Every case in `../shared/cases/` reproduces its `expected.json` (status and objective
//! within `tolerance_rel`); every case in `../shared/cases/invalid/` is refused naming the
//! field its `expected.json` names.

mod common;

use engine::check::{check, TOLERANCE};
use engine::{optimize, optimize_warm, Scenario, SolveOptions, Status, WarmStart};

#[test]
fn reference_cases_reproduce_expected() {
    let cases = common::case_dirs(&common::cases_dir());
    assert!(
        cases.len() >= 9,
        "expected the 9 public cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let exp = common::expected(case);
        let sc = Scenario::load(case.join("scenario.toml"))
            .unwrap_or_else(|e| panic!("{name}: scenario refused: {e}"));
        let out = optimize(&sc, &SolveOptions::default())
            .unwrap_or_else(|e| panic!("{name}: engine error: {e}"));
        let want_status = exp["status"].as_str().unwrap();
        if out.status.as_str() != want_status {
            failures.push(format!("{name}: status {} != {want_status}", out.status));
            continue;
        }
        match out.status {
            Status::Optimal => {
                let f = out.figures.as_ref().unwrap();
                let want = exp["objective_yen"].as_f64().unwrap();
                let tol = exp["tolerance_rel"].as_f64().unwrap();
                let rel = (f.objective_yen - want).abs() / want.abs().max(1.0);
                if rel > tol {
                    failures.push(format!(
                        "{name}: objective {} vs expected {want} (rel {rel:.2e} > {tol:.0e})",
                        f.objective_yen
                    ));
                }
                let parts = f.parts.total();
                assert!(
                    (parts - f.objective_yen).abs() <= 1e-9 * f.objective_yen.abs().max(1.0),
                    "{name}: parts sum {parts} != objective {}",
                    f.objective_yen
                );
                // The schedule meets the physics (optimize checks too; this test would
                // catch that check being bypassed).
                check(&sc, out.schedule.as_ref().unwrap(), TOLERANCE)
                    .unwrap_or_else(|v| panic!("{name}: {v}"));
                assert_eq!(f.peak_kw.len(), sc.grids.len());
            }
            Status::Infeasible => {
                let d = out
                    .diagnosis
                    .as_ref()
                    .expect("infeasible comes with a diagnosis");
                if let Some(node) = exp["infeasible_node"].as_str() {
                    assert_eq!(d.node, node, "{name}: infeasible node");
                }
                if let Some(step) = exp["infeasible_step"].as_u64() {
                    assert_eq!(d.step as u64, step, "{name}: infeasible step");
                }
            }
            other => failures.push(format!("{name}: unexpected status {other}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The controller re-plans warm: the simplex starts from the basis the previous plan left.
/// Each case solved after the same case with its series rotated by half the horizon (the
/// same structure, other data, as a later cycle has) still reaches its expected optimum.
#[test]
fn reference_cases_solved_warm_after_other_data_reproduce_expected() {
    let mut failures = Vec::new();
    let mut warm_runs = 0;
    for case in &common::case_dirs(&common::cases_dir()) {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let exp = common::expected(case);
        let sc = Scenario::load(case.join("scenario.toml")).unwrap();
        let mut before = sc.clone();
        let half = sc.steps / 2;
        before.map_series(|s| {
            let mut v = s.to_vec();
            let k = half.min(v.len());
            v.rotate_left(k);
            v
        });
        let mut warm = WarmStart::cold();
        optimize_warm(&before, &SolveOptions::default(), &mut warm)
            .unwrap_or_else(|e| panic!("{name} (rotated): engine error: {e}"));
        let out = optimize_warm(&sc, &SolveOptions::default(), &mut warm)
            .unwrap_or_else(|e| panic!("{name}: engine error: {e}"));
        warm_runs += out.warm_starts;
        let want_status = exp["status"].as_str().unwrap();
        if out.status.as_str() != want_status {
            failures.push(format!(
                "{name}: warm status {} != {want_status}",
                out.status
            ));
            continue;
        }
        if let Some(f) = &out.figures {
            let want = exp["objective_yen"].as_f64().unwrap();
            let tol = exp["tolerance_rel"].as_f64().unwrap();
            let rel = (f.objective_yen - want).abs() / want.abs().max(1.0);
            if rel > tol {
                failures.push(format!(
                    "{name}: warm objective {} vs expected {want} (rel {rel:.2e} > {tol:.0e})",
                    f.objective_yen
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(warm_runs >= 5, "only {warm_runs} HiGHS runs started warm");
}

#[test]
fn invalid_cases_are_refused_naming_the_field() {
    let cases = common::case_dirs(&common::cases_dir().join("invalid"));
    assert!(
        cases.len() >= 10,
        "expected the 10 invalid cases, found {}",
        cases.len()
    );
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let exp = common::expected(case);
        let field = exp["field"].as_str().unwrap();
        match Scenario::load(case.join("scenario.toml")) {
            Ok(_) => panic!("{name}: accepted, but {field} is invalid"),
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(field),
                    "{name}: message does not name '{field}': {msg}"
                );
                assert!(
                    !msg.contains('\n'),
                    "{name}: message is not one line: {msg}"
                );
                assert!(
                    msg.contains("scenario.toml") || msg.contains("series.csv"),
                    "{name}: message does not name the file: {msg}"
                );
            }
        }
    }
}
