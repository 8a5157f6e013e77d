//! Property tests on random small districts: every schedule balances at every node and
//! step within 1e-6, keeps states within bounds, never charges and discharges a battery at
//! once, its parts sum to its objective — and the lazy strategy finds the same optimum as
//! the plain MILP.

use chrono::{Duration, TimeZone};
use engine::asset::{Battery, Generator, GridConnection, Hvac, HvacMode, Line, Node, PvArray};
use engine::check::{check, TOLERANCE};
use engine::{optimize, optimize_warm, Scenario, SolveOptions, Status};
use proptest::prelude::*;

fn series(steps: usize, lo: f64, hi: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(lo..hi, steps)
}

fn grid(steps: usize, nodes: usize) -> impl Strategy<Value = GridConnection> {
    (
        0..nodes,
        series(steps, 5.0, 40.0),
        series(steps, 0.0, 1.0),
        prop_oneof![Just(f64::INFINITY), 100.0..1500.0],
        prop_oneof![Just(0.0), 0.0..300.0],
        series(steps, 0.0, 0.6),
        prop_oneof![Just(0.0), 0.0..2000.0],
        prop_oneof![Just(0.0), 0.0..200.0],
    )
        .prop_map(|(node, imp, share, il, el, ci, dc, psf)| GridConnection {
            id: String::new(),
            node,
            export_price_yen_per_kwh: imp.iter().zip(&share).map(|(p, s)| p * s).collect(),
            import_price_yen_per_kwh: imp,
            import_limit_kw: il,
            export_limit_kw: el,
            carbon_intensity_kg_per_kwh: ci,
            demand_charge_yen_per_kw: dc,
            peak_so_far_kw: psf,
            interval_import_so_far_kwh: 0.0,
            import_cap_kw: Vec::new(),
        })
}

fn pv(steps: usize, nodes: usize) -> impl Strategy<Value = PvArray> {
    (0..nodes, series(steps, 0.0, 250.0), any::<bool>(), 0.0..5.0).prop_map(
        |(node, available_kw, curtailable, pen)| PvArray {
            id: String::new(),
            node,
            available_kw,
            curtailable,
            curtail_penalty_yen_per_kwh: pen,
        },
    )
}

fn battery(nodes: usize) -> impl Strategy<Value = Battery> {
    (
        0..nodes,
        50.0..600.0f64,
        (0.0..0.3f64, 0.6..1.0f64, 0.0..1.0f64, 0.0..1.0f64),
        (0.0..250.0f64, 0.0..250.0f64),
        (0.8..=1.0f64, 0.8..=1.0f64, 0.0..0.02f64, 0.0..5.0f64),
    )
        .prop_map(
            |(node, cap, (lo, hi, init, term), (ch, dis), (ce, de, sd, deg))| {
                let min_kwh = lo * cap;
                let max_kwh = hi * cap;
                let initial_kwh = min_kwh + init * (max_kwh - min_kwh);
                // Batteries on nodes 0 and 3 have CityLearn's part-load efficiency; the
                // model then takes its lowest one-way efficiency (as the loader does).
                let efficiency_curve = (node % 3 == 0).then(|| {
                    physics::EfficiencyCurve::new(&[
                        [0.0, 0.83],
                        [0.3, 0.83],
                        [0.7, 0.9],
                        [0.8, 0.9],
                        [1.0, 0.85],
                    ])
                    .expect("a curve")
                });
                let (ce, de) = match &efficiency_curve {
                    Some(c) => (c.lowest_one_way(), c.lowest_one_way()),
                    None => (ce, de),
                };
                Battery {
                    efficiency_curve,
                    id: String::new(),
                    node,
                    capacity_kwh: cap,
                    min_kwh,
                    max_kwh,
                    charge_kw: ch,
                    discharge_kw: dis,
                    charge_efficiency: ce,
                    discharge_efficiency: de,
                    self_discharge_per_hour: sd,
                    initial_kwh,
                    terminal_kwh: term * max_kwh,
                    degradation_yen_per_kwh: deg,
                    // Batteries on odd nodes derate near full charge (CityLearn's curve).
                    power_curve: (node % 2 == 1).then(|| {
                        physics::PowerCurve::new(&[[0.0, 1.0], [0.8, 1.0], [1.0, 0.2]])
                            .expect("a concave curve")
                    }),
                }
            },
        )
}

fn hvac(steps: usize, nodes: usize) -> impl Strategy<Value = Hvac> {
    (
        (
            0..nodes,
            any::<bool>(),
            prop_oneof![Just(0.0), 5.0..60.0f64],
            0.0..200.0f64,
        ),
        (
            series(steps, 2.0, 5.0),
            0.01..0.1f64,
            5.0..100.0f64,
            18.0..30.0f64,
        ),
        (
            series(steps, 5.0, 35.0),
            series(steps, 0.0, 60.0),
            series(steps, 19.0, 23.0),
        ),
        (series(steps, 1.0, 5.0), 0.0..2000.0f64),
    )
        .prop_map(
            |((node, heat, min_kw, extra), (cop, r, c, t0), (out, gain, low), (width, pen))| Hvac {
                id: String::new(),
                node,
                mode: if heat {
                    HvacMode::Heating
                } else {
                    HvacMode::Cooling
                },
                min_kw,
                max_kw: min_kw + extra,
                cop,
                r_k_per_kw: r,
                c_kwh_per_k: c,
                initial_temp_c: t0,
                outdoor_temp_c: out,
                heat_gain_kw: gain,
                comfort_high_c: low.iter().zip(&width).map(|(l, w)| l + w).collect(),
                comfort_low_c: low,
                comfort_penalty_yen_per_kh: pen,
            },
        )
}

fn generator(nodes: usize) -> impl Strategy<Value = Generator> {
    (
        0..nodes,
        prop_oneof![Just(0.0), 10.0..150.0f64],
        0.0..300.0f64,
        (
            0.3..0.5f64,
            5.0..15.0f64,
            prop_oneof![Just(0.0), 0.0..3000.0f64],
            any::<bool>(),
        ),
    )
        .prop_map(|(node, min_kw, extra, (eff, price, su, on))| Generator {
            id: String::new(),
            node,
            min_kw,
            max_kw: min_kw + extra,
            efficiency: eff,
            fuel_price_yen_per_kwh: price,
            fuel_carbon_kg_per_kwh: 0.202,
            startup_cost_yen: su,
            initially_on: on,
            emergency_only: false,
            black_start: false,
            fuel: None,
        })
}

fn district() -> impl Strategy<Value = Scenario> {
    (
        1usize..=3,
        prop_oneof![Just(15u32), Just(30), Just(60)],
        2usize..=8,
    )
        .prop_flat_map(|(nodes, step_minutes, steps)| {
            (
                Just((nodes, step_minutes, steps)),
                prop::collection::vec(series(steps, 0.0, 300.0), nodes),
                prop::collection::vec(grid(steps, nodes), 1..=2),
                prop::collection::vec(pv(steps, nodes), 0..=2),
                prop::collection::vec(battery(nodes), 0..=2),
                prop::collection::vec(hvac(steps, nodes), 0..=2),
                prop::collection::vec(generator(nodes), 0..=1),
                prop::collection::vec((any::<bool>(), 20.0..600.0f64, 0.0..0.1f64), nodes - 1),
                0.0..5.0f64,
            )
        })
        .prop_map(
            |(
                (_nodes, step_minutes, steps),
                loads,
                mut grids,
                mut pvs,
                mut batteries,
                mut hvacs,
                mut generators,
                links,
                carbon,
            )| {
                // With two connections, the second pays nothing for exports: no circular trade.
                if grids.len() == 2 {
                    grids[1].export_price_yen_per_kwh = vec![0.0; steps];
                }
                let nodes = loads
                    .into_iter()
                    .enumerate()
                    .map(|(i, load_kw)| Node {
                        id: format!("n{i}"),
                        load_kw,
                        classes: Default::default(),
                    })
                    .collect();
                // Node 0 is the hub; every other node hangs off it, in either direction.
                let lines = links
                    .into_iter()
                    .enumerate()
                    .map(|(i, (reverse, cap, loss))| {
                        let (from, to) = if reverse { (i + 1, 0) } else { (0, i + 1) };
                        Line {
                            id: format!("l{i}"),
                            from,
                            to,
                            capacity_kw: cap,
                            loss_fraction: loss,
                            emergency_only: false,
                        }
                    })
                    .collect();
                for (i, g) in grids.iter_mut().enumerate() {
                    g.id = format!("g{i}");
                }
                for (i, p) in pvs.iter_mut().enumerate() {
                    p.id = format!("pv{i}");
                }
                for (i, b) in batteries.iter_mut().enumerate() {
                    b.id = format!("b{i}");
                }
                for (i, h) in hvacs.iter_mut().enumerate() {
                    h.id = format!("h{i}");
                }
                for (i, j) in generators.iter_mut().enumerate() {
                    j.id = format!("j{i}");
                }
                let tz = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
                let start = tz.with_ymd_and_hms(2025, 8, 1, 0, 0, 0).unwrap();
                Scenario {
                    name: "random".into(),
                    timezone: chrono_tz::Asia::Tokyo,
                    start,
                    step_minutes,
                    steps,
                    times: (0..steps)
                        .map(|t| start + Duration::minutes(i64::from(step_minutes) * t as i64))
                        .collect(),
                    carbon_price_yen_per_kg: carbon,
                    nodes,
                    grids,
                    pvs,
                    batteries,
                    hvacs,
                    generators,
                    lines,
                    outages: Vec::new(),
                    first_step_shared: Default::default(),
                    path: "random.toml".into(),
                }
            },
        )
}

/// A random part-load efficiency curve: 2 to 8 points from share 0 to 1.
fn efficiency_curve() -> impl Strategy<Value = physics::EfficiencyCurve> {
    (
        prop::collection::vec(0.01..0.99f64, 0..6),
        prop::collection::vec(0.5..1.0f64, 8),
    )
        .prop_map(|(mut xs, ys)| {
            xs.sort_by(f64::total_cmp);
            xs.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
            let mut points = vec![[0.0, ys[0]]];
            points.extend(xs.iter().zip(&ys[1..]).map(|(x, y)| [*x, *y]));
            points.push([1.0, ys[7]]);
            physics::EfficiencyCurve::new(&points).expect("a valid curve")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The dispatch model's battery (the curve's lowest efficiency, both ways) never stores
    /// more, nor draws less, than the curve's law, at any power and state.
    #[test]
    fn the_efficiency_curve_in_the_model_never_promises_more_energy(
        curve in efficiency_curve(),
        e in 0.0..100.0f64,
        power in -50.0..50.0f64,
        dt in prop_oneof![Just(0.25), Just(0.5), Just(1.0)],
    ) {
        let law = physics::Battery {
            min_kwh: 0.0,
            max_kwh: 1e9,
            charge_kw: 50.0,
            discharge_kw: 50.0,
            charge_efficiency: curve.lowest_one_way(),
            discharge_efficiency: curve.lowest_one_way(),
            self_discharge_per_hour: 0.0,
            capacity_kwh: 100.0,
            power_curve: None,
            efficiency_curve: Some(curve),
        };
        let model = physics::Battery { efficiency_curve: None, ..law };
        let (ch, dis) = if power < 0.0 { (-power, 0.0) } else { (0.0, power) };
        let planned = model.next_energy_kwh(e, ch, dis, dt);
        let real = law.next_energy_kwh(e, ch, dis, dt);
        prop_assert!(planned <= real + 1e-12, "{planned} > {real} at {power} kW");
    }
}

/// Solved warm, after the same district with its series reversed (a re-plan's start), `sc`
/// reaches `direct`'s status and optimum.
fn warm_reaches(sc: &Scenario, direct: &engine::Outcome) -> Result<(), TestCaseError> {
    let mut before = sc.clone();
    before.map_series(|s| s.iter().rev().copied().collect());
    let mut start = engine::WarmStart::cold();
    optimize_warm(&before, &SolveOptions::default(), &mut start).expect("engine error");
    let warm = optimize_warm(sc, &SolveOptions::default(), &mut start).expect("engine error");
    prop_assert_eq!(warm.status, direct.status);
    if let (Some(w), Some(d)) = (&warm.figures, &direct.figures) {
        prop_assert!(
            (w.objective_yen - d.objective_yen).abs() <= 1e-6 * d.objective_yen.abs().max(1.0),
            "warm {} vs direct {}",
            w.objective_yen,
            d.objective_yen
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn schedules_obey_the_physics_and_lazy_is_exact(sc in district()) {
        let lazy = optimize(&sc, &SolveOptions::default()).expect("engine error");
        let direct = optimize(&sc, &SolveOptions { strategy: engine::Strategy::Direct, ..Default::default() })
            .expect("engine error");
        prop_assert_eq!(lazy.status, direct.status);
        warm_reaches(&sc, &direct)?;
        match lazy.status {
            Status::Optimal => {
                let s = lazy.schedule.as_ref().unwrap();
                let f = lazy.figures.as_ref().unwrap();
                // balance at every node and step
                for n in 0..sc.nodes.len() {
                    for t in 0..sc.steps {
                        let r = s.balance_residual_kw(&sc, n, t);
                        prop_assert!(r.abs() <= 1e-6, "node {} step {} residual {}", n, t, r);
                    }
                }
                // states within bounds, never charge and discharge at once
                for (k, ks) in sc.batteries.iter().zip(&s.batteries) {
                    for t in 1..=sc.steps {
                        prop_assert!(ks.energy_kwh[t] >= k.min_kwh - 1e-6);
                        prop_assert!(ks.energy_kwh[t] <= k.max_kwh + 1e-6);
                    }
                    prop_assert!(ks.energy_kwh[sc.steps] >= k.terminal_kwh - 1e-6);
                    for t in 0..sc.steps {
                        prop_assert!(ks.charge_kw[t].min(ks.discharge_kw[t]) <= 1e-6,
                            "battery {} charges and discharges at step {}", k.id, t);
                    }
                }
                // every other rule of the model
                prop_assert!(check(&sc, s, TOLERANCE).is_ok());
                // the plan never promises more stored energy than the battery's own law
                // (its efficiency curve) gives from the same state
                for (k, ks) in sc.batteries.iter().zip(&s.batteries) {
                    let law = k.physics();
                    for t in 0..sc.steps {
                        let real = law.next_energy_kwh(ks.energy_kwh[t], ks.charge_kw[t], ks.discharge_kw[t], sc.step_hours());
                        prop_assert!(ks.energy_kwh[t + 1] <= real + 1e-6,
                            "battery {} step {}: plan {} > law {}", k.id, t, ks.energy_kwh[t + 1], real);
                    }
                }
                // parts sum to the objective
                let sum = f.parts.total();
                prop_assert!((sum - f.objective_yen).abs() <= 1e-9 * f.objective_yen.abs().max(1.0));
                // the lazy strategy reaches the plain MILP's optimum
                let d = direct.figures.as_ref().unwrap().objective_yen;
                prop_assert!((f.objective_yen - d).abs() <= 1e-6 * d.abs().max(1.0),
                    "lazy {} vs direct {}", f.objective_yen, d);
            }
            Status::Infeasible => {
                match &lazy.diagnosis {
                    Some(d) => {
                        prop_assert!(sc.nodes.iter().any(|n| n.id == d.node));
                        prop_assert!(d.step < sc.steps);
                    }
                    None => {
                        // Not a balance failure: the message names the battery at fault.
                        let m = lazy.message.clone().unwrap_or_default();
                        prop_assert!(sc.batteries.iter().any(|k| m.contains(&format!("battery '{}'", k.id))), "{}", m);
                    }
                }
            }
            other => prop_assert!(false, "unexpected status {other}"),
        }
    }
}

/// Random load classes for every node of `sc`, an outage of every connection over random
/// steps, and random emergency features on the generators: the islanded model of
/// `docs/extensions.md` (*Resilience*).
fn islanded() -> impl Strategy<Value = Scenario> {
    (
        district(),
        prop::collection::vec((0.0..0.4f64, 0.0..0.3f64, 0.0..0.3f64), 4),
        (0usize..8, 1usize..8),
        prop::collection::vec(
            (
                any::<bool>(),
                any::<bool>(),
                prop_oneof![Just(None), (0.0..3000.0f64).prop_map(Some)],
            ),
            3,
        ),
    )
        .prop_map(|(mut sc, shares, (from, len), gens)| {
            use engine::asset::{ClassKind, ClassLoad, FuelStock, LoadClasses, Outage};
            for (n, node) in sc.nodes.iter_mut().enumerate() {
                let (l, c, s) = shares[n % shares.len()];
                let mut classes = LoadClasses::default();
                classes.0[ClassKind::Lifeline.index()].load = Some(ClassLoad::Share(l));
                classes.0[ClassKind::Critical.index()].load = Some(ClassLoad::Share(c));
                classes.0[ClassKind::Sheddable.index()].load = Some(ClassLoad::Share(s));
                node.classes = classes;
            }
            let from_t = from.min(sc.steps - 1);
            let until_t = (from_t + len).min(sc.steps);
            let step = Duration::minutes(i64::from(sc.step_minutes));
            sc.outages = (0..sc.grids.len())
                .map(|g| Outage {
                    id: None,
                    grid: g,
                    from: sc.start + step * from_t as i32,
                    until: sc.start + step * until_t as i32,
                })
                .collect();
            for k in &mut sc.batteries {
                k.terminal_kwh = k.min_kwh;
            }
            for (j, (emergency, black, stock)) in sc.generators.iter_mut().zip(gens) {
                j.emergency_only = emergency;
                j.black_start = black;
                j.fuel = stock.map(|s| FuelStock {
                    initial_kwh: s,
                    tank: physics::FuelTank {
                        capacity_kwh: s,
                        refuel_kwh_per_h: 0.0,
                    },
                });
            }
            sc
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Islanded districts: never infeasible at a step where the grid is out (load can go
    /// unserved, PV curtailed); no trade while a connection is out; within a node and step, a class is shed only when every class
    /// below it is shed whole (its value of lost load is higher, the physics the same);
    /// every rule of the model holds; the lazy strategy reaches the plain MILP's optimum.
    #[test]
    fn islanded_plans_shed_in_priority_order_and_lazy_is_exact(sc in islanded()) {
        let lazy = optimize(&sc, &SolveOptions::default()).expect("engine error");
        let direct = optimize(&sc, &SolveOptions { strategy: engine::Strategy::Direct, ..Default::default() })
            .expect("engine error");
        prop_assert_eq!(lazy.status, direct.status);
        warm_reaches(&sc, &direct)?;
        if lazy.status == Status::Infeasible {
            // The random district may fail where the grid is up (the spec's model: PV that
            // may not be curtailed with nowhere to go, and so on), never at a step where
            // it is out: there load can go unserved and any array curtailed.
            if let Some(d) = &lazy.diagnosis {
                prop_assert!(!sc.emergency_at(d.step), "infeasible at emergency step {}: {:?}", d.step, lazy.message);
            }
            return Ok(());
        }
        prop_assert_eq!(lazy.status, Status::Optimal, "{:?}", lazy.message);
        let s = lazy.schedule.as_ref().unwrap();
        prop_assert!(check(&sc, s, TOLERANCE).is_ok());
        for (g, gs) in s.grids.iter().enumerate() {
            for t in 0..sc.steps {
                if sc.grid_out(g, t) {
                    prop_assert!(gs.import_kw[t] <= 1e-9 && gs.export_kw[t] <= 1e-9);
                }
            }
        }
        for (n, node) in sc.nodes.iter().enumerate() {
            for t in 0..sc.steps {
                let shed = s.unserved_kw(n, t);
                let split = node.classes.split_kw(node.load_kw[t], t);
                for hi in 0..4 {
                    if shed[hi] > 1e-6 {
                        for lo in hi + 1..4 {
                            prop_assert!(shed[lo] >= split[lo] - 1e-6,
                                "node {} step {}: class {} shed ({}) while class {} is served ({} of {})",
                                node.id, t, hi, shed[hi], lo, split[lo] - shed[lo], split[lo]);
                        }
                    }
                }
            }
        }
        let (f, d) = (lazy.figures.as_ref().unwrap(), direct.figures.as_ref().unwrap());
        prop_assert!((f.parts.total() - f.objective_yen).abs() <= 1e-9 * f.objective_yen.abs().max(1.0));
        prop_assert!((f.objective_yen - d.objective_yen).abs() <= 1e-6 * d.objective_yen.abs().max(1.0),
            "lazy {} vs direct {}", f.objective_yen, d.objective_yen);
    }
}
