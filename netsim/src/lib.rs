//! # rtvc-netsim
//!
//! A sans-IO emulated network for rtvc: `rtvc rc` and the call harness run on it. There is no
//! codec, socket or clock in it: the caller moves simulated time (milliseconds from the start of
//! a run) and hands packets in; the same seed and inputs give exactly the same run.
//!
//! | module | what | from where |
//! |---|---|---|
//! | [`trace`] | capacity over time, 1 ms resolution: Mahimahi files and built-in traces | ours (netem's link has a fixed rate) |
//! | [`bottleneck`] | drop-tail FIFO drained at the trace's capacity, per millisecond; outages; delivered-rate window | ours (netem has no trace-driven rate and no outages) |
//! | [`link`] | one direction of a path: the bottleneck, then propagation delay, jitter, random or Gilbert-Elliott loss | delay, jitter and loss are [`str0m_netem`]'s (seeded); the composition is ours |
//! | [`bwe`] | a bandwidth-estimator model (lags and undershoots like GCC) for runs without a real congestion controller | ours |
//! | [`feedback`] | the RTT a sender learns from transport feedback | ours |
//! | [`metrics`] | what a rate-control run is judged by | ours |
//! | [`rng`] | xorshift64 for seeded synthetic traces and tests | ours |
//!
//! `str0m_netem` (from str0m's authors) decides loss and each packet's delay; we feed it packet
//! tokens at the moment they leave our bottleneck and keep the packets ourselves, so any `T`
//! can travel. Its rate-limited link and duplication/reordering are not used: capacity follows
//! the trace in our bottleneck, and a FIFO path does not reorder.

#![deny(missing_docs)]

pub mod bottleneck;
pub mod bwe;
pub mod feedback;
pub mod link;
pub mod metrics;
pub mod rng;
pub mod trace;

pub use bottleneck::{Bottleneck, Departure, Outage, Refused};
pub use link::{Arrival, ConfigError, Link, LinkConfig, LinkStats, Loss};
pub use trace::{Trace, TraceError};
