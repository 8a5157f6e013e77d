//! Outputs of a simulation beyond the tables: the time series as Parquet (polars), and an
//! HTML report with SVG charts (plotters) for an area manager to show the city.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use polars::prelude::{Column, DataFrame, ParquetWriter};

use engine::{Scenario, Schedule};

use control::simulation::{Outcome, Run, Setup};

/// Writes every column of [`Schedule::columns`] (and `time`) to a Parquet file.
pub fn write_parquet(path: &Path, sc: &Scenario, s: &Schedule) -> Result<()> {
    let columns = s.columns(sc);
    let steps = columns.first().map_or(0, |c| c.1.len());
    let mut cols: Vec<Column> = Vec::with_capacity(columns.len() + 1);
    let times: Vec<String> = sc.times[..steps].iter().map(|t| t.to_rfc3339()).collect();
    cols.push(Column::new("time".into(), times));
    for (name, values) in columns {
        cols.push(Column::new(name.as_str().into(), values));
    }
    let mut df = DataFrame::new(steps, cols).map_err(|e| anyhow!("time series table: {e}"))?;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    ParquetWriter::new(file)
        .finish(&mut df)
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// DejaVu Sans (Bitstream Vera licence, see fonts/LICENSE): plotters measures text with
/// it, so the report needs no system fonts.
const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// Registers the bundled font as plotters' `sans-serif` (once).
pub(crate) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

/// A series averaged per day (when the period is longer than two weeks) or per step.
struct Axis {
    /// x values: days since the start.
    x: Vec<f64>,
    /// Steps per point.
    per: usize,
    /// x label.
    label: String,
}

impl Axis {
    fn new(sc: &Scenario) -> Self {
        let per_day = (1440 / sc.step_minutes.max(1)) as usize;
        let long = sc.steps > 14 * per_day;
        let per = if long { per_day } else { 1 };
        let points = sc.steps.div_ceil(per);
        let x = (0..points)
            .map(|i| (i * per) as f64 / per_day as f64)
            .collect();
        let label = format!(
            "days from {}{}",
            sc.times[0].format("%Y-%m-%d %H:%M %:z"),
            if long { " (daily means)" } else { "" }
        );
        Self { x, per, label }
    }

    fn reduce(&self, v: &[f64]) -> Vec<f64> {
        v.chunks(self.per)
            .map(|c| c.iter().sum::<f64>() / c.len() as f64)
            .collect()
    }
}

pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(240, 180, 20),
    RGBColor(40, 160, 90),
    RGBColor(200, 80, 60),
    RGBColor(60, 110, 200),
    RGBColor(150, 90, 180),
    RGBColor(120, 120, 120),
    RGBColor(30, 170, 190),
    RGBColor(220, 120, 170),
];

pub(crate) fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e}")
}

/// A stacked area chart of `layers` (bottom first) with an optional `line` on top.
fn stacked(
    title: &str,
    axis: &Axis,
    layers: &[(String, Vec<f64>)],
    line: Option<(&str, Vec<f64>)>,
    unit: &str,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = axis.x.len();
        let mut cum = vec![vec![0.0; n]; layers.len() + 1];
        for (i, (_, v)) in layers.iter().enumerate() {
            for t in 0..n {
                cum[i + 1][t] = cum[i][t] + v[t].max(0.0);
            }
        }
        let top = cum[layers.len()]
            .iter()
            .chain(line.iter().flat_map(|l| l.1.iter()))
            .cloned()
            .fold(1e-9, f64::max)
            * 1.08;
        let x_max = axis.x.last().copied().unwrap_or(1.0).max(1e-9);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, 0.0..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(axis.label.as_str())
            .y_desc(unit)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for i in (0..layers.len()).rev() {
            let color = PALETTE[i % PALETTE.len()];
            let pts: Vec<(f64, f64)> = axis
                .x
                .iter()
                .copied()
                .zip(cum[i + 1].iter().copied())
                .collect();
            chart
                .draw_series(AreaSeries::new(pts, 0.0, color.mix(0.85)))
                .map_err(err)?
                .label(layers[i].0.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        if let Some((name, v)) = &line {
            let pts: Vec<(f64, f64)> = axis.x.iter().copied().zip(v.iter().copied()).collect();
            chart
                .draw_series(LineSeries::new(pts, BLACK.stroke_width(2)))
                .map_err(err)?
                .label(*name)
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 12, y)], BLACK.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Lines of `series` over the axis.
fn lines(title: &str, axis: &Axis, series: &[(String, Vec<f64>)], unit: &str) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let all = series.iter().flat_map(|s| s.1.iter()).cloned();
        let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo > hi {
            (0.0, 1.0)
        } else {
            (lo.min(0.0), hi.max(lo + 1e-9))
        };
        let pad = 0.06 * (hi - lo);
        let x_max = axis.x.last().copied().unwrap_or(1.0).max(1e-9);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, (lo - pad)..(hi + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(axis.label.as_str())
            .y_desc(unit)
            .draw()
            .map_err(err)?;
        for (i, (name, v)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let pts: Vec<(f64, f64)> = axis.x.iter().copied().zip(v.iter().copied()).collect();
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 12, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Grouped bars: for each category, one bar per run.
fn bars(
    title: &str,
    categories: &[String],
    runs: &[(String, Vec<f64>)],
    unit: &str,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let top = runs
            .iter()
            .flat_map(|r| r.1.iter())
            .cloned()
            .fold(1e-9, f64::max)
            * 1.15;
        let n = categories.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0.0..n as f64, 0.0..top)
            .map_err(err)?;
        let cats = categories.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(24))
            .x_label_formatter(&move |x| {
                let i = x.floor() as usize;
                cats.get(i).cloned().unwrap_or_default()
            })
            .y_desc(unit)
            .draw()
            .map_err(err)?;
        let width = 0.8 / runs.len().max(1) as f64;
        for (r, (name, values)) in runs.iter().enumerate() {
            let color = PALETTE[(r + 3) % PALETTE.len()];
            chart
                .draw_series(values.iter().enumerate().map(|(i, v)| {
                    let x0 = i as f64 + 0.1 + r as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.95, *v)], color.filled())
                }))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Power flows of node `n` (or of the whole district with `None`): supply layers and the
/// demand line.
fn flows(sc: &Scenario, s: &Schedule, node: Option<usize>) -> (Vec<(String, Vec<f64>)>, Vec<f64>) {
    let at = |n: usize| node.is_none_or(|m| m == n);
    let steps = sc.steps;
    let mut pv = vec![0.0; steps];
    let mut dis = vec![0.0; steps];
    let mut gen = vec![0.0; steps];
    let mut imp = vec![0.0; steps];
    let mut line_in = vec![0.0; steps];
    let mut demand = vec![0.0; steps];
    for (p, ps) in sc.pvs.iter().zip(&s.pvs) {
        if at(p.node) {
            (0..steps).for_each(|t| pv[t] += ps.used_kw[t]);
        }
    }
    for (k, ks) in sc.batteries.iter().zip(&s.batteries) {
        if at(k.node) {
            (0..steps).for_each(|t| {
                dis[t] += ks.discharge_kw[t];
                demand[t] += ks.charge_kw[t];
            });
        }
    }
    for (j, js) in sc.generators.iter().zip(&s.generators) {
        if at(j.node) {
            (0..steps).for_each(|t| gen[t] += js.power_kw[t]);
        }
    }
    for (g, gs) in sc.grids.iter().zip(&s.grids) {
        if at(g.node) {
            (0..steps).for_each(|t| {
                imp[t] += gs.import_kw[t];
                demand[t] += gs.export_kw[t];
            });
        }
    }
    for (h, hs) in sc.hvacs.iter().zip(&s.hvacs) {
        if at(h.node) {
            (0..steps).for_each(|t| demand[t] += hs.power_kw[t]);
        }
    }
    for (n, nd) in sc.nodes.iter().enumerate() {
        if at(n) {
            (0..steps).for_each(|t| demand[t] += nd.load_kw[t]);
        }
    }
    if let Some(n) = node {
        for (l, ls) in sc.lines.iter().zip(&s.lines) {
            let kept = 1.0 - l.loss_fraction;
            for t in 0..steps {
                if l.from == n {
                    line_in[t] += kept * ls.rev_kw[t];
                    demand[t] += ls.fwd_kw[t];
                }
                if l.to == n {
                    line_in[t] += kept * ls.fwd_kw[t];
                    demand[t] += ls.rev_kw[t];
                }
            }
        }
    } else {
        // District: line losses are demand.
        for (l, ls) in sc.lines.iter().zip(&s.lines) {
            (0..steps).for_each(|t| demand[t] += l.loss_fraction * (ls.fwd_kw[t] + ls.rev_kw[t]));
        }
    }
    let mut layers = vec![
        ("PV".to_string(), pv),
        ("battery discharge".to_string(), dis),
        ("generator".to_string(), gen),
        ("grid import".to_string(), imp),
    ];
    if node.is_some() && !sc.lines.is_empty() {
        layers.push(("private lines in".to_string(), line_in));
    }
    layers.retain(|(_, v)| v.iter().any(|x| *x > 1e-9));
    (layers, demand)
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes `DIR/index.html`: summary against the baseline and every chart, inline SVG.
pub fn write_report(
    dir: &Path,
    setup: &Setup,
    run: Run,
    out: &Outcome,
    baseline: Option<&Outcome>,
) -> Result<()> {
    register_font();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let sc = setup.period();
    let s = &out.realized;
    let axis = Axis::new(&sc);
    let mut charts: Vec<(String, String)> = Vec::new();

    let (layers, demand) = flows(&sc, s, None);
    let layers: Vec<(String, Vec<f64>)> = layers
        .into_iter()
        .map(|(n, v)| (n, axis.reduce(&v)))
        .collect();
    charts.push((
        "District supply and demand".into(),
        stacked(
            "District: supply (areas) and demand (line)",
            &axis,
            &layers,
            Some(("demand", axis.reduce(&demand))),
            "kW",
        )?,
    ));
    for (n, node) in sc.nodes.iter().enumerate() {
        let (layers, demand) = flows(&sc, s, Some(n));
        if layers.is_empty() && demand.iter().all(|v| v.abs() < 1e-9) {
            continue;
        }
        let layers: Vec<(String, Vec<f64>)> = layers
            .into_iter()
            .map(|(n, v)| (n, axis.reduce(&v)))
            .collect();
        charts.push((
            format!("{} supply and demand", node.id),
            stacked(
                &format!("{}: supply and demand", node.id),
                &axis,
                &layers,
                Some(("demand", axis.reduce(&demand))),
                "kW",
            )?,
        ));
    }
    if !sc.batteries.is_empty() {
        let series: Vec<(String, Vec<f64>)> = sc
            .batteries
            .iter()
            .zip(&s.batteries)
            .map(|(k, ks)| (k.id.clone(), axis.reduce(&ks.energy_kwh[1..=sc.steps])))
            .collect();
        charts.push((
            "Battery energy".into(),
            lines("Battery stored energy", &axis, &series, "kWh")?,
        ));
    }
    if !sc.lines.is_empty() {
        let series: Vec<(String, Vec<f64>)> = sc
            .lines
            .iter()
            .zip(&s.lines)
            .map(|(l, ls)| {
                let net: Vec<f64> = (0..sc.steps).map(|t| ls.fwd_kw[t] - ls.rev_kw[t]).collect();
                (
                    format!("{} ({} → {})", l.id, sc.nodes[l.from].id, sc.nodes[l.to].id),
                    axis.reduce(&net),
                )
            })
            .collect();
        charts.push((
            "Interchange".into(),
            lines(
                "Private-line flows (from → to positive)",
                &axis,
                &series,
                "kW",
            )?,
        ));
    }
    if let Some(g) = sc.grids.first() {
        charts.push((
            "Prices".into(),
            lines(
                &format!("Import price at {}", g.id),
                &axis,
                &[(
                    "import price".into(),
                    axis.reduce(&g.import_price_yen_per_kwh),
                )],
                "yen/kWh",
            )?,
        ));
        charts.push((
            "CO2 intensity".into(),
            lines(
                &format!("Grid CO2 intensity at {}", g.id),
                &axis,
                &[("CO2".into(), axis.reduce(&g.carbon_intensity_kg_per_kwh))],
                "kg/kWh",
            )?,
        ));
    }
    // Monthly billed peak, run against baseline (all connections together).
    let monthly = |o: &Outcome| -> (Vec<String>, Vec<f64>) {
        let mut months: Vec<String> = Vec::new();
        let mut kw: Vec<f64> = Vec::new();
        for (_, m, v) in &o.kpis.billed_kw {
            match months.iter().position(|x| x == m) {
                Some(i) => kw[i] += v,
                None => {
                    months.push(m.clone());
                    kw.push(*v);
                }
            }
        }
        (months, kw)
    };
    let (months, kw) = monthly(out);
    if !months.is_empty() {
        let mut runs = vec![(run.label(), kw)];
        if let Some(b) = baseline {
            runs.push(("baseline (none)".into(), monthly(b).1));
        }
        charts.push((
            "Peak".into(),
            bars("Billed 30-minute peak per month", &months, &runs, "kW")?,
        ));
    }
    if let Some(b) = baseline {
        let (d, bd) = (&out.kpis.district, &b.kpis.district);
        charts.push((
            "Cost".into(),
            bars(
                "Cost",
                &[
                    "energy".into(),
                    "demand".into(),
                    "fuel".into(),
                    "comfort".into(),
                    "carbon".into(),
                    "total".into(),
                ],
                &[
                    (
                        run.label(),
                        vec![
                            d.energy_yen,
                            d.demand_yen,
                            d.fuel_yen,
                            d.comfort_yen,
                            d.carbon_yen,
                            d.cost_yen,
                        ],
                    ),
                    (
                        "baseline (none)".into(),
                        vec![
                            bd.energy_yen,
                            bd.demand_yen,
                            bd.fuel_yen,
                            bd.comfort_yen,
                            bd.carbon_yen,
                            bd.cost_yen,
                        ],
                    ),
                ],
                "yen",
            )?,
        ));
        charts.push((
            "CO2".into(),
            bars(
                "CO2",
                &["district".into()],
                &[
                    (run.label(), vec![d.co2_kg]),
                    ("baseline (none)".into(), vec![bd.co2_kg]),
                ],
                "kg",
            )?,
        ));
    }

    let mut html = String::new();
    let title = format!("{} — {}", sc.name, run.label());
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:1000px}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}th:first-child,td:first-child{{text-align:left}}\
         figure{{margin:1.5em 0}}</style></head><body>\n<h1>{}</h1>\n<p>{} steps of {} min from {} to {}; \
         controller <b>{}</b>; baseline: batteries idle, HVAC on its thermostat, generators off.</p>\n<p>{}</p>\n",
        escape(&title),
        escape(&title),
        sc.steps,
        sc.step_minutes,
        sc.times[0].to_rfc3339(),
        sc.times[sc.steps - 1].to_rfc3339(),
        escape(&run.label()),
        escape(&crate::summary::information_lines(setup, out).join("; "))
    );
    let d = &out.kpis.district;
    let _ = write!(
        html,
        "<h2>District</h2>\n<table><tr><th>KPI</th><th>{}</th>",
        escape(&run.label())
    );
    if baseline.is_some() {
        html.push_str("<th>baseline</th><th>change</th>");
    }
    html.push_str("</tr>\n");
    let b = baseline.map(|b| &b.kpis.district);
    for (name, v, bv) in [
        ("cost (yen)", d.cost_yen, b.map(|b| b.cost_yen)),
        ("demand charge (yen)", d.demand_yen, b.map(|b| b.demand_yen)),
        ("peak 30-min (kW)", d.peak_kw, b.map(|b| b.peak_kw)),
        ("grid import (kWh)", d.import_kwh, b.map(|b| b.import_kwh)),
        ("grid export (kWh)", d.export_kwh, b.map(|b| b.export_kwh)),
        ("CO2 (kg)", d.co2_kg, b.map(|b| b.co2_kg)),
        (
            "PV self-consumption (%)",
            100.0 * d.pv_self_consumption,
            b.map(|b| 100.0 * b.pv_self_consumption),
        ),
        (
            "self-sufficiency (%)",
            100.0 * d.self_sufficiency,
            b.map(|b| 100.0 * b.self_sufficiency),
        ),
        (
            "comfort violation (K·h)",
            d.comfort_violation_kh,
            b.map(|b| b.comfort_violation_kh),
        ),
        (
            "battery cycles",
            d.battery_cycles,
            b.map(|b| b.battery_cycles),
        ),
        (
            "interchange (kWh)",
            d.interchange_kwh,
            b.map(|b| b.interchange_kwh),
        ),
    ] {
        let _ = write!(html, "<tr><td>{name}</td><td>{v:.1}</td>");
        if let Some(bv) = bv {
            let _ = write!(html, "<td>{bv:.1}</td><td>{:+.1}</td>", v - bv);
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    html.push_str(&crate::requests::html(setup, out));
    for (caption, svg) in &charts {
        let _ = write!(
            html,
            "<figure><figcaption>{}</figcaption>\n{}\n</figure>\n",
            escape(caption),
            svg
        );
    }
    html.push_str("</body></html>\n");
    let path = dir.join("index.html");
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
