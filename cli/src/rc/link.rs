//! The bottleneck: a FIFO of packets drained at the trace's capacity, one millisecond at a time
//! (capacity not used in a millisecond is lost, as on a real link).

use std::collections::VecDeque;

use super::trace::Trace;

/// Payload bytes per packet (RTP payload of a 1500-byte IP packet).
pub const PAYLOAD: usize = 1450;
/// Per-packet overhead on the wire (IP, UDP, RTP, SRTP tag).
pub const OVERHEAD: usize = 50;

#[derive(Debug)]
struct Queued {
    frame: u64,
    enqueued_ms: f64,
    bytes_left: f64,
    last_of_frame: bool,
}

/// A delivered frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivered {
    /// Frame number.
    pub frame: u64,
    /// When its first byte entered the queue, ms.
    pub enqueued_ms: f64,
    /// When its last byte left, ms.
    pub departed_ms: f64,
}

/// The link.
#[derive(Debug)]
pub struct Link {
    trace: Trace,
    queue: VecDeque<Queued>,
    queued_bytes: f64,
    /// Next millisecond slot to serve.
    cursor_ms: u64,
    /// Bytes delivered per millisecond over the last second (for the estimator).
    delivered: VecDeque<(u64, f64)>,
}

impl Link {
    /// A link following `trace`.
    pub fn new(trace: Trace) -> Self {
        Self {
            trace,
            queue: VecDeque::new(),
            queued_bytes: 0.0,
            cursor_ms: 0,
            delivered: VecDeque::new(),
        }
    }

    /// The trace.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Bytes a payload of `payload` bytes takes on the wire.
    pub fn wire_bytes(payload: usize) -> usize {
        let packets = payload.div_ceil(PAYLOAD).max(1);
        payload + packets * OVERHEAD
    }

    /// Puts a frame of `payload` bytes into the queue at `now_ms`.
    pub fn send(&mut self, frame: u64, payload: usize, now_ms: f64) {
        let mut left = payload;
        loop {
            let chunk = left.min(PAYLOAD);
            left -= chunk;
            let bytes = (chunk + OVERHEAD) as f64;
            self.queue.push_back(Queued {
                frame,
                enqueued_ms: now_ms,
                bytes_left: bytes,
                last_of_frame: left == 0,
            });
            self.queued_bytes += bytes;
            if left == 0 {
                break;
            }
        }
    }

    /// Serves the queue up to `now_ms`; returns the frames whose last byte left.
    pub fn advance(&mut self, now_ms: f64) -> Vec<Delivered> {
        let mut done = Vec::new();
        while (self.cursor_ms as f64) + 1.0 <= now_ms {
            let ms = self.cursor_ms;
            let mut budget = self.trace.bytes_at(ms);
            let mut sent = 0.0;
            while budget > 0.0 {
                let Some(head) = self.queue.front_mut() else {
                    break;
                };
                if head.enqueued_ms > (ms + 1) as f64 {
                    break;
                }
                let take = head.bytes_left.min(budget);
                head.bytes_left -= take;
                budget -= take;
                sent += take;
                if head.bytes_left <= 1e-9 {
                    let q = self.queue.pop_front().expect("head exists");
                    if q.last_of_frame {
                        // Departure: the point in this millisecond where the budget ran out.
                        let used = self.trace.bytes_at(ms) - budget;
                        let frac = if self.trace.bytes_at(ms) > 0.0 {
                            used / self.trace.bytes_at(ms)
                        } else {
                            1.0
                        };
                        done.push(Delivered {
                            frame: q.frame,
                            enqueued_ms: q.enqueued_ms,
                            departed_ms: (ms as f64 + frac).max(q.enqueued_ms),
                        });
                    }
                }
            }
            self.queued_bytes = (self.queued_bytes - sent).max(0.0);
            self.delivered.push_back((ms, sent));
            while self.delivered.front().is_some_and(|&(t, _)| t + 1000 < ms) {
                self.delivered.pop_front();
            }
            self.cursor_ms += 1;
        }
        done
    }

    /// How long the oldest queued byte has waited, ms.
    pub fn head_wait_ms(&self, now_ms: f64) -> f64 {
        self.queue
            .front()
            .map_or(0.0, |q| (now_ms - q.enqueued_ms).max(0.0))
    }

    /// Bytes waiting.
    pub fn queued_bytes(&self) -> f64 {
        self.queued_bytes
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

    #[test]
    fn queue_drains_at_capacity() {
        // builtin:steps starts at 1.5 Mbps = 187.5 bytes/ms.
        let mut l = Link::new(Trace::steps());
        l.send(0, 18_750 - 13 * OVERHEAD, 0.0);
        assert_eq!(Link::wire_bytes(18_750 - 13 * OVERHEAD), 18_750);
        let d = l.advance(99.0);
        assert!(d.is_empty());
        let d = l.advance(101.0);
        assert_eq!(d.len(), 1);
        assert!((d[0].departed_ms - 100.0).abs() < 1.0, "{:?}", d[0]);
        assert!((l.delivered_bps(100) - 1_500_000.0).abs() < 20_000.0);
        assert_eq!(l.queued_bytes(), 0.0);
    }

    #[test]
    fn fifo_order_and_head_wait() {
        let mut l = Link::new(Trace::steps());
        l.send(1, 5000, 0.0);
        l.send(2, 100, 10.0);
        assert_eq!(l.head_wait_ms(20.0), 20.0);
        let d = l.advance(200.0);
        assert_eq!(d.iter().map(|x| x.frame).collect::<Vec<_>>(), [1, 2]);
        assert!(d[1].departed_ms > d[0].departed_ms);
    }
}
