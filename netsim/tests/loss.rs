//! Random and burst loss match their configured rates over 10^5 packets, bursts have their
//! configured length, and the same seed loses the same packets.

mod common;

use rtvc_netsim::{LinkConfig, Loss, Trace};

const PACKETS: usize = 100_000;

/// Sends `PACKETS` packets of 1000 bytes over a fast link (100 per ms) and returns, per packet
/// in send order, whether it arrived.
fn delivered(loss: Loss, seed: u64) -> Vec<bool> {
    let mut config = LinkConfig::new(Trace::constant("1 Gbps", 1e9));
    config.loss = loss;
    config.seed = seed;
    let (run, link) = common::drive(config, (PACKETS / 100) as f64, 1.0, 50.0, |_, _| {
        vec![1000; 100]
    });
    assert_eq!(run.sent.len(), PACKETS);
    assert!(run.refused.is_empty());
    let mut got = vec![false; PACKETS];
    for a in &run.arrivals {
        got[a.packet as usize] = true;
    }
    let s = link.stats();
    assert_eq!(s.lost + s.arrived, PACKETS as u64, "{s:?}");
    got
}

fn loss_rate(got: &[bool]) -> f64 {
    got.iter().filter(|&&g| !g).count() as f64 / got.len() as f64
}

/// Mean length of runs of consecutive losses.
fn mean_burst(got: &[bool]) -> f64 {
    let (mut bursts, mut lost, mut in_burst) = (0, 0, false);
    for &g in got {
        if !g {
            lost += 1;
            if !in_burst {
                bursts += 1;
            }
        }
        in_burst = !g;
    }
    lost as f64 / f64::from(bursts.max(1))
}

#[test]
fn no_loss_loses_nothing() {
    assert_eq!(loss_rate(&delivered(Loss::None, 1)), 0.0);
}

#[test]
fn random_loss_rate_within_tolerance() {
    for rate in [0.01, 0.05, 0.2] {
        let got = delivered(Loss::Random(rate), 7);
        let measured = loss_rate(&got);
        // σ = √(p(1−p)/n) ≤ 0.0013 here: ±0.6 % is more than 4.5 σ.
        assert!((measured - rate).abs() < 0.006, "{rate}: {measured}");
        // Independent: bursts are short (mean 1/(1−p)).
        let burst = mean_burst(&got);
        assert!(
            (burst - 1.0 / (1.0 - rate)).abs() < 0.1,
            "{rate}: bursts {burst}"
        );
    }
}

#[test]
fn burst_loss_rate_and_length_within_tolerance() {
    for (rate, burst) in [(0.02, 3.0), (0.05, 5.0)] {
        let loss = Loss::bursts(rate, burst);
        assert!((loss.mean_rate() - rate).abs() < 1e-12);
        let got = delivered(loss, 11);
        let measured = loss_rate(&got);
        // Bursts make the count vary more than independent losses: ±20 % of the rate.
        assert!(
            (measured - rate).abs() < 0.2 * rate,
            "{rate}/{burst}: {measured}"
        );
        let measured_burst = mean_burst(&got);
        assert!(
            (measured_burst - burst).abs() < 0.15 * burst,
            "{rate}/{burst}: bursts of {measured_burst}"
        );
    }
}

#[test]
fn the_same_seed_loses_the_same_packets() {
    let a = delivered(Loss::bursts(0.05, 3.0), 3);
    assert_eq!(a, delivered(Loss::bursts(0.05, 3.0), 3));
    assert_ne!(a, delivered(Loss::bursts(0.05, 3.0), 4));
}
