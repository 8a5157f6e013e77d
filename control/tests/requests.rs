//! Requests to tenants and residents through the controller and the plant: what is asked,
//! when, and what is learned from the measured responses.

use std::path::Path;

use control::request::Policy;
use control::simulation::ForecastChoice;
use control::simulation::{simulate, Requests, Run, RunOptions, Setup};
use engine::ScenarioFile;

fn setup(rate: f64, policy: Policy) -> Setup {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/gate_square/scenario.toml");
    let mut s = Setup::new(ScenarioFile::read(&p).unwrap(), &RunOptions::default()).unwrap();
    s.requests = Some(Requests {
        policy,
        response_rate: rate,
    });
    s
}

/// With perfect forecasts the forecast baseline is the load the people would have drawn,
/// so the measured response is exactly what the simulated people delivered and the learned
/// rate converges to it; every request gives its notice, keeps to the longest window, is
/// ranked by value per kWh and is measured once its window has ended.
#[test]
fn the_learned_rate_is_the_delivered_share_when_the_baseline_is_exact() {
    let policy = Policy {
        learning_weight: 0.5,
        ..Policy::default()
    };
    let s = setup(0.3, policy.clone());
    let out = simulate(&s, Run::Mpc(ForecastChoice::Perfect), |_, _| {}).unwrap();
    assert!(out.requests.len() >= 4, "{} requests", out.requests.len());
    for r in &out.requests {
        assert!(r.from - r.issued >= chrono::Duration::minutes(60), "{r:?}");
        assert!(r.until - r.from <= chrono::Duration::hours(4), "{r:?}");
        assert!(r.reduce_kw >= policy.min_kw, "{r:?}");
        assert!(r.value_yen >= 0.0 && r.co2_kg >= 0.0, "{r:?}");
    }
    // Ranked within each issue: the value per kWh does not rise with the rank.
    for w in out.requests.windows(2) {
        if w[0].issued == w[1].issued {
            assert!(w[0].rank < w[1].rank);
            assert!(w[0].value_yen_per_kwh >= w[1].value_yen_per_kwh - 1e-9);
        }
    }
    let measured: Vec<f64> = out.responses.iter().filter_map(|x| x.rate).collect();
    assert!(!measured.is_empty());
    for x in &out.responses {
        let rate = x.rate.unwrap_or_else(|| panic!("not measured: {x:?}"));
        assert!((rate - 0.3).abs() < 0.02, "{x:?}");
    }
    for (b, r) in &out.learned_rates {
        assert!(*r > 0.0 && *r <= 0.3 + 1e-6, "{b}: {r}");
    }
}

/// People who never respond are learned as such: the rate stays at zero, and the plans
/// count on nothing.
#[test]
fn no_response_is_learned_as_none() {
    let s = setup(0.0, Policy::default());
    let out = simulate(&s, Run::Mpc(ForecastChoice::Perfect), |_, _| {}).unwrap();
    assert!(!out.requests.is_empty());
    for x in &out.responses {
        assert!(x.rate.unwrap().abs() < 0.02, "{x:?}");
    }
    assert!(
        out.learned_rates.values().all(|r| *r < 0.01),
        "{:?}",
        out.learned_rates
    );
}
