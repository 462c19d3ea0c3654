//! Shared harness of the netsim tests: drive a link with a sender for a while and keep
//! everything that came out.
#![allow(dead_code)]

use rtvc_netsim::rng::XorShift64;
use rtvc_netsim::{Arrival, Link, LinkConfig, Refused};

/// What a run produced.
#[derive(Debug, Default)]
pub struct Run {
    /// Packets handed to the link: (id, sent ms, wire bytes).
    pub sent: Vec<(u64, f64, usize)>,
    /// Refused at send: (id, reason).
    pub refused: Vec<(u64, Refused)>,
    /// Everything that arrived, in order.
    pub arrivals: Vec<Arrival<u64>>,
}

/// Runs `link` for `duration_ms` in steps of `step_ms`; before each step `offer(t_ms, rng)`
/// says how many packets of which size to send at that instant. Afterwards time runs on (no
/// sends) for `drain_ms` so that what is under way can arrive.
pub fn drive(
    config: LinkConfig,
    duration_ms: f64,
    step_ms: f64,
    drain_ms: f64,
    mut offer: impl FnMut(f64, &mut XorShift64) -> Vec<usize>,
) -> (Run, Link<u64>) {
    let mut link = Link::new(config).expect("valid link");
    let mut run = Run::default();
    let mut rng = XorShift64::seeded(99);
    let mut id = 0;
    let mut t = 0.0;
    while t < duration_ms {
        link.advance(t, &mut run.arrivals);
        for size in offer(t, &mut rng) {
            run.sent.push((id, t, size));
            if let Err(why) = link.send(t, size, id) {
                run.refused.push((id, why));
            }
            id += 1;
        }
        t += step_ms;
    }
    while t < duration_ms + drain_ms {
        link.advance(t, &mut run.arrivals);
        t += step_ms;
    }
    (run, link)
}
