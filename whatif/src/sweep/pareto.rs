//! The sweep's cost-vs-CO2 chart: every run as a point, the Pareto front (no other run is
//! both cheaper and cleaner) joined and labelled with its run numbers.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;

use super::Table;

/// The runs on the Pareto front of (CO2, cost), both minimised: indices into `points`,
/// by increasing CO2.
pub fn front(points: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        points[a]
            .0
            .total_cmp(&points[b].0)
            .then(points[a].1.total_cmp(&points[b].1))
    });
    let mut best_cost = f64::INFINITY;
    let mut out = Vec::new();
    for i in order {
        if points[i].1 < best_cost {
            best_cost = points[i].1;
            out.push(i);
        }
    }
    out
}

/// Front runs listed under the chart (the SVG comment lists them all).
const MAX_LISTED: usize = 20;

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing the Pareto chart: {e}")
}

/// Writes the chart of `table` as SVG to `path`.
pub fn write(path: &Path, table: &Table) -> Result<()> {
    crate::report::register_font();
    let ok: Vec<&super::Row> = table.rows.iter().filter(|r| r.error.is_none()).collect();
    let points: Vec<(f64, f64)> = ok
        .iter()
        .map(|r| (r.kpi("co2_kg") / 1000.0, r.kpi("cost_yen") / 1e6))
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    let on_front = front(&points);
    let mut svg = String::new();
    {
        let shown = on_front.len().min(MAX_LISTED);
        let list_h = 30 + 18 * shown as u32;
        let whole = SVGBackend::with_string(&mut svg, (900, 600 + list_h)).into_drawing_area();
        whole.fill(&WHITE).map_err(err)?;
        let (root, list) = whole.split_vertically(600);
        let (mut x0, mut x1, mut y0, mut y1) = points.iter().fold(
            (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
            |(a, b, c, d), p| (a.min(p.0), b.max(p.0), c.min(p.1), d.max(p.1)),
        );
        if points.is_empty() {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        let (px, py) = (
            0.08 * (x1 - x0).max(1e-6 * x1.abs().max(1.0)),
            0.08 * (y1 - y0).max(1e-6 * y1.abs().max(1.0)),
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Sweep: cost vs CO2 ({} runs, Pareto front in red)",
                    points.len()
                ),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d((x0 - px)..(x1 + px), (y0 - py)..(y1 + py))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("CO2 (t)")
            .y_desc("cost (million yen)")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(*p, 5, RGBColor(60, 110, 200).filled())),
            )
            .map_err(err)?
            .label("run")
            .legend(|(x, y)| Circle::new((x + 6, y), 5, RGBColor(60, 110, 200).filled()));
        let red = RGBColor(200, 50, 40);
        let line: Vec<(f64, f64)> = on_front.iter().map(|&i| points[i]).collect();
        chart
            .draw_series(LineSeries::new(line, red.stroke_width(2)))
            .map_err(err)?
            .label("Pareto front")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], red.stroke_width(2)));
        chart
            .draw_series(
                on_front
                    .iter()
                    .map(|&i| Circle::new(points[i], 6, red.filled())),
            )
            .map_err(err)?;
        chart
            .draw_series(on_front.iter().map(|&i| {
                Text::new(
                    format!("#{}", ok[i].run),
                    (points[i].0, points[i].1),
                    ("sans-serif", 14).into_font(),
                )
            }))
            .map_err(err)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        // The front's runs and their parameters under the chart.
        let style = ("sans-serif", 13).into_font();
        list.draw(&Text::new(
            "Pareto front (cheapest first):".to_string(),
            (20, 6),
            ("sans-serif", 14).into_font(),
        ))
        .map_err(err)?;
        let mut by_cost = on_front.clone();
        by_cost.sort_by(|&a, &b| points[a].1.total_cmp(&points[b].1));
        for (row, &i) in by_cost.iter().take(shown).enumerate() {
            let r = ok[i];
            let vals: Vec<String> = table
                .keys
                .iter()
                .zip(&r.values)
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            list.draw(&Text::new(
                format!(
                    "#{}: {:.3} M yen, {:.2} t CO2 — {}",
                    r.run,
                    points[i].1,
                    points[i].0,
                    vals.join(", ")
                ),
                (30, 26 + 18 * row as i32),
                style.clone(),
            ))
            .map_err(err)?;
        }
        whole.present().map_err(err)?;
    }
    // The run numbers' parameters, as the chart's description.
    let mut legend = String::from("<!-- Pareto front:");
    for &i in &on_front {
        let r = ok[i];
        let vals: Vec<String> = table
            .keys
            .iter()
            .zip(&r.values)
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        legend.push_str(&format!(
            "\n  #{}: {}",
            r.run,
            vals.join(", ").replace("--", "- -")
        ));
    }
    legend.push_str("\n-->\n");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, svg + &legend).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_keeps_only_undominated_points() {
        let p = [(1.0, 5.0), (2.0, 3.0), (2.5, 4.0), (3.0, 1.0), (1.0, 6.0)];
        assert_eq!(front(&p), vec![0, 1, 3]);
    }
}
