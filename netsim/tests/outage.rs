//! An outage delivers nothing: nothing leaves the bottleneck inside it, what is sent during it
//! is refused, what was queued before waits and leaves afterwards.

mod common;

use rtvc_netsim::{LinkConfig, Outage, Refused, Trace};

#[test]
fn outages_deliver_nothing() {
    let outages = vec![
        Outage {
            start_ms: 2000.0,
            duration_ms: 1500.0,
        },
        Outage {
            start_ms: 6000.5,
            duration_ms: 250.25,
        },
    ];
    let mut config = LinkConfig::new(Trace::constant("800 kbps", 800_000.0));
    config.outages = outages.clone();
    config.delay_ms = 30.0;
    config.jitter_ms = 5.0;
    // A 1 Mbps sender (more than the link: a queue builds before each outage).
    let (run, link) = common::drive(config, 8000.0, 2.0, 5000.0, |_, _| vec![250]);
    for a in &run.arrivals {
        for o in &outages {
            assert!(
                !(a.departed_ms > o.start_ms && a.departed_ms < o.start_ms + o.duration_ms),
                "left at {} inside {o:?}",
                a.departed_ms
            );
        }
        // Nothing sent inside an outage gets through.
        assert!(!outages.iter().any(|o| o.contains(a.sent_ms)), "{a:?}");
    }
    // What was sent during the outages was refused, and only that.
    let in_outage: Vec<u64> = run
        .sent
        .iter()
        .filter(|s| outages.iter().any(|o| o.contains(s.1)))
        .map(|s| s.0)
        .collect();
    let refused: Vec<u64> = run.refused.iter().map(|r| r.0).collect();
    assert_eq!(refused, in_outage);
    assert!(run.refused.iter().all(|r| r.1 == Refused::Outage));
    assert_eq!(link.stats().dropped_outage as usize, in_outage.len());
    // The queue from before the first outage leaves after it: the first arrival after the
    // outage was sent before it.
    let after = run
        .arrivals
        .iter()
        .find(|a| a.departed_ms >= 3500.0)
        .unwrap();
    assert!(after.sent_ms < 2000.0, "{after:?}");
    // Everything not refused arrived (no loss configured, and the run drained).
    assert_eq!(run.arrivals.len() + run.refused.len(), run.sent.len());
}
