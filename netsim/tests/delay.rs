//! Propagation delay and jitter: each packet's delay after the bottleneck is within the
//! configured range around the propagation delay, averages to it, packets keep their order, and
//! the same seed gives the same times.

mod common;

use rtvc_netsim::{LinkConfig, Trace};

fn run(jitter_ms: f64, seed: u64) -> Vec<(f64, f64)> {
    let mut config = LinkConfig::new(Trace::good());
    config.delay_ms = 40.0;
    config.jitter_ms = jitter_ms;
    config.seed = seed;
    // One small packet every 20 ms: no queueing, so the delay is the path's.
    let (run, _) = common::drive(config, 20_000.0, 1.0, 200.0, |t, _| {
        if t % 20.0 == 0.0 { vec![200] } else { vec![] }
    });
    assert_eq!(run.arrivals.len(), 1000);
    assert!(run.arrivals.windows(2).all(|w| w[0].packet < w[1].packet));
    run.arrivals
        .iter()
        .map(|a| (a.departed_ms, a.arrived_ms))
        .collect()
}

#[test]
fn delay_and_jitter_stay_in_range_and_average_to_the_delay() {
    let times = run(10.0, 1);
    let delays: Vec<f64> = times.iter().map(|(d, a)| a - d).collect();
    for d in &delays {
        assert!((30.0 - 1e-3..=50.0 + 1e-3).contains(d), "{d}");
    }
    let mean = delays.iter().sum::<f64>() / delays.len() as f64;
    assert!((mean - 40.0).abs() < 1.0, "{mean}");
    let spread = delays.iter().fold(0.0f64, |m, d| m.max((d - 40.0).abs()));
    assert!(spread > 8.0, "jitter is used: {spread}");
    // Without jitter the delay is exact.
    for (d, a) in run(0.0, 1) {
        assert!((a - d - 40.0).abs() < 1e-6);
    }
}

#[test]
fn the_same_seed_gives_the_same_times() {
    assert_eq!(run(10.0, 5), run(10.0, 5));
    assert_ne!(run(10.0, 5), run(10.0, 6));
}
