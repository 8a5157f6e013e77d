//! The resilience sweep's outputs: the HTML report (served share against outage start, as
//! an SVG chart, and the worst and typical starts) and the table of every start (CSV).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

use engine::resilience::{Sweep, SweepPoint};
use engine::ScenarioFile;

use crate::report::{err, escape, register_font, PALETTE};

/// A share read off a sweep point.
type Share = fn(&SweepPoint) -> f64;

/// Served share (all load, lifeline) against the outage's start, in days from the first.
fn chart(sw: &Sweep) -> Result<String> {
    register_font();
    let first = sw.points.first().map(|p| p.from);
    let day = |p: &SweepPoint| first.map_or(0.0, |f| (p.from - f).num_minutes() as f64 / 1440.0);
    let x_max = sw.points.last().map_or(1.0, day).max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Share of the demand served in a {} h outage, by its start",
                    sw.hours
                ),
                ("sans-serif", 18),
            )
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max, 0.0..105.0)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(format!(
                "days from {}",
                first.map_or(String::new(), |f| f.format("%Y-%m-%d %H:%M").to_string())
            ))
            .y_desc("served, %")
            .draw()
            .map_err(err)?;
        let series: [(&str, Share); 2] = [
            ("all load", |p| p.served_share),
            ("lifeline load", |p| p.lifeline_share),
        ];
        for (i, (name, get)) in series.into_iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let pts: Vec<(f64, f64)> = sw
                .points
                .iter()
                .filter(|p| get(p).is_finite())
                .map(|p| (day(p), 100.0 * get(p)))
                .collect();
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 12, y)], color.stroke_width(2))
                });
        }
        if let Some(w) = &sw.worst {
            let red = PALETTE[3];
            chart
                .draw_series(std::iter::once(Circle::new(
                    (day(w), 100.0 * w.served_share),
                    5,
                    red.filled(),
                )))
                .map_err(err)?
                .label("worst start")
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, red.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A share as a percentage with one decimal ("–" when there is none).
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1} %", 100.0 * x)
    } else {
        "–".to_string()
    }
}

/// Writes the sweep's HTML report to `path`: one page, the chart inline.
pub fn write_report(path: &Path, file: &ScenarioFile, sw: &Sweep) -> Result<()> {
    let mut h = String::new();
    let title = format!(
        "Resilience: {} h outages over {}",
        sw.hours,
        file.path().display()
    );
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}\
         table{{border-collapse:collapse}}td,th{{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}}\
         th:first-child,td:first-child{{text-align:left}}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );
    let _ = writeln!(
        h,
        "<p>{} outage starts, every grid connection named lost for {} h from each; the \
         buildings' loads and PV over each outage taken as known, the batteries at the \
         scenario's initial energy (or <code>--battery-soc</code>).</p>",
        sw.points.len(),
        sw.hours
    );
    h += &chart(sw)?;
    h += "\n<table><tr><th></th><th>start</th><th>served</th><th>lifeline served</th>\
          <th>lifeline carried, h</th><th>largest load / normal peak</th><th>unserved kWh</th></tr>\n";
    for (name, p) in [("worst", &sw.worst), ("typical", &sw.typical)] {
        if let Some(p) = p {
            let _ = writeln!(
                h,
                "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.0}</td></tr>",
                p.from.to_rfc3339(),
                pct(p.served_share),
                pct(p.lifeline_share),
                p.lifeline_hours,
                pct(p.carried_share_of_peak),
                p.unserved_kwh
            );
        }
    }
    h += "</table>\n</body></html>\n";
    std::fs::write(path, h).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes one row per start to a CSV at `path`.
pub fn write_table(path: &Path, sw: &Sweep) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    w.write_record([
        "from",
        "status",
        "served_share",
        "lifeline_share",
        "lifeline_hours",
        "carried_share_of_peak",
        "unserved_kwh",
    ])?;
    for p in &sw.points {
        w.write_record([
            p.from.to_rfc3339(),
            p.status.clone(),
            format!("{:.6}", p.served_share),
            format!("{:.6}", p.lifeline_share),
            format!("{:.3}", p.lifeline_hours),
            format!("{:.6}", p.carried_share_of_peak),
            format!("{:.3}", p.unserved_kwh),
        ])?;
    }
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}
