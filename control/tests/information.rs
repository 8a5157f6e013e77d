//! Information honesty: a decision for step t uses only what was measured by the start of
//! step t and forecasts issued before it.
//!
//! The reference district (a year at 30-minute steps: batteries, HVAC, a gas engine, lines,
//! a demand charge) gets forecast columns for its weather and HVAC inputs (issued a day
//! ahead, a noisy copy of what follows); then every series that is not a tariff or a
//! schedule — loads, PV, outdoor temperature, irradiance, heat gains, COP and every forecast
//! column issued from step t on — is scrambled from step t on. The closed loop (the same
//! controller and plant as `aems simulate`) runs from two hours before t to t on both
//! copies: the decisions for step t must be the same, for the MPC with naive and with model
//! forecasts, the rule and the baseline, the fast layer included. Prices, the grid's CO2
//! intensity and comfort bands are tariffs and schedules, taken as known in advance (and
//! said so); they are not scrambled. The MPC with perfect forecasts must see the change —
//! the test can fail.

use std::path::{Path, PathBuf};

use control::simulation::{ForecastChoice, PerfectSeries, RunOptions, Setup};
use control::{plant, Controller, Decisions, Plant, Policy};
use engine::ScenarioFile;
use forecast::demand::ModelKind;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Columns that are tariffs and schedules (known in advance), never scrambled.
fn known_in_advance(name: &str) -> bool {
    name == "time"
        || name == "price"
        || name == "co2"
        || name.starts_with("tlo_")
        || name.starts_with("thi_")
}

/// Writes the reference district with day-ahead forecast columns into `dir`; with
/// `scramble_from`, every uncertain value from that row on is replaced.
fn write_district(dir: &Path, scramble_from: Option<usize>) -> PathBuf {
    let src = repo().join("scenarios/kashiwanoha");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(src.join("scenario.toml"), dir.join("scenario.toml")).unwrap();
    let text = std::fs::read_to_string(src.join("series.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    let times: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let cols = &header[1..];
    // Day-ahead forecasts of the weather and HVAC inputs: issued at row i for row i + 48.
    let forecast_of: Vec<usize> = cols
        .iter()
        .enumerate()
        .filter(|(_, c)| *c == "t_out" || *c == "ghi_w_m2" || *c == "cop" || c.starts_with("gain_"))
        .map(|(i, _)| i)
        .collect();
    let lead = 48;
    let mut out = String::from("time");
    for c in cols {
        out.push(',');
        out.push_str(c);
    }
    for &i in &forecast_of {
        out.push_str(&format!(",24h_forecast_{}", cols[i]));
    }
    out.push('\n');
    for (r, row) in rows.iter().enumerate() {
        let scrambled = scramble_from.is_some_and(|s| r >= s);
        out.push_str(times[r]);
        for (i, v) in row.iter().enumerate() {
            let v = if scrambled && !known_in_advance(&cols[i]) {
                // Plausible but different: loads and PV up and shifted, temperatures off.
                (v * 1.37 + 3.1 + (r % 7) as f64).abs()
            } else {
                *v
            };
            out.push_str(&format!(",{v}"));
        }
        for &i in &forecast_of {
            // What the forecast issued at r says of r + lead (noisy); scrambled when issued
            // from the scrambled row on.
            let target = (r + lead).min(rows.len() - 1);
            let noise = 0.03 * ((r * 7919 % 97) as f64 / 97.0 - 0.5);
            let mut v = rows[target][i] * (1.0 + noise);
            if scrambled {
                v = (v * 0.61 + 2.0).abs();
            }
            out.push_str(&format!(
                ",{}",
                v.max(if cols[i] == "cop" { 0.5 } else { 0.0 })
            ));
        }
        out.push('\n');
    }
    std::fs::write(dir.join("series.csv"), out).unwrap();
    dir.join("scenario.toml")
}

/// The decisions of the closed loop at row `t`, run from row `from`, with `policy` and
/// (for the MPC) `choice`; and whether the fast layer acted then.
fn decisions_at(
    path: &Path,
    from: usize,
    t: usize,
    policy: Policy,
    choice: ForecastChoice,
) -> (Decisions, bool) {
    let (d, g, _) = decisions_with(path, from, t, policy, choice, 0);
    (d, g)
}

/// As [`decisions_at`], with `scenarios` forecast scenarios per plan (the scenario MPC);
/// also the number of plans made over scenarios.
fn decisions_with(
    path: &Path,
    from: usize,
    t: usize,
    policy: Policy,
    choice: ForecastChoice,
    scenarios: usize,
) -> (Decisions, bool, usize) {
    let file = ScenarioFile::read(path).unwrap();
    let time = |r: usize| file.table().times()[r].to_rfc3339();
    let opts = RunOptions {
        from: Some(time(from)),
        to: Some(time(t + 1)),
        horizon_hours: Some(12.0),
        forecast_scenarios: scenarios,
        ..RunOptions::default()
    };
    let setup = Setup::new(file, &opts).unwrap();
    let forecaster = setup.forecaster(choice).unwrap();
    let actual = setup.data.slice(setup.first_row..setup.data.steps);
    let mut p = Plant::new(&actual, setup.steps, setup.batteries_follow_meter);
    let mut ctl = Controller::new(
        setup.data.clone(),
        setup.settings(policy),
        forecaster,
        plant::every_device(&setup.data),
        Default::default(),
    );
    for k in 0..setup.steps {
        let c = ctl.cycle(&p.measure());
        if k + 1 == setup.steps {
            return (c.decisions, c.guarded, ctl.stats.scenario_plans);
        }
        p.apply(&c.decisions).unwrap();
    }
    unreachable!()
}

#[test]
fn a_decision_does_not_see_the_future() {
    let dir = tempfile::tempdir().unwrap();
    // 10 July, 14:00: summer afternoon, 100 days of history for the models.
    let t = 100 * 48 + 28;
    let from = t - 4;
    let plain = write_district(&dir.path().join("plain"), None);
    let scrambled = write_district(&dir.path().join("scrambled"), Some(t));
    let runs = [
        (Policy::Mpc, ForecastChoice::Naive, "mpc/naive"),
        (
            Policy::Mpc,
            ForecastChoice::Model(ModelKind::Ridge),
            "mpc/model",
        ),
        (Policy::Rule, ForecastChoice::Perfect, "rule"),
        (Policy::None, ForecastChoice::Perfect, "baseline"),
    ];
    for (policy, choice, name) in runs {
        let (a, guard_a) = decisions_at(&plain, from, t, policy, choice);
        let (b, guard_b) = decisions_at(&scrambled, from, t, policy, choice);
        assert!(!a.commands.is_empty(), "{name}");
        assert_eq!(
            a, b,
            "{name}: the decision for step {t} changed with the future"
        );
        assert_eq!(
            guard_a, guard_b,
            "{name}: the fast layer changed with the future"
        );
    }
    // The scenario MPC: its error analogs are the forecasts of the days before, measured
    // against what came true before t only. Two days of history first, so that the last
    // plans are made over scenarios.
    let early = t - 2 * 48 - 2;
    let model = ForecastChoice::Model(ModelKind::Ridge);
    let (a, _, fans) = decisions_with(&plain, early, t, Policy::Mpc, model, 3);
    let (b, _, _) = decisions_with(&scrambled, early, t, Policy::Mpc, model, 3);
    assert!(fans > 0, "no plan was made over scenarios");
    assert_eq!(
        a, b,
        "mpc/model scenario: the decision for step {t} changed with the future"
    );
    // The test can fail: with perfect forecasts the same scrambling changes the plan.
    let (a, _) = decisions_at(&plain, from, t, Policy::Mpc, ForecastChoice::Perfect);
    let (b, _) = decisions_at(&scrambled, from, t, Policy::Mpc, ForecastChoice::Perfect);
    assert_ne!(a, b, "perfect foresight must see the scrambled future");
}

/// With forecast columns for every HVAC input, the model forecaster takes nothing from the
/// actual future; without them it says what it takes.
#[test]
fn what_a_run_takes_from_the_future_is_declared() {
    let dir = tempfile::tempdir().unwrap();
    let with = write_district(&dir.path().join("with"), None);
    let info = |path: &Path, choice: ForecastChoice| {
        let setup = Setup::new(ScenarioFile::read(path).unwrap(), &RunOptions::default()).unwrap();
        let ctl = Controller::new(
            setup.data.clone(),
            setup.settings(Policy::Mpc),
            setup.forecaster(choice).unwrap(),
            plant::every_device(&setup.data),
            Default::default(),
        );
        ctl.information()
    };
    let model = ForecastChoice::Model(ModelKind::Ridge);
    let i = info(&with, model);
    assert!(i.perfect.is_empty(), "{:?}", i.perfect);
    assert!(i
        .known_in_advance
        .iter()
        .any(|s| s == "import_price_yen_per_kwh"));
    let bare = repo().join("scenarios/kashiwanoha/scenario.toml");
    let i = info(&bare, model);
    for s in [
        "outdoor_temp_c",
        "heat_gain_kw",
        "cop",
        "weather inputs of the demand models",
    ] {
        assert!(
            i.perfect.iter().any(|p| p == s),
            "{s} not in {:?}",
            i.perfect
        );
    }
    let i = info(&bare, ForecastChoice::Perfect);
    assert!(i.perfect.iter().any(|p| p == "load_kw"), "{:?}", i.perfect);
}

/// `--perfect`: a what-if takes from the actual future exactly the series it names — the
/// loads, the loads of the step being decided only, or the PV — forecasts the rest as
/// usual, and declares what it took; it is refused where nothing is forecast.
#[test]
fn a_what_if_takes_only_the_series_it_names_from_the_future() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_district(&dir.path().join("with"), None);
    let (row, rows) = (100 * 48 + 28, 24);
    let model = ForecastChoice::Model(ModelKind::Ridge);
    let window = |perfect: PerfectSeries| {
        let opts = RunOptions {
            perfect,
            ..RunOptions::default()
        };
        let setup = Setup::new(ScenarioFile::read(&path).unwrap(), &opts).unwrap();
        let mut f = setup.forecaster(model).unwrap();
        let w = f.forecast(&setup.data, row, rows).unwrap();
        (w, f.perfect_information(&setup.data), setup)
    };
    let (plain, info, setup) = window(PerfectSeries::default());
    assert!(info.is_empty(), "{info:?}");
    let actual = setup.data.slice(row..row + rows);
    let loads = |s: &engine::Scenario| -> Vec<Vec<f64>> {
        s.nodes.iter().map(|n| n.load_kw.clone()).collect()
    };
    let pv = |s: &engine::Scenario| -> Vec<Vec<f64>> {
        s.pvs.iter().map(|p| p.available_kw.clone()).collect()
    };
    assert!(!setup.data.pvs.is_empty());
    assert_ne!(
        loads(&plain),
        loads(&actual),
        "the model forecast is the actual load"
    );
    assert_ne!(
        pv(&plain),
        pv(&actual),
        "the model forecast is the actual PV"
    );

    let (w, info, _) = window(PerfectSeries {
        load: true,
        ..PerfectSeries::default()
    });
    assert_eq!(loads(&w), loads(&actual));
    assert_eq!(pv(&w), pv(&plain));
    assert_eq!(info, ["load_kw (--perfect load)"]);

    let (w, info, _) = window(PerfectSeries {
        pv: true,
        ..PerfectSeries::default()
    });
    assert_eq!(pv(&w), pv(&actual));
    assert_eq!(loads(&w), loads(&plain));
    assert_eq!(info, ["pv_available_kw (--perfect pv)"]);

    let (w, info, _) = window(PerfectSeries {
        load_first_step: true,
        ..PerfectSeries::default()
    });
    let mut checked = 0;
    for ((w, p), a) in loads(&w).iter().zip(loads(&plain)).zip(loads(&actual)) {
        if a.is_empty() {
            continue;
        }
        assert_eq!(w[0], a[0]);
        assert_eq!(w[1..], p[1..]);
        checked += 1;
    }
    assert!(checked > 0);
    assert_eq!(pv(&w), pv(&plain));
    assert_eq!(
        info,
        ["load_kw of the step being decided (--perfect load-first-step)"]
    );

    let opts = RunOptions {
        perfect: PerfectSeries {
            pv: true,
            ..PerfectSeries::default()
        },
        ..RunOptions::default()
    };
    let setup = Setup::new(ScenarioFile::read(&path).unwrap(), &opts).unwrap();
    let err = setup
        .forecaster(ForecastChoice::Perfect)
        .err()
        .expect("--perfect with perfect forecasts is refused");
    assert!(err.to_string().contains("--perfect"), "{err}");
}
