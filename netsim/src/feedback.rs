//! What a sender learns from transport feedback: a round-trip time sample every feedback period.
//!
//! The receiver reports every `interval` what arrived, and the report takes `report_delay` to
//! come back. At a report the sender knows the queueing delay of the latest acknowledged
//! packet (RTT = base + that delay), and that anything sent at `s` and not reported by
//! `known = now − report_delay` has queued at least `known − s` so far (RTT ≥ base + that): a
//! queue that builds up shows before its packets arrive. The sample is the larger of the two.

use std::collections::VecDeque;

/// The feedback model.
#[derive(Debug, Clone)]
pub struct Feedback {
    base_rtt_ms: f64,
    report_delay_ms: f64,
    interval_ms: f64,
    next_ms: f64,
    /// (departure, queueing delay) of delivered items, oldest first.
    deliveries: VecDeque<(f64, f64)>,
    /// Items not yet acknowledged: (id, sent, departure once known), in send order.
    unacked: VecDeque<(u64, f64, Option<f64>)>,
}

/// One report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttSample {
    /// When the sender has it, ms.
    pub at_ms: f64,
    /// Round-trip time, ms (at least the base).
    pub rtt_ms: f64,
}

impl Feedback {
    /// Reports every `interval_ms` (the first at 0), arriving `report_delay_ms` after the fact,
    /// on a path whose round trip without queueing is `base_rtt_ms`.
    pub fn new(base_rtt_ms: f64, report_delay_ms: f64, interval_ms: f64) -> Self {
        Self {
            base_rtt_ms,
            report_delay_ms,
            interval_ms: interval_ms.max(1.0),
            next_ms: 0.0,
            deliveries: VecDeque::new(),
            unacked: VecDeque::new(),
        }
    }

    /// The sender sent item `id` at `at_ms` (ids may repeat across items of one frame: the
    /// first unacknowledged one is marked on delivery).
    pub fn on_sent(&mut self, id: u64, at_ms: f64) {
        self.unacked.push_back((id, at_ms, None));
    }

    /// Item `id` left the bottleneck at `departed_ms` after queueing `queue_delay_ms`.
    pub fn on_delivered(&mut self, id: u64, departed_ms: f64, queue_delay_ms: f64) {
        self.deliveries.push_back((departed_ms, queue_delay_ms));
        if let Some(u) = self.unacked.iter_mut().find(|u| u.0 == id) {
            u.2 = Some(departed_ms);
        }
    }

    /// The reports due by `now_ms`, in order, to `report`.
    pub fn poll(&mut self, now_ms: f64, mut report: impl FnMut(RttSample)) {
        while self.next_ms <= now_ms {
            let known = self.next_ms - self.report_delay_ms;
            while self.deliveries.len() > 1 && self.deliveries[1].0 <= known {
                self.deliveries.pop_front();
            }
            let measured = self
                .deliveries
                .front()
                .filter(|&&(dep, _)| dep <= known)
                .map(|&(_, delay)| self.base_rtt_ms + delay);
            while self
                .unacked
                .front()
                .is_some_and(|u| u.2.is_some_and(|d| d <= known))
            {
                self.unacked.pop_front();
            }
            let bound = self
                .unacked
                .front()
                .map(|u| self.base_rtt_ms + (known - u.1).max(0.0));
            if let Some(rtt) = measured.into_iter().chain(bound).reduce(f64::max) {
                report(RttSample {
                    at_ms: self.next_ms,
                    rtt_ms: rtt.max(self.base_rtt_ms),
                });
            }
            self.next_ms += self.interval_ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(f: &mut Feedback, now: f64) -> Vec<RttSample> {
        let mut v = Vec::new();
        f.poll(now, |s| v.push(s));
        v
    }

    #[test]
    fn queueing_shows_before_the_packet_arrives() {
        let mut f = Feedback::new(40.0, 20.0, 50.0);
        assert!(poll(&mut f, 0.0).is_empty(), "nothing sent yet");
        f.on_sent(1, 10.0);
        // At 50 ms the sender knows up to 30 ms: item 1 has waited ≥ 20 ms.
        assert_eq!(
            poll(&mut f, 50.0),
            [RttSample {
                at_ms: 50.0,
                rtt_ms: 60.0
            }]
        );
        f.on_delivered(1, 90.0, 80.0);
        // At 100 ms it knows up to 80 ms: still not delivered, ≥ 70 ms.
        assert_eq!(poll(&mut f, 100.0)[0].rtt_ms, 110.0);
        // At 150 ms it knows the delivery at 90 ms and its 80 ms of queueing.
        assert_eq!(poll(&mut f, 150.0)[0].rtt_ms, 120.0);
        // Reports do not repeat, and every period gets one.
        assert_eq!(poll(&mut f, 150.0), []);
        assert_eq!(poll(&mut f, 300.0).len(), 3);
    }
}
