//! A district of independent parts (each home its own meter) simulated part by part side
//! by side (`Setup::parallel_parts`) makes exactly the run of each home simulated alone,
//! and the whole district's run up to the choice among a plan's equal optima.

use std::fmt::Write as _;
use std::path::Path;

use control::simulation::{simulate, ForecastChoice, Outcome, Run, RunOptions, Setup};
use engine::ScenarioFile;

/// Homes `homes` (of 1…3), each with its own meter, PV and battery (1 and 3 with power
/// curves), ten days hourly: load and PV of different shapes, one price and carbon series.
fn write_homes(dir: &Path, homes: &[u32]) {
    let mut toml = String::from(
        "[scenario]\nname = \"three homes\"\ntimezone = \"Asia/Tokyo\"\n\
         start = \"2025-07-01T00:00:00+09:00\"\nstep_minutes = 60\nsteps = 240\n\
         series = \"series.csv\"\n\n[simulation]\nhorizon_hours = 24\nholidays = \"none\"\n\n\
         [objective]\ncarbon_price_yen_per_kg = 10.0\n",
    );
    for &h in homes {
        let curve = if h == 2 {
            ""
        } else {
            "power_curve = [[0.0, 1.0], [0.8, 1.0], [1.0, 0.2]]\n"
        };
        write!(
            toml,
            "\n[[node]]\nid = \"h{h}\"\nload_kw = \"load{h}\"\n\n[[grid]]\nid = \"h{h}_meter\"\n\
             node = \"h{h}\"\nimport_price_yen_per_kwh = \"price\"\nexport_price_yen_per_kwh = 0.0\n\
             carbon_intensity_kg_per_kwh = \"co2\"\n\n[[pv]]\nid = \"h{h}_pv\"\nnode = \"h{h}\"\n\
             available_kw = \"pv{h}\"\n\n[[battery]]\nid = \"h{h}_battery\"\nnode = \"h{h}\"\n\
             capacity_kwh = {cap}\nmin_kwh = 0.0\ncharge_kw = 3\ndischarge_kw = 3\n\
             initial_kwh = 1.0\n{curve}",
            cap = 4.0 + f64::from(h),
        )
        .unwrap();
    }
    std::fs::write(dir.join("scenario.toml"), toml).unwrap();
    let mut csv = String::from("time,load1,pv1,load2,pv2,load3,pv3,price,co2\n");
    for t in 0..240usize {
        let hour = t % 24;
        let day = (t / 24) as f64;
        let sun = ((hour as f64 - 6.0) / 12.0 * std::f64::consts::PI)
            .sin()
            .max(0.0);
        let evening = if (17..22).contains(&hour) { 1.0 } else { 0.0 };
        let wobble = ((t * 7919) % 13) as f64 / 13.0;
        write!(csv, "2025-07-{:02}T{:02}:00:00+09:00", 1 + t / 24, hour).unwrap();
        for h in 1..=3 {
            let hf = h as f64;
            let load = 0.6 + 0.3 * hf * evening + 0.2 * wobble + 0.05 * day;
            let pv = (2.0 + hf) * sun * (0.7 + 0.3 * ((day + hf) % 3.0) / 2.0);
            write!(csv, ",{load:.4},{pv:.4}").unwrap();
        }
        let price = if (13..22).contains(&hour) { 38.0 } else { 21.0 };
        let co2 = 0.45 - 0.15 * sun;
        writeln!(csv, ",{price},{co2:.4}").unwrap();
    }
    std::fs::write(dir.join("series.csv"), csv).unwrap();
}

fn run(dir: &Path, run: Run, parallel_parts: bool) -> Outcome {
    let file = ScenarioFile::read(&dir.join("scenario.toml")).unwrap();
    let mut setup = Setup::new(file, &RunOptions::default()).unwrap();
    setup.parallel_parts = parallel_parts;
    simulate(&setup, run, |_, _| {}).unwrap()
}

#[test]
fn independent_homes_side_by_side_run_as_each_alone() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all");
    std::fs::create_dir_all(&all).unwrap();
    write_homes(&all, &[1, 2, 3]);
    for r in [
        Run::Mpc(ForecastChoice::Perfect),
        Run::Mpc(ForecastChoice::Naive),
        Run::None,
    ] {
        let label = r.label();
        let parts = run(&all, r, true);
        let whole = run(&all, r, false);
        let mut whole_cost = 0.0;
        for h in 1..=3u32 {
            let alone_dir = dir.path().join(format!("h{h}"));
            std::fs::create_dir_all(&alone_dir).unwrap();
            write_homes(&alone_dir, &[h]);
            let alone = run(&alone_dir, r, false);
            let k = (h - 1) as usize;
            let (a, b) = (&alone.realized.batteries[0], &parts.realized.batteries[k]);
            assert_eq!(a, b, "{label}: home {h}'s battery, alone and side by side");
            assert_eq!(
                alone.kpis.buildings[0].1.cost_yen, parts.kpis.buildings[k].1.cost_yen,
                "{label}: home {h}'s cost"
            );
            assert_eq!(alone.stats.solves, parts.stats.solves, "{label}: plans");
            whole_cost += whole.kpis.buildings[k].1.cost_yen;
        }
        // Simulated whole, a plan with several optima may pick another one (this case's
        // flat night price has many); the runs stay within a percent.
        let p = parts.kpis.district.cost_yen;
        assert!(
            (p - whole_cost).abs() <= 0.01 * whole_cost,
            "{label}: {p} side by side, {whole_cost} whole"
        );
        assert_eq!(whole.stats.solves, parts.stats.solves, "{label}: plans");
        assert_eq!(
            whole.forecast_fallbacks, parts.forecast_fallbacks,
            "{label}"
        );
    }
}
