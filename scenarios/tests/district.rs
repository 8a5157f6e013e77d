//! The synthetic district (`scenarios::district`): it loads and solves, has the equipment
//! the documentation promises, is the same byte for byte for the same options, and refuses
//! bad options naming them.

use std::path::{Path, PathBuf};

use chrono::DateTime;
use engine::{optimize, Scenario, SolveOptions, Status};
use scenarios::district::{generate, DistrictOptions, DEFAULT_START};

/// A fresh folder under the target's temporary directory.
fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("district")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn small(out: PathBuf) -> DistrictOptions {
    DistrictOptions {
        steps: 48,
        step_minutes: 15,
        ..DistrictOptions::new(6, out)
    }
}

fn bytes(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

/// FNV-1a, 64 bits.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn a_small_district_loads_and_solves_optimally() {
    let out = dir("small");
    let g = generate(&small(out.clone())).unwrap();
    // 6 buildings: 2 offices, 1 retail, 1 hotel, 2 residential (largest remainder of
    // 40/20/10/30 %); PV on round(4.8) = 5, batteries on round(2.1) = 2.
    assert_eq!(g.buildings_by_type, [2, 1, 1, 2]);
    assert_eq!((g.nodes, g.lines, g.hvac), (7, 6, 6));
    assert_eq!((g.pv, g.batteries, g.generators), (5, 2, 2));
    assert!(g.cooling);
    assert_eq!(g.start.to_rfc3339(), DEFAULT_START);

    let sc = Scenario::load(&g.scenario).unwrap();
    assert_eq!((sc.steps, sc.step_minutes), (48, 15));
    assert_eq!(sc.nodes.len(), 7);
    assert_eq!(sc.lines.len(), 6);
    assert_eq!(sc.hvacs.len(), 6);
    assert_eq!(sc.pvs.len(), 5);
    assert_eq!(sc.batteries.len(), 2);
    assert_eq!(sc.generators.len(), 2);
    assert_eq!(sc.grids.len(), 1);
    assert_eq!(sc.start.to_rfc3339(), DEFAULT_START);

    let outcome = optimize(&sc, &SolveOptions::default()).unwrap();
    assert_eq!(outcome.status, Status::Optimal, "{:?}", outcome.message);
    let figures = outcome.figures.unwrap();
    assert!(figures.objective_yen.is_finite() && figures.objective_yen > 0.0);
}

#[test]
fn the_default_case_has_the_documented_equipment_and_smooth_series() {
    let out = dir("default");
    let g = generate(&DistrictOptions::new(100, out.clone())).unwrap();
    assert_eq!(g.buildings_by_type, [40, 20, 10, 30]);
    assert_eq!((g.nodes, g.lines, g.hvac), (101, 100, 100));
    assert_eq!((g.pv, g.batteries, g.generators), (80, 35, 2));
    assert_eq!((g.steps, g.step_minutes), (288, 5));
    assert!(g.import_limit_kw > g.peak_load_kw);
    let sc = Scenario::load(&g.scenario).unwrap();
    assert_eq!(sc.times.len(), 288);
    assert_eq!(sc.pvs.len(), 80);
    assert_eq!(sc.batteries.len(), 35);
    assert_eq!(sc.hvacs.len(), 100);

    // The series: one row per 5-minute step, 4 + 5 columns per building + 1 per PV.
    let csv = String::from_utf8(bytes(&out, "series.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 289);
    assert_eq!(rows[0].len(), 4 + 5 * 100 + 80);
    assert_eq!(rows[0][..4], ["time", "t_out", "price_imp", "co2"]);
    assert!(rows[0][4].starts_with("load_"));
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));
    // The published 100 × 288 case (docs/simulate.md): if the generator changes on purpose,
    // update these and the figures there.
    assert_eq!(fnv1a(&bytes(&out, "series.csv")), 0x2d2b9722aadeb541);
    assert_eq!(fnv1a(&bytes(&out, "scenario.toml")), 0x7afbf937bb63398c);
    // No building's load jumps by more than a quarter of its largest value in 5 minutes.
    for (c, name) in rows[0]
        .iter()
        .enumerate()
        .filter(|(_, n)| n.starts_with("load_"))
    {
        let v: Vec<f64> = rows[1..].iter().map(|r| r[c].parse().unwrap()).collect();
        let max = v.iter().copied().fold(0.0, f64::max);
        let jump = v
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        assert!(
            jump < 0.25 * max,
            "{name}: {jump} kW in one step, max {max} kW"
        );
    }
}

#[test]
fn the_same_options_write_the_same_bytes_and_another_seed_does_not() {
    let (a, b, c) = (dir("seed_a"), dir("seed_b"), dir("seed_c"));
    generate(&small(a.clone())).unwrap();
    generate(&small(b.clone())).unwrap();
    generate(&DistrictOptions {
        seed: 7,
        ..small(c.clone())
    })
    .unwrap();
    for file in ["scenario.toml", "series.csv"] {
        assert_eq!(bytes(&a, file), bytes(&b, file), "{file}");
        assert_ne!(bytes(&a, file), bytes(&c, file), "{file}");
    }
    // The same instant written in another offset is the same district.
    let d = dir("seed_utc");
    generate(&DistrictOptions {
        start: DateTime::parse_from_rfc3339("2025-08-04T15:00:00Z").unwrap(),
        ..small(d.clone())
    })
    .unwrap();
    assert_eq!(bytes(&a, "series.csv"), bytes(&d, "series.csv"));
    assert_eq!(bytes(&a, "scenario.toml"), bytes(&d, "scenario.toml"));
}

#[test]
fn a_winter_start_heats_and_solves() {
    let out = dir("winter");
    let g = generate(&DistrictOptions {
        steps: 48,
        step_minutes: 60,
        start: DateTime::parse_from_rfc3339("2026-01-15T00:00:00+09:00").unwrap(),
        ..DistrictOptions::new(3, out)
    })
    .unwrap();
    assert!(!g.cooling);
    let text = std::fs::read_to_string(&g.scenario).unwrap();
    assert!(text.contains("mode = \"heating\""));
    let sc = Scenario::load(&g.scenario).unwrap();
    let outcome = optimize(&sc, &SolveOptions::default()).unwrap();
    assert_eq!(outcome.status, Status::Optimal, "{:?}", outcome.message);
}

#[test]
fn bad_options_are_refused_naming_the_option() {
    let out = dir("bad");
    let base = small(out.clone());
    let cases = [
        (
            DistrictOptions {
                buildings: 0,
                ..base.clone()
            },
            "buildings",
        ),
        (
            DistrictOptions {
                buildings: 100_000,
                ..base.clone()
            },
            "buildings",
        ),
        (
            DistrictOptions {
                steps: 0,
                ..base.clone()
            },
            "steps",
        ),
        (
            DistrictOptions {
                steps: 200_000,
                step_minutes: 5,
                ..base.clone()
            },
            "steps",
        ),
        (
            DistrictOptions {
                step_minutes: 20,
                ..base.clone()
            },
            "step_minutes",
        ),
        (
            DistrictOptions {
                step_minutes: 0,
                ..base.clone()
            },
            "step_minutes",
        ),
        (
            DistrictOptions {
                start: DateTime::parse_from_rfc3339("2025-08-05T00:10:00+09:00").unwrap(),
                ..base.clone()
            },
            "start",
        ),
        (
            DistrictOptions {
                start: DateTime::parse_from_rfc3339("2500-01-01T00:00:00+09:00").unwrap(),
                ..base.clone()
            },
            "start",
        ),
    ];
    for (opts, option) in cases {
        let err = opts.check().unwrap_err();
        assert_eq!(err.option, option, "{err}");
        let err = generate(&opts).unwrap_err().to_string();
        assert!(err.starts_with(option), "{err}");
    }
    assert!(!out.exists(), "nothing is written for bad options");
}

/// The controller's re-plan every 5 minutes: the horizon shifted by a step (its first
/// 30-minute interval now partial, so one demand-charge row more), the district where the
/// plan leaves it. Solved from the basis the first plan left, each re-plan reaches the cold
/// optimum of the same problem.
#[test]
fn five_minute_replans_solved_warm_reach_the_cold_optimum() {
    let out = dir("replans");
    let opts = DistrictOptions {
        steps: 96 + 3,
        ..DistrictOptions::new(12, &out)
    };
    generate(&opts).unwrap();
    let data = Scenario::load(out.join("scenario.toml")).unwrap();
    let solve = SolveOptions::default();
    let mut warm = engine::WarmStart::cold();
    let mut plan = engine::optimize_warm(&data.slice(0..96), &solve, &mut warm).unwrap();
    let mut warm_runs = 0;
    for cycle in 1..=3 {
        let sc = engine::warm::next_cycle(&data, cycle - 1, 96, plan.schedule.as_ref().unwrap(), 1);
        let cold = optimize(&sc, &solve).unwrap();
        let hot = engine::optimize_warm(&sc, &solve, &mut warm).unwrap();
        assert_eq!(
            (cold.status, hot.status),
            (Status::Optimal, Status::Optimal)
        );
        let (c, h) = (
            cold.figures.as_ref().unwrap().objective_yen,
            hot.figures.as_ref().unwrap().objective_yen,
        );
        assert!(
            (c - h).abs() <= 1e-6 * c.abs().max(1.0),
            "cycle {cycle}: warm {h} vs cold {c}"
        );
        warm_runs += hot.warm_starts;
        plan = hot;
    }
    assert!(warm_runs >= 3, "{warm_runs} warm HiGHS runs in 3 re-plans");
}

/// A time limit that strikes before HiGHS starts solving a large model (here while it
/// writes the model to a file, as `--highs-option write_model_to_file=true` asks) is a
/// time limit — no schedule, said so — not a solver error.
#[test]
fn a_time_limit_before_the_solve_starts_is_no_solution_not_an_error() {
    let out = dir("time-limit");
    generate(&DistrictOptions::new(100, &out)).unwrap();
    let sc = Scenario::load(out.join("scenario.toml")).unwrap();
    let opts = SolveOptions {
        time_limit_s: Some(0.2),
        highs_options: vec![
            ("write_model_to_file".into(), "true".into()),
            (
                "write_model_file".into(),
                out.join("model.mps").display().to_string(),
            ),
        ],
        ..SolveOptions::default()
    };
    let o = optimize(&sc, &opts).unwrap_or_else(|e| panic!("an engine error: {e}"));
    assert_eq!(o.status, Status::NoSolution);
    assert_eq!(o.message.as_deref(), Some("no solution within time limit"));
}

/// A one-off LP this large (25 buildings × 288 steps, over 50,000 columns) has its arrays
/// released while HiGHS solves, and the exactness check reads the LP back from HiGHS: the
/// optimum is found with no HiGHS run beyond the two of each round (a failed check would
/// solve again), and the schedule passes the physics check.
#[test]
fn a_large_lp_checked_against_the_lp_highs_holds_is_solved_once_per_run() {
    let out = dir("large-lp");
    generate(&DistrictOptions::new(25, &out)).unwrap();
    let sc = Scenario::load(out.join("scenario.toml")).unwrap();
    let o = optimize(&sc, &SolveOptions::default()).unwrap();
    assert_eq!(o.status, Status::Optimal, "{:?}", o.message);
    let relaxed = engine::model::Integrality::relaxed(&sc);
    let columns = engine::model::build(&sc, &relaxed, engine::model::Goal::Cost).n_cols;
    assert!(columns >= 50_000, "{columns} columns");
    assert_eq!(o.solver_runs, 2 * o.rounds.len());
}
