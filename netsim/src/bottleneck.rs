//! The bottleneck: a drop-tail FIFO of packets drained at the trace's capacity, one millisecond
//! at a time (capacity not used in a millisecond is lost, as on a real link), with outages in
//! which it neither accepts nor carries anything.
//!
//! Packets are served byte by byte: a packet larger than one millisecond's capacity leaves over
//! several milliseconds, and several small ones can leave in the same one. A packet's departure
//! is the point inside its last millisecond at which its last byte left (the share of that
//! millisecond's capacity used up to then).

use std::collections::VecDeque;

use crate::trace::Trace;

/// RTP payload bytes per packet (of a 1500-byte IP packet).
pub const PAYLOAD: usize = 1450;
/// Per-packet overhead on the wire (IP, UDP, RTP, SRTP tag).
pub const OVERHEAD: usize = 50;

/// Wire sizes of the packets that carry `payload` bytes: full [`PAYLOAD`]-sized packets, then
/// the rest, each plus [`OVERHEAD`] (one packet for an empty payload).
pub fn packet_sizes(payload: usize) -> impl Iterator<Item = usize> {
    let packets = payload.div_ceil(PAYLOAD).max(1);
    (0..packets).map(move |i| (payload - i * PAYLOAD).min(PAYLOAD) + OVERHEAD)
}

/// Bytes `payload` bytes take on the wire (the sum of [`packet_sizes`]).
pub fn wire_bytes(payload: usize) -> usize {
    payload + payload.div_ceil(PAYLOAD).max(1) * OVERHEAD
}

/// A span of time in which the link is down, ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outage {
    /// Start, ms.
    pub start_ms: f64,
    /// Length, ms.
    pub duration_ms: f64,
}

impl Outage {
    /// Whether `t_ms` is inside it.
    pub fn contains(&self, t_ms: f64) -> bool {
        t_ms >= self.start_ms && t_ms < self.start_ms + self.duration_ms
    }

    /// Whether the millisecond slot `[ms, ms + 1)` overlaps it.
    fn covers_slot(&self, ms: u64) -> bool {
        let (a, b) = (ms as f64, ms as f64 + 1.0);
        a < self.start_ms + self.duration_ms && b > self.start_ms
    }
}

/// Why the bottleneck refused a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue was full (drop tail).
    QueueFull,
    /// The link was down.
    Outage,
}

/// A packet that has left the bottleneck.
#[derive(Debug, Clone, PartialEq)]
pub struct Departure<T> {
    /// What the sender put in.
    pub packet: T,
    /// Its size on the wire.
    pub wire_bytes: usize,
    /// When it was sent (entered the queue), ms.
    pub sent_ms: f64,
    /// When its last byte left, ms.
    pub departed_ms: f64,
}

#[derive(Debug)]
struct Queued<T> {
    packet: T,
    wire_bytes: usize,
    sent_ms: f64,
    bytes_left: f64,
}

/// Counters of a bottleneck.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BottleneckStats {
    /// Packets offered.
    pub offered: u64,
    /// Refused because the queue was full.
    pub dropped_queue_full: u64,
    /// Refused because the link was down.
    pub dropped_outage: u64,
    /// Packets that left.
    pub departed: u64,
    /// Bytes that left.
    pub departed_bytes: u64,
}

/// The bottleneck. `T` is whatever the caller wants back with each packet.
#[derive(Debug)]
pub struct Bottleneck<T> {
    trace: Trace,
    outages: Vec<Outage>,
    queue_limit: Option<usize>,
    queue: VecDeque<Queued<T>>,
    queued_bytes: f64,
    /// Next millisecond slot to serve.
    cursor_ms: u64,
    /// Bytes delivered per millisecond over the last second (for the estimator).
    delivered: VecDeque<(u64, f64)>,
    stats: BottleneckStats,
}

impl<T> Bottleneck<T> {
    /// A link following `trace`, with no queue limit and no outage.
    pub fn new(trace: Trace) -> Self {
        Self {
            trace,
            outages: Vec::new(),
            queue_limit: None,
            queue: VecDeque::new(),
            queued_bytes: 0.0,
            cursor_ms: 0,
            delivered: VecDeque::new(),
            stats: BottleneckStats::default(),
        }
    }

    /// Drops packets that would make the queue hold more than `bytes` (drop tail).
    pub fn with_queue_limit(mut self, bytes: usize) -> Self {
        self.queue_limit = Some(bytes);
        self
    }

    /// Adds outages.
    pub fn with_outages(mut self, outages: impl IntoIterator<Item = Outage>) -> Self {
        self.outages.extend(outages);
        self
    }

    /// The trace.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Whether the link is down at `t_ms`.
    pub fn in_outage(&self, t_ms: f64) -> bool {
        self.outages.iter().any(|o| o.contains(t_ms))
    }

    /// Bytes the link can carry in millisecond `ms` (0 in an outage).
    pub fn bytes_at(&self, ms: u64) -> f64 {
        if self.outages.iter().any(|o| o.covers_slot(ms)) {
            0.0
        } else {
            self.trace.bytes_at(ms)
        }
    }

    /// Mean capacity over `[from_ms, to_ms)` with outages, bits/s.
    pub fn capacity_bps(&self, from_ms: u64, to_ms: u64) -> f64 {
        if to_ms <= from_ms {
            return 0.0;
        }
        let bytes: f64 = (from_ms..to_ms).map(|ms| self.bytes_at(ms)).sum();
        bytes * 8000.0 / (to_ms - from_ms) as f64
    }

    /// Puts a packet of `wire_bytes` into the queue at `now_ms`, or refuses it (the packet is
    /// returned).
    pub fn send(&mut self, now_ms: f64, wire_bytes: usize, packet: T) -> Result<(), (Refused, T)> {
        self.stats.offered += 1;
        if self.in_outage(now_ms) {
            self.stats.dropped_outage += 1;
            return Err((Refused::Outage, packet));
        }
        if let Some(limit) = self.queue_limit
            && self.queued_bytes + wire_bytes as f64 > limit as f64
        {
            self.stats.dropped_queue_full += 1;
            return Err((Refused::QueueFull, packet));
        }
        let bytes = wire_bytes as f64;
        self.queue.push_back(Queued {
            packet,
            wire_bytes,
            sent_ms: now_ms,
            bytes_left: bytes,
        });
        self.queued_bytes += bytes;
        Ok(())
    }

    /// Serves every whole millisecond that has ended by `now_ms`, appending the packets whose
    /// last byte left to `out` in order.
    pub fn advance(&mut self, now_ms: f64, out: &mut Vec<Departure<T>>) {
        while (self.cursor_ms as f64) + 1.0 <= now_ms {
            let ms = self.cursor_ms;
            let capacity = self.bytes_at(ms);
            let mut budget = capacity;
            let mut sent = 0.0;
            while budget > 0.0 {
                let Some(head) = self.queue.front_mut() else {
                    break;
                };
                if head.sent_ms > (ms + 1) as f64 {
                    break;
                }
                let take = head.bytes_left.min(budget);
                head.bytes_left -= take;
                budget -= take;
                sent += take;
                if head.bytes_left <= 1e-9 {
                    let q = self.queue.pop_front().expect("head exists");
                    // Departure: the point in this millisecond where the budget ran out.
                    let frac = (capacity - budget) / capacity;
                    self.stats.departed += 1;
                    self.stats.departed_bytes += q.wire_bytes as u64;
                    out.push(Departure {
                        packet: q.packet,
                        wire_bytes: q.wire_bytes,
                        sent_ms: q.sent_ms,
                        departed_ms: (ms as f64 + frac).max(q.sent_ms),
                    });
                }
            }
            self.queued_bytes = (self.queued_bytes - sent).max(0.0);
            if self.queue.is_empty() {
                self.queued_bytes = 0.0;
            }
            self.delivered.push_back((ms, sent));
            while self.delivered.front().is_some_and(|&(t, _)| t + 1000 < ms) {
                self.delivered.pop_front();
            }
            self.cursor_ms += 1;
        }
    }

    /// When the next packet can leave at the earliest (the end of the next millisecond to be
    /// served), or `None` with an empty queue.
    pub fn next_departure_ms(&self) -> Option<f64> {
        let head = self.queue.front()?;
        let slot = (self.cursor_ms as f64).max(head.sent_ms.ceil() - 1.0);
        Some(slot + 1.0)
    }

    /// How long the oldest queued byte has waited, ms.
    pub fn head_wait_ms(&self, now_ms: f64) -> f64 {
        self.queue
            .front()
            .map_or(0.0, |q| (now_ms - q.sent_ms).max(0.0))
    }

    /// Bytes waiting.
    pub fn queued_bytes(&self) -> f64 {
        self.queued_bytes
    }

    /// Packets waiting.
    pub fn queued_packets(&self) -> usize {
        self.queue.len()
    }

    /// Counters so far.
    pub fn stats(&self) -> BottleneckStats {
        self.stats
    }

    /// Delivered rate over the last `window_ms`, bits/s.
    pub fn delivered_bps(&self, window_ms: u64) -> f64 {
        let from = self.cursor_ms.saturating_sub(window_ms);
        let bytes: f64 = self
            .delivered
            .iter()
            .filter(|(t, _)| *t >= from)
            .map(|(_, b)| b)
            .sum();
        bytes * 8000.0 / window_ms.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(l: &mut Bottleneck<u32>, now: f64) -> Vec<Departure<u32>> {
        let mut out = Vec::new();
        l.advance(now, &mut out);
        out
    }

    #[test]
    fn packet_sizes_add_up() {
        assert_eq!(packet_sizes(0).collect::<Vec<_>>(), [OVERHEAD]);
        assert_eq!(packet_sizes(1450).collect::<Vec<_>>(), [1500]);
        assert_eq!(packet_sizes(1451).collect::<Vec<_>>(), [1500, 51]);
        for p in [0, 1, 1449, 1450, 1451, 10_000, 123_456] {
            assert_eq!(packet_sizes(p).sum::<usize>(), wire_bytes(p), "{p}");
        }
    }

    #[test]
    fn queue_drains_at_capacity() {
        // builtin:steps starts at 1.5 Mbps = 187.5 bytes/ms: 18 750 bytes take 100 ms.
        let mut l = Bottleneck::new(Trace::steps());
        for (i, size) in packet_sizes(18_750 - 13 * OVERHEAD).enumerate() {
            l.send(0.0, size, i as u32).unwrap();
        }
        assert_eq!(wire_bytes(18_750 - 13 * OVERHEAD), 18_750);
        let d = drain(&mut l, 99.0);
        assert_eq!(d.len(), 12);
        let d = drain(&mut l, 101.0);
        assert_eq!(d.len(), 1);
        assert!((d[0].departed_ms - 100.0).abs() < 1.0, "{:?}", d[0]);
        assert!((l.delivered_bps(100) - 1_500_000.0).abs() < 20_000.0);
        assert_eq!(l.queued_bytes(), 0.0);
        assert_eq!(l.stats().departed_bytes, 18_750);
    }

    #[test]
    fn fifo_order_and_head_wait() {
        let mut l = Bottleneck::new(Trace::steps());
        l.send(0.0, 5000, 1).unwrap();
        l.send(10.0, 100, 2).unwrap();
        assert_eq!(l.head_wait_ms(20.0), 20.0);
        let d = drain(&mut l, 200.0);
        assert_eq!(d.iter().map(|x| x.packet).collect::<Vec<_>>(), [1, 2]);
        assert!(d[1].departed_ms > d[0].departed_ms);
    }

    #[test]
    fn drop_tail_and_outage_refuse() {
        let mut l = Bottleneck::new(Trace::steps())
            .with_queue_limit(3000)
            .with_outages([Outage {
                start_ms: 50.0,
                duration_ms: 100.0,
            }]);
        l.send(0.0, 1500, 1).unwrap();
        l.send(0.0, 1500, 2).unwrap();
        assert_eq!(l.send(0.0, 1, 3), Err((Refused::QueueFull, 3)));
        assert_eq!(l.send(60.0, 10, 4), Err((Refused::Outage, 4)));
        assert_eq!(l.bytes_at(49), 187.5);
        assert_eq!(l.bytes_at(50), 0.0);
        assert_eq!(l.bytes_at(149), 0.0);
        assert_eq!(l.bytes_at(150), 187.5);
        // 3000 bytes need 16 ms; nothing leaves during the outage.
        let d = drain(&mut l, 150.0);
        assert_eq!(d.len(), 2);
        l.send(150.0, 1000, 5).unwrap();
        assert!(drain(&mut l, 150.5).is_empty());
        assert_eq!(l.next_departure_ms(), Some(151.0));
        let s = l.stats();
        assert_eq!(
            (s.offered, s.dropped_queue_full, s.dropped_outage),
            (5, 1, 1)
        );
    }
}
