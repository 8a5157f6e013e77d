//! `aems resilience`'s outputs: the islanded plan's figures and the sweep's worst and
//! typical starts as text, the sweep's HTML report (served share against outage start, as
//! an SVG chart, and the worst and typical starts) and the table of every start (CSV).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

use engine::resilience::{Assessment, Sweep, SweepPoint};
use engine::ScenarioFile;

use crate::report::{err, escape, register_font, PALETTE};
use crate::yen;

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

/// A start's figures, formatted once for the text and the report: start, served share,
/// lifeline share, lifeline hours carried, largest load over the normal peak, unserved kWh.
fn start_row(p: &SweepPoint) -> [String; 6] {
    [
        p.from.to_rfc3339(),
        pct(p.served_share),
        pct(p.lifeline_share),
        format!("{:.1}", p.lifeline_hours),
        pct(p.carried_share_of_peak),
        format!("{:.0}", p.unserved_kwh),
    ]
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
            let cells: String = std::iter::once(name.to_string())
                .chain(start_row(p))
                .map(|c| format!("<td>{}</td>", escape(&c)))
                .collect();
            let _ = writeln!(h, "<tr>{cells}</tr>");
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

/// The islanded plan's figures as text (what `aems resilience` prints).
pub fn assessment_text(a: &Assessment) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Outage     {} → {} ({} h), connections lost: {}",
        a.from.to_rfc3339(),
        a.until.to_rfc3339(),
        a.hours,
        a.grids_out.join(", ")
    );
    let _ = writeln!(
        out,
        "Status     {}  (solved in {:.2} s)",
        a.status, a.solve_seconds
    );
    if a.objective_yen.is_none() {
        return out;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "District   served {} of the demand; the largest load carried is {} of the normal peak",
        pct(a.served_share),
        pct(a.carried_share_of_peak)
    );
    let _ = writeln!(
        out,
        "  {:<10} {:>12} {:>12} {:>8} {:>10}  first shed",
        "class", "demand kWh", "served kWh", "served", "carried h"
    );
    for c in &a.district {
        let _ = writeln!(
            out,
            "  {:<10} {:>12.1} {:>12.1} {:>8} {:>10.1}  {}",
            c.class,
            c.demand_kwh,
            c.served_kwh,
            pct(c.served_share),
            c.carried_hours,
            c.first_shed.map_or("never".to_string(), |t| t.to_rfc3339())
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Buildings");
    let mut told: Vec<&str> = Vec::new();
    for n in &a.nodes {
        if n.classes.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "  {}: normal peak {:.0} kW, largest load carried {:.0} kW ({})",
            n.id,
            n.normal_peak_kw,
            n.carried_peak_kw,
            pct(n.carried_share_of_peak)
        );
        for c in &n.classes {
            let _ = writeln!(
                out,
                "    {:<10} carried {:>5.1} h of {}, served {} ({:.1} of {:.1} kWh){}",
                c.class,
                c.carried_hours,
                a.hours,
                pct(c.served_share),
                c.served_kwh,
                c.demand_kwh,
                c.first_shed.map_or(String::new(), |t| format!(
                    ", first shed {}",
                    t.to_rfc3339()
                ))
            );
        }
        if let Some(r) = &n.first_shed_reason {
            // Buildings of one island share one reason: say it once.
            if told.contains(&r.as_str()) {
                let _ = writeln!(out, "    why: as above (the same island)");
            } else {
                let _ = writeln!(out, "    why: {r}");
                told.push(r);
            }
        }
    }
    let _ = writeln!(out);
    for f in &a.fuel {
        let _ = writeln!(
            out,
            "Generator  {}: ran {:.1} h, burnt {:.0} kWh of fuel{}",
            f.id,
            f.running_hours,
            f.burnt_kwh.max(0.0),
            f.left_kwh
                .map_or(" (no fuel stock declared)".to_string(), |l| format!(
                    ", {:.0} kWh left",
                    l.max(0.0)
                ))
        );
    }
    for b in &a.batteries {
        let _ = writeln!(
            out,
            "Battery    {}: {:.0} kWh at the start, {:.0} kWh at the end",
            b.id, b.start_kwh, b.end_kwh
        );
    }
    if let Some(v) = a.objective_yen {
        let _ = writeln!(
            out,
            "Objective  {} yen (values of lost load included)",
            yen(v)
        );
    }
    let _ = writeln!(
        out,
        "Known in advance: {}",
        a.perfect_information.join("; ")
    );
    out
}

/// The sweep's worst and typical starts as text (what `aems resilience --sweep-starts`
/// prints).
pub fn sweep_text(sw: &Sweep) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Outages of {} h from {} starts ({} to {})",
        sw.hours,
        sw.points.len(),
        sw.points
            .first()
            .map_or(String::new(), |p| p.from.to_rfc3339()),
        sw.points
            .last()
            .map_or(String::new(), |p| p.from.to_rfc3339())
    );
    let mut line = |name: &str, p: &SweepPoint| {
        let [from, served, lifeline, hours, carried, unserved] = start_row(p);
        let _ = writeln!(
            out,
            "  {name:<8} {from}: served {served} of the demand, lifeline {lifeline} (carried {hours} h), largest load carried {carried} of the normal peak, {unserved} kWh unserved"
        );
    };
    if let Some(w) = &sw.worst {
        line("worst", w);
    }
    if let Some(t) = &sw.typical {
        line("typical", t);
    }
    let failed = sw
        .points
        .iter()
        .filter(|p| !p.served_share.is_finite())
        .count();
    if failed > 0 {
        let _ = writeln!(out, "  {failed} start(s) without a plan (see --json)");
    }
    let full = sw
        .points
        .iter()
        .filter(|p| p.lifeline_share >= 1.0 - 1e-9)
        .count();
    let _ = writeln!(
        out,
        "  lifeline loads carried for all {} h from {full} of {} starts",
        sw.hours,
        sw.points.len()
    );
    out
}
