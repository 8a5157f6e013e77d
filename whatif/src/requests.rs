//! Requests to tenants and residents in a what-if's output: the requests issued (ranked,
//! with their messages in English and Japanese), the responses measured against the forecast
//! baseline, and the learned response rates — as JSON, as lines of the tables, and as a
//! section of the HTML report.

use std::fmt::Write;

use serde_json::{json, Value};

use control::simulation::{Outcome, Setup};

use crate::report::escape;

/// The `requests` object of `aems simulate --json` (`None` when the run asked for none).
pub fn json(setup: &Setup, out: &Outcome) -> Option<Value> {
    let r = setup.requests.as_ref()?;
    Some(json!({
        "response_rate_simulated": r.response_rate,
        "policy": r.policy,
        "issued": out.requests.len(),
        "requested_kwh": out.requests.iter().map(|q| q.kwh()).sum::<f64>(),
        "value_yen_if_met": out.requests.iter().map(|q| q.value_yen).sum::<f64>(),
        "learned_rates": out.learned_rates,
        "requests": out.requests,
        "responses": out.responses,
    }))
}

/// Lines for the tables: a summary, the learned rates and the first `show` messages.
pub fn lines(setup: &Setup, out: &Outcome, show: usize) -> Vec<String> {
    let Some(r) = setup.requests.as_ref() else {
        return Vec::new();
    };
    let measured: Vec<f64> = out.responses.iter().filter_map(|x| x.rate).collect();
    let mut v =
        vec![format!(
        "requests to tenants and residents: {} issued ({:.0} kWh asked, worth {:.0} yen if met), \
         simulated response rate {:.0} %; {} measured, mean measured rate {}",
        out.requests.len(),
        out.requests.iter().map(|q| q.kwh()).sum::<f64>(),
        out.requests.iter().map(|q| q.value_yen).sum::<f64>(),
        100.0 * r.response_rate,
        measured.len(),
        if measured.is_empty() {
            "-".to_string()
        } else {
            format!("{:.0} %", 100.0 * measured.iter().sum::<f64>() / measured.len() as f64)
        }
    )];
    if !out.learned_rates.is_empty() {
        v.push(format!(
            "  learned response rates: {}",
            out.learned_rates
                .iter()
                .map(|(b, x)| format!("{b} {:.0} %", 100.0 * x))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for q in out.requests.iter().take(show) {
        v.push(format!("  {}", q.message_en));
        v.push(format!("  {}", q.message_ja));
    }
    if out.requests.len() > show {
        v.push(format!(
            "  … {} more (all in --json and --report)",
            out.requests.len() - show
        ));
    }
    v
}

/// The report's section: every request with its messages and measured response.
pub fn html(setup: &Setup, out: &Outcome) -> String {
    let mut h = String::new();
    if setup.requests.is_none() {
        return h;
    }
    let _ = write!(
        h,
        "<h2>Requests to tenants and residents</h2>\n<p>{}</p>\n<table><tr><th>building</th>\
         <th>window</th><th>kW</th><th>value (yen)</th><th>yen/kWh</th><th>kg CO2</th>\
         <th>measured (kW)</th><th>message</th></tr>\n",
        escape(&lines(setup, out, 0).join(" "))
    );
    for q in &out.requests {
        let measured = out
            .responses
            .iter()
            .find(|r| r.request == q.id)
            .and_then(|r| r.response_kw)
            .map_or("-".to_string(), |x| format!("{x:.1}"));
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{} – {}</td><td>{:.1}</td><td>{:.0}</td><td>{:.1}</td>\
             <td>{:.1}</td><td>{}</td><td style=\"text-align:left\">{}<br>{}</td></tr>",
            escape(&q.building),
            q.from.format("%Y-%m-%d %H:%M"),
            q.until.format("%H:%M"),
            q.reduce_kw,
            q.value_yen,
            q.value_yen_per_kwh,
            q.co2_kg,
            measured,
            escape(&q.message_en),
            escape(&q.message_ja)
        );
    }
    h.push_str("</table>\n");
    h
}
