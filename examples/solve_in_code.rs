//! Solve a district's dispatch built in code: two buildings, a battery and PV behind one
//! meter with a demand charge, over four hours — the scenario format's TOML and CSV as text,
//! parsed and validated like a file, then optimised.
//!
//! ```sh
//! cargo run --example solve_in_code
//! ```

use std::path::Path;

use engine::{optimize, ScenarioFile, SolveOptions, Status};

const TOML: &str = r#"
[scenario]
name = "two buildings in code"
timezone = "Asia/Tokyo"
start = "2025-08-04T12:00:00+09:00"
step_minutes = 30
steps = 8
series = "series.csv"

[[node]]
id = "office"
load_kw = "office_load"

[[node]]
id = "shop"
load_kw = "shop_load"

[[grid]]
id = "meter"
node = "office"
import_price_yen_per_kwh = "price"
demand_charge_yen_per_kw = 1800.0
peak_so_far_kw = 150.0

[[pv]]
id = "roof"
node = "shop"
available_kw = "pv"

[[battery]]
id = "bat"
node = "office"
capacity_kwh = 200.0
min_kwh = 20.0
charge_kw = 100.0
discharge_kw = 100.0
charge_efficiency = 0.95
discharge_efficiency = 0.95
initial_kwh = 150.0
terminal_kwh = 60.0

[[line]]
id = "feeder"
from = "office"
to = "shop"
capacity_kw = 300.0
loss_fraction = 0.01
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Eight half-hours of loads, PV and a time-of-use price.
    let mut csv = String::from("time,office_load,shop_load,pv,price\n");
    for k in 0..8 {
        let t = chrono::DateTime::parse_from_rfc3339("2025-08-04T12:00:00+09:00")?
            + chrono::Duration::minutes(30 * k);
        let office = 120.0 + 15.0 * (k as f64);
        let shop = 60.0 + 10.0 * ((k % 3) as f64);
        let pv = (80.0 - 10.0 * (k as f64)).max(0.0);
        let price = if (2..6).contains(&k) { 32.0 } else { 18.0 };
        csv.push_str(&format!(
            "{},{office},{shop},{pv},{price}\n",
            t.to_rfc3339()
        ));
    }
    let file = ScenarioFile::parse(Path::new("in-code.toml"), TOML, |_| {
        Ok((
            Path::new("series.csv").to_path_buf(),
            csv.clone().into_bytes(),
        ))
    })?;
    let sc = file.scenario()?;
    let out = optimize(&sc, &SolveOptions::default())?;
    assert_eq!(out.status, Status::Optimal);
    let (schedule, figures) = (out.schedule.unwrap(), out.figures.unwrap());
    println!(
        "objective {:.0} yen, peak {:.1} kW",
        figures.objective_yen, figures.peak_kw[0].1
    );
    for t in 0..sc.steps {
        let b = &schedule.batteries[0];
        println!(
            "{}  import {:7.1} kW  battery {:+7.1} kW  stored {:6.1} kWh",
            sc.times[t].format("%H:%M"),
            schedule.grids[0].import_kw[t],
            b.discharge_kw[t] - b.charge_kw[t],
            b.energy_kwh[t + 1]
        );
    }
    Ok(())
}
