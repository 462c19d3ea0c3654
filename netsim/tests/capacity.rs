//! The link never delivers more than its trace's capacity, and a saturating sender gets all of
//! it; the drop-tail limit holds.

mod common;

use rtvc_netsim::{LinkConfig, Outage, Refused, Trace};

/// A sender that offers about twice what the link carries, in packets of 60–1500 bytes, at
/// irregular instants.
fn saturating(cap_bps: f64) -> impl FnMut(f64, &mut rtvc_netsim::rng::XorShift64) -> Vec<usize> {
    move |_t, rng| {
        // 2× capacity per 5 ms step.
        let mut budget = 2.0 * cap_bps / 8000.0 * 5.0;
        let mut v = Vec::new();
        while budget > 0.0 {
            let size = 60 + rng.below(1441) as usize;
            budget -= size as f64;
            v.push(size);
        }
        v
    }
}

fn check_capacity(trace: Trace, outages: Vec<Outage>) {
    let mut config = LinkConfig::new(trace.clone());
    config.outages = outages.clone();
    config.queue_limit_bytes = Some(64_000);
    let mean = trace.capacity_bps(0, 20_000);
    let (run, link) = common::drive(config, 20_000.0, 5.0, 0.0, saturating(mean * 2.0));
    // Cumulative bytes out by the end of each millisecond ≤ cumulative capacity up to then.
    let bottleneck = link.bottleneck();
    let mut out_by = vec![0.0f64; 20_001];
    for a in &run.arrivals {
        let slot = (a.departed_ms.ceil() as usize).min(20_000);
        out_by[slot] += a.wire_bytes as f64;
    }
    let (mut carried, mut capacity) = (0.0, 0.0);
    for ms in 0..20_000u64 {
        capacity += bottleneck.bytes_at(ms);
        carried += out_by[ms as usize + 1];
        if ms == 0 {
            carried += out_by[0];
        }
        assert!(
            carried <= capacity + 1e-6,
            "{}: {carried} bytes out by {} ms, capacity {capacity}",
            trace.name,
            ms + 1
        );
    }
    // Saturated, the link carries all its capacity but for what is still queued at the end.
    assert!(
        carried >= capacity - 64_000.0 - 1500.0,
        "{}: carried {carried} of {capacity}",
        trace.name
    );
    assert!(
        run.refused.iter().any(|r| r.1 == Refused::QueueFull),
        "a 2× sender overflows a 64 kB queue"
    );
    let s = link.stats();
    assert_eq!(s.arrived as usize, run.arrivals.len());
    assert_eq!(
        s.sent,
        s.dropped_queue_full + s.dropped_outage + s.arrived + link.in_flight() as u64,
        "every packet is accounted for: {s:?}"
    );
}

#[test]
fn delivered_bytes_never_exceed_capacity_steps() {
    check_capacity(Trace::steps(), vec![]);
}

#[test]
fn delivered_bytes_never_exceed_capacity_lte_with_an_outage() {
    check_capacity(
        Trace::lte(3),
        vec![Outage {
            start_ms: 7000.0,
            duration_ms: 2000.0,
        }],
    );
}

#[test]
fn delivered_bytes_never_exceed_capacity_mahimahi() {
    // A Mahimahi trace: bursts of packets at irregular milliseconds (≈ 1.2 Mbps).
    let dir = std::env::temp_dir().join(format!("rtvc-netsim-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bursty.up");
    let mut rng = rtvc_netsim::rng::XorShift64::seeded(5);
    let mut text = String::new();
    for ms in 0..3000u64 {
        for _ in 0..rng.below(3) * u64::from(rng.chance(300)) * 2 {
            text.push_str(&format!("{ms}\n"));
        }
    }
    std::fs::write(&path, text).unwrap();
    let trace = Trace::load(path.to_str().unwrap(), 1.0, 0).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    check_capacity(trace, vec![]);
}

#[test]
fn the_queue_never_holds_more_than_its_limit() {
    let mut config = LinkConfig::new(Trace::constant("1 Mbps", 1e6));
    config.queue_limit_bytes = Some(10_000);
    let mut link = rtvc_netsim::Link::new(config).unwrap();
    let mut out = Vec::new();
    let mut refused = 0;
    for step in 0..2000u64 {
        let t = step as f64;
        link.advance(t, &mut out);
        for _ in 0..3 {
            if link.send(t, 1200, step).is_err() {
                refused += 1;
            }
            assert!(link.bottleneck().queued_bytes() <= 10_000.0);
        }
    }
    // 3.6 kB/ms offered, 125 B/ms carried: nearly everything beyond the first 10 kB is refused.
    assert!(refused > 5500, "{refused}");
    // Packets still leave in order of sending.
    assert!(out.windows(2).all(|w| w[0].packet <= w[1].packet));
}
