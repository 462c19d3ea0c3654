//! One direction of a path: the [`Bottleneck`] (trace capacity, drop-tail queue, outages), then
//! propagation delay, jitter and loss from [`str0m_netem`].
//!
//! Loss is decided after the bottleneck, as on a radio link: a lost packet has used its share
//! of the capacity. Jitter varies each packet's delay uniformly within ± the configured amount
//! around the propagation delay, but packets are not reordered (a packet waits for the one
//! ahead of it, as behind a real FIFO).
//!
//! Time is simulated milliseconds from the start of the run (`f64`); the caller moves it
//! forward with [`Link::advance`] and collects what arrived.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use str0m_netem::{GilbertElliot, Input, LossModel, Netem, NetemConfig, Output, Probability};

use crate::bottleneck::{Bottleneck, Departure, Outage, Refused};
use crate::trace::Trace;

/// Random loss of single packets, or bursts (Gilbert-Elliott).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Loss {
    /// Nothing is lost.
    #[default]
    None,
    /// Each packet is lost with this probability (0–1), independently.
    Random(f64),
    /// A two-state Markov chain: in the good state packets are lost with `loss_in_good`, in the
    /// bad state with `loss_in_bad`; a run in each lasts the given mean number of packets.
    GilbertElliott {
        /// Mean packets in the good state.
        good_packets: f64,
        /// Mean packets in the bad state (the burst length when `loss_in_bad` is 1).
        bad_packets: f64,
        /// Loss probability in the good state.
        loss_in_good: f64,
        /// Loss probability in the bad state.
        loss_in_bad: f64,
    },
}

impl Loss {
    /// Bursts that lose `rate` (0–1) of all packets on average, `mean_burst` packets in a row.
    pub fn bursts(rate: f64, mean_burst: f64) -> Self {
        let rate = rate.clamp(0.0, 0.99);
        let bad = mean_burst.max(1.0);
        // Stationary share of the bad state = bad / (good + bad) = rate.
        let good = if rate > 0.0 {
            bad * (1.0 - rate) / rate
        } else {
            f64::INFINITY
        };
        Loss::GilbertElliott {
            good_packets: good,
            bad_packets: bad,
            loss_in_good: 0.0,
            loss_in_bad: 1.0,
        }
    }

    /// The long-run share of packets lost.
    pub fn mean_rate(&self) -> f64 {
        match *self {
            Loss::None => 0.0,
            Loss::Random(p) => p,
            Loss::GilbertElliott {
                good_packets,
                bad_packets,
                loss_in_good,
                loss_in_bad,
            } => {
                if !good_packets.is_finite() {
                    return loss_in_good;
                }
                let bad_share = bad_packets / (good_packets + bad_packets);
                bad_share * loss_in_bad + (1.0 - bad_share) * loss_in_good
            }
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let prob = |name: &'static str, p: f64| {
            if (0.0..=1.0).contains(&p) {
                Ok(())
            } else {
                Err(ConfigError::new(name, format!("{p} is not a probability")))
            }
        };
        match *self {
            Loss::None => Ok(()),
            Loss::Random(p) => prob("loss", p),
            Loss::GilbertElliott {
                good_packets,
                bad_packets,
                loss_in_good,
                loss_in_bad,
            } => {
                prob("loss_in_good", loss_in_good)?;
                prob("loss_in_bad", loss_in_bad)?;
                if !(good_packets >= 1.0 && bad_packets >= 1.0) {
                    return Err(ConfigError::new(
                        "burst",
                        format!("runs of {good_packets} / {bad_packets} packets: both must be ≥ 1"),
                    ));
                }
                Ok(())
            }
        }
    }

    fn model(&self) -> LossModel {
        let p = |v: f64| Probability::new(v.clamp(0.0, 1.0) as f32);
        match *self {
            Loss::None => LossModel::None,
            Loss::Random(rate) => str0m_netem::RandomLoss::new(p(rate)).into(),
            Loss::GilbertElliott {
                good_packets,
                bad_packets,
                loss_in_good,
                loss_in_bad,
            } => {
                // An infinite good run never enters the bad state (netem: p = 1 / run = 0).
                let good = if good_packets.is_finite() {
                    good_packets as f32
                } else {
                    0.0
                };
                GilbertElliot::new()
                    .good_duration(good)
                    .bad_duration(bad_packets as f32)
                    .loss_in_good(p(loss_in_good))
                    .loss_in_bad(p(loss_in_bad))
                    .into()
            }
        }
    }
}

/// A link setting that makes no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("link {field}: {reason}")]
pub struct ConfigError {
    /// Which setting.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    fn new(field: &'static str, reason: String) -> Self {
        Self { field, reason }
    }
}

/// How a link behaves.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Capacity over time.
    pub trace: Trace,
    /// Propagation delay (one way, without queueing), ms.
    pub delay_ms: f64,
    /// Each packet's delay varies uniformly within ± this, ms.
    pub jitter_ms: f64,
    /// Loss after the bottleneck.
    pub loss: Loss,
    /// Spans in which the link neither accepts nor carries anything.
    pub outages: Vec<Outage>,
    /// Drop-tail limit of the bottleneck queue, bytes (`None`: unbounded).
    pub queue_limit_bytes: Option<usize>,
    /// Seed of the jitter and loss draws: the same seed and inputs give the same run.
    pub seed: u64,
}

/// Longest simulated time, ms (a year; beyond it times are clamped).
const MAX_MS: f64 = 365.0 * 86_400_000.0;

impl LinkConfig {
    /// A link that follows `trace` and adds nothing else.
    pub fn new(trace: Trace) -> Self {
        Self {
            trace,
            delay_ms: 0.0,
            jitter_ms: 0.0,
            loss: Loss::None,
            outages: Vec::new(),
            queue_limit_bytes: None,
            seed: 1,
        }
    }

    /// Checks every setting.
    pub fn check(&self) -> Result<(), ConfigError> {
        let ms = |field: &'static str, v: f64| {
            if v.is_finite() && (0.0..=60_000.0).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::new(
                    field,
                    format!("{v} ms is not in 0..=60000"),
                ))
            }
        };
        ms("delay", self.delay_ms)?;
        ms("jitter", self.jitter_ms)?;
        self.loss.check()?;
        for o in &self.outages {
            if !(o.start_ms.is_finite()
                && o.start_ms >= 0.0
                && o.duration_ms.is_finite()
                && o.duration_ms > 0.0)
            {
                return Err(ConfigError::new(
                    "outage",
                    format!("{} ms + {} ms is not a span", o.start_ms, o.duration_ms),
                ));
            }
        }
        if self.queue_limit_bytes == Some(0) {
            return Err(ConfigError::new("queue limit", "0 bytes".into()));
        }
        Ok(())
    }
}

/// A packet that came out at the far end.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival<T> {
    /// What the sender put in.
    pub packet: T,
    /// Its size on the wire.
    pub wire_bytes: usize,
    /// When it was sent, ms.
    pub sent_ms: f64,
    /// When it left the bottleneck, ms.
    pub departed_ms: f64,
    /// When it arrived, ms.
    pub arrived_ms: f64,
}

/// Counters of a link.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkStats {
    /// Packets sent.
    pub sent: u64,
    /// Bytes sent.
    pub sent_bytes: u64,
    /// Refused by a full queue.
    pub dropped_queue_full: u64,
    /// Refused during an outage.
    pub dropped_outage: u64,
    /// Lost after the bottleneck.
    pub lost: u64,
    /// Packets that arrived.
    pub arrived: u64,
    /// Bytes that arrived.
    pub arrived_bytes: u64,
}

/// One direction of a path. `T` is whatever the caller wants back with each packet.
pub struct Link<T> {
    bottleneck: Bottleneck<T>,
    netem: Netem<[u8; 8]>,
    /// Packets inside netem by token: (the instant they went in, their departure).
    in_flight: HashMap<u64, (Instant, Departure<T>)>,
    departed: Vec<Departure<T>>,
    epoch: Instant,
    next_token: u64,
    last_arrival_ms: f64,
    stats: LinkStats,
}

impl<T> std::fmt::Debug for Link<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("trace", &self.bottleneck.trace().name)
            .field("queued_packets", &self.bottleneck.queued_packets())
            .field("in_flight", &self.in_flight.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl<T> Link<T> {
    /// A link as configured.
    pub fn new(config: LinkConfig) -> Result<Self, ConfigError> {
        config.check()?;
        let mut bottleneck = Bottleneck::new(config.trace).with_outages(config.outages);
        if let Some(limit) = config.queue_limit_bytes {
            bottleneck = bottleneck.with_queue_limit(limit);
        }
        let netem = NetemConfig::new()
            .latency(Duration::from_secs_f64(config.delay_ms / 1000.0))
            .jitter(Duration::from_secs_f64(config.jitter_ms / 1000.0))
            .loss(config.loss.model())
            .seed(config.seed);
        Ok(Self {
            bottleneck,
            netem: Netem::new(netem),
            in_flight: HashMap::new(),
            departed: Vec::new(),
            epoch: Instant::now(),
            next_token: 0,
            last_arrival_ms: 0.0,
            stats: LinkStats::default(),
        })
    }

    /// The instant of simulated time `ms` (NaN and negative times are the start).
    fn instant(&self, ms: f64) -> Instant {
        let ms = if ms.is_nan() {
            0.0
        } else {
            ms.clamp(0.0, MAX_MS)
        };
        self.epoch + Duration::from_secs_f64(ms / 1000.0)
    }

    /// The bottleneck (capacity, queue).
    pub fn bottleneck(&self) -> &Bottleneck<T> {
        &self.bottleneck
    }

    /// Sends a packet of `wire_bytes` at `now_ms` (advance to `now_ms` first, so that the queue
    /// is up to date). A refused packet is gone, as on a real link.
    pub fn send(&mut self, now_ms: f64, wire_bytes: usize, packet: T) -> Result<(), Refused> {
        self.stats.sent += 1;
        self.stats.sent_bytes += wire_bytes as u64;
        match self.bottleneck.send(now_ms, wire_bytes, packet) {
            Ok(()) => Ok(()),
            Err((why, _)) => {
                match why {
                    Refused::QueueFull => self.stats.dropped_queue_full += 1,
                    Refused::Outage => self.stats.dropped_outage += 1,
                }
                Err(why)
            }
        }
    }

    /// Moves time to `now_ms`, appending what arrived by then to `out`, in order.
    pub fn advance(&mut self, now_ms: f64, out: &mut Vec<Arrival<T>>) {
        // The vector is kept between calls so that advancing does not allocate.
        let mut departed = std::mem::take(&mut self.departed);
        self.bottleneck.advance(now_ms, &mut departed);
        for d in departed.drain(..) {
            let at = self.instant(d.departed_ms);
            let token = self.next_token;
            self.next_token += 1;
            let before = self.netem.queue_len();
            self.netem
                .handle_input(Input::Packet(at, token.to_le_bytes()));
            if self.netem.queue_len() > before {
                self.in_flight.insert(token, (at, d));
            } else {
                self.stats.lost += 1;
            }
        }
        self.departed = departed;
        let now = self.instant(now_ms);
        self.netem.handle_input(Input::Timeout(now));
        loop {
            let head_at = self.netem.poll_timeout();
            if head_at > now {
                break;
            }
            let Some(Output::Packet(token)) = self.netem.poll_output() else {
                break;
            };
            let Some((input, d)) = self.in_flight.remove(&u64::from_le_bytes(token)) else {
                continue;
            };
            let delay_ms = head_at.saturating_duration_since(input).as_secs_f64() * 1000.0;
            let arrived_ms = (d.departed_ms + delay_ms).max(self.last_arrival_ms);
            self.last_arrival_ms = arrived_ms;
            self.stats.arrived += 1;
            self.stats.arrived_bytes += d.wire_bytes as u64;
            out.push(Arrival {
                packet: d.packet,
                wire_bytes: d.wire_bytes,
                sent_ms: d.sent_ms,
                departed_ms: d.departed_ms,
                arrived_ms,
            });
        }
    }

    /// When something can arrive next at the earliest, ms (`None`: nothing is under way).
    pub fn next_event_ms(&self) -> Option<f64> {
        let netem = (!self.in_flight.is_empty()).then(|| {
            let at = self.netem.poll_timeout();
            at.saturating_duration_since(self.epoch).as_secs_f64() * 1000.0
        });
        match (self.bottleneck.next_departure_ms(), netem) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Packets sent and not yet arrived or lost.
    pub fn in_flight(&self) -> usize {
        self.bottleneck.queued_packets() + self.in_flight.len()
    }

    /// Counters so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_have_the_asked_mean() {
        let l = Loss::bursts(0.05, 4.0);
        assert!((l.mean_rate() - 0.05).abs() < 1e-12);
        assert_eq!(Loss::bursts(0.0, 3.0).mean_rate(), 0.0);
        assert!(Loss::bursts(0.05, 4.0).check().is_ok());
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let mut c = LinkConfig::new(Trace::good());
        c.loss = Loss::Random(1.5);
        assert_eq!(Link::<()>::new(c.clone()).unwrap_err().field, "loss");
        c.loss = Loss::None;
        c.jitter_ms = f64::NAN;
        assert_eq!(Link::<()>::new(c.clone()).unwrap_err().field, "jitter");
        c.jitter_ms = 0.0;
        c.outages.push(Outage {
            start_ms: 10.0,
            duration_ms: -1.0,
        });
        assert_eq!(Link::<()>::new(c).unwrap_err().field, "outage");
    }

    #[test]
    fn delay_without_jitter_is_exact_and_times_can_go_back_safely() {
        let mut c = LinkConfig::new(Trace::good());
        c.delay_ms = 20.0;
        let mut l = Link::new(c).unwrap();
        l.send(0.0, 1000, 'a').unwrap();
        let mut out = Vec::new();
        l.advance(10.0, &mut out);
        assert!(out.is_empty());
        assert_eq!(l.in_flight(), 1);
        l.advance(-5.0, &mut out);
        l.advance(f64::NAN, &mut out);
        l.advance(30.0, &mut out);
        assert_eq!(out.len(), 1);
        // 1000 bytes at 312.5 bytes/ms leave at 3.2 ms, arrive 20 ms later.
        assert!((out[0].departed_ms - 3.2).abs() < 1e-9, "{:?}", out[0]);
        assert!((out[0].arrived_ms - 23.2).abs() < 1e-6, "{:?}", out[0]);
        assert_eq!(l.next_event_ms(), None);
    }
}
