//! The call harness (feature `str0m`): participants in one process, each pair connected by two
//! [`rtvc_netsim::Link`]s (one per direction), each participant with one str0m connection per
//! other participant ([`crate::rtc::PeerConnection`]) and our factories. Sans-IO and in
//! simulated time (1 ms steps), faster than real time; encode and decode run for real and
//! their CPU time — measured, or from a fixed table ([`CostModel`]) — is added to latency on the
//! participant's cores.
//!
//! Each participant encodes its camera (scaled to the send size) and sends it to every other
//! participant; receivers put complete frames into a [`jitter::JitterBuffer`], decode them when
//! due and show them. Per received stream it measures what a user sees ([`StreamReport`]).
//!
//! * Rates: str0m's congestion controller (TWCC) gives an estimate per connection
//!   ([`RtcEvent::Estimate`]); it goes to our encoder wrapper ([`crate::encoder::RtvcEncoder`], rate
//!   controller inside) as `set_rates`, with str0m's RTT and loss as hints.
//! * Keyframes: a PLI from a receiver (a decoder that needs one, or RTP that has a gap) makes
//!   the sender's next frame a keyframe; so does a newly connected peer.
//! * Outages: a participant notices a dead path by its own media timeout (no packet for 1 s;
//!   str0m's ICE would take 15 s), and when the path stays dead for 5 s it restarts ICE (str0m
//!   `ice_restart` and a new offer/answer, exchanged in process). Short outages recover without
//!   it: the path is still valid, a PLI brings a keyframe.
//! * Mesh: one encode per participant feeds all its connections at the weakest connection's
//!   estimate ([`MeshEncoding::Shared`], the default), or one encode per connection
//!   ([`MeshEncoding::PerLink`]); README, "Calls", has the figures that chose the default.

pub mod camera;
pub mod cost;
pub mod jitter;
pub mod stats;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtvc_codec::quality::frame_mse;
use rtvc_codec::scale::Scaler;
use rtvc_codec::{CodecKind, CodecRegistry, Frame};
use rtvc_netsim::{Link, LinkConfig, Loss, Outage, Trace};
use serde::Serialize;

use crate::decoder::{DecodeResult, DecoderFactory, DecoderSettings, ReceivedImage, WebRtcDecoder};
use crate::encoder::{
    EncodeResult, EncoderFactory, EncoderSettings, RateControlParameters, VideoFrameType,
    WebRtcEncoder,
};
use crate::format::VideoFormat;
use crate::rtc::{Datagram, KeyframeRequester, PeerConnection, RtcBindingError, RtcEvent};
use camera::{Camera, CameraMaker};
pub use cost::CostModel;
use cost::{Cpu, fixed_cost_ms};
use jitter::JitterBuffer;
pub use stats::StreamReport;
use stats::{StreamStats, percentile, round};

/// No packet from a peer for this long: the path is considered broken, ms.
pub const MEDIA_TIMEOUT_MS: f64 = 1000.0;
/// Broken this long: restart ICE (and again after as long), ms.
pub const ICE_RESTART_AFTER_MS: f64 = 5000.0;
/// A sender that has sent video for this long (or 3 RTTs, if longer) without hearing a packet
/// back holds its video for that peer until it does, then resumes with a keyframe, ms. Like
/// libwebrtc's congestion-window pushback: what goes into a dead path is lost, and comes back
/// as a burst of retransmissions in front of the keyframe that would end the freeze.
pub const SILENCE_HOLD_MS: f64 = 300.0;
/// Share of str0m's estimate given to the encoder: the estimate counts payload only (str0m#581)
/// and retransmissions and probes ride on the same link.
pub const ESTIMATE_SHARE: f64 = 0.85;
/// IP + UDP header bytes added to each datagram on the wire.
const IP_UDP_OVERHEAD: usize = 28;
/// Captured frames kept for judging decoded pictures, ms.
const HISTORY_MS: f64 = 3000.0;
/// The fixed playout delay at which `psnr_y_display` looks at the screen, ms.
pub const DISPLAY_DELAY_MS: f64 = 150.0;

/// What can stop a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The configuration cannot be run.
    #[error("call setup: {0}")]
    Setup(String),
    /// The WebRTC stack failed.
    #[error(transparent)]
    Rtc(#[from] RtcBindingError),
    /// An encoder or decoder failed for good.
    #[error(transparent)]
    Adapter(#[from] crate::AdapterError),
    /// A network setting.
    #[error(transparent)]
    Link(#[from] rtvc_netsim::ConfigError),
    /// A trace.
    #[error(transparent)]
    Trace(#[from] rtvc_netsim::TraceError),
}

/// One encode for all connections, or one per connection (mesh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MeshEncoding {
    /// One encode at the weakest connection's estimate.
    #[default]
    Shared,
    /// One encode per connection at its own estimate.
    PerLink,
    /// One encode with two temporal layers (L1T2): links that can carry it all get both,
    /// weaker ones the base layer only (half the frame rate, 60 % of the bits).
    Layered,
}

/// The base layer's share of an L1T2 stream's bits (libwebrtc's split for two layers).
const BASE_LAYER_SHARE: f64 = 0.6;

/// The network between every pair, per direction.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Trace: `builtin:good|lte|steps|aimd` or a Mahimahi file (each direction of each pair
    /// gets its own seed of `builtin:lte`).
    pub trace: String,
    /// Capacity × this.
    pub trace_scale: f64,
    /// Round trip without queueing, ms.
    pub rtt_ms: f64,
    /// Jitter (± per packet, one way), ms.
    pub jitter_ms: f64,
    /// Loss after the bottleneck.
    pub loss: Loss,
    /// Outages of participant 0's network (all its links, both directions).
    pub outages: Vec<Outage>,
    /// Drop-tail limit of each bottleneck queue, bytes.
    pub queue_limit_bytes: usize,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            trace: "builtin:good".into(),
            trace_scale: 1.0,
            rtt_ms: 40.0,
            jitter_ms: 0.0,
            loss: Loss::None,
            outages: Vec::new(),
            queue_limit_bytes: 256 * 1024,
        }
    }
}

/// Everything about one simulated call.
pub struct CallConfig {
    /// Codec (only its formats are offered).
    pub codec: CodecKind,
    /// Participants, 2..=4.
    pub participants: usize,
    /// Send size.
    pub width: u32,
    /// Send size.
    pub height: u32,
    /// Camera frame rate.
    pub fps: f64,
    /// The network.
    pub network: NetworkConfig,
    /// Length, ms.
    pub duration_ms: f64,
    /// Seed of the network's randomness.
    pub seed: u64,
    /// CPU times: measured or fixed.
    pub cost: CostModel,
    /// Cores per participant.
    pub cores: u32,
    /// Participant 0 switches to its rear camera at this time, ms.
    pub camera_switch_ms: Option<f64>,
    /// Participant 0 turns its camera off at `.0` for `.1` ms.
    pub camera_off: Option<(f64, f64)>,
    /// Mesh encoding.
    pub mesh: MeshEncoding,
    /// Highest bitrate an encoder may use, bits/s.
    pub max_bitrate_bps: u32,
    /// rtvc's rate controller inside the encoder (true), or the estimate straight into the
    /// codec's own rate control with its frame dropping (false: the baseline).
    pub rtvc_rate_control: bool,
    /// Cameras.
    pub cameras: CameraMaker,
    /// The encoder factory of each participant (a test may register a hardware encoder).
    pub encoder_factory: Box<dyn Fn(usize, Arc<CodecRegistry>) -> EncoderFactory + Send>,
}

impl std::fmt::Debug for CallConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallConfig")
            .field("codec", &self.codec)
            .field("participants", &self.participants)
            .field("size", &format_args!("{}x{}", self.width, self.height))
            .field("network", &self.network)
            .field("duration_ms", &self.duration_ms)
            .finish_non_exhaustive()
    }
}

impl CallConfig {
    /// A 1:1 call of `codec` at `width`x`height`, 30 fps, on the synthetic scene over
    /// `builtin:good` with a 40 ms RTT, 10 s, measured costs, 2 cores each.
    pub fn new(codec: CodecKind, width: u32, height: u32) -> Self {
        Self {
            codec,
            participants: 2,
            width,
            height,
            fps: 30.0,
            network: NetworkConfig::default(),
            duration_ms: 10_000.0,
            seed: 1,
            cost: CostModel::Measured,
            cores: 2,
            camera_switch_ms: None,
            camera_off: None,
            mesh: MeshEncoding::Shared,
            max_bitrate_bps: 2_500_000,
            rtvc_rate_control: true,
            cameras: camera::synthetic_cameras(width, height, 30.0),
            encoder_factory: Box::new(|_, registry| EncoderFactory::new(registry)),
        }
    }

    fn check(&self) -> Result<(), CallError> {
        let bad = |m: String| Err(CallError::Setup(m));
        if !(2..=4).contains(&self.participants) {
            return bad(format!("{} participants (2..=4)", self.participants));
        }
        if self.width < 16 || self.height < 16 || self.width > 3840 || self.height > 2160 {
            return bad(format!("send size {}x{}", self.width, self.height));
        }
        if self.codec == CodecKind::H264
            && (!self.width.is_multiple_of(2) || !self.height.is_multiple_of(2))
        {
            return bad(format!(
                "H.264 needs an even size, got {}x{}",
                self.width, self.height
            ));
        }
        if !(self.fps.is_finite() && (1.0..=60.0).contains(&self.fps)) {
            return bad(format!("{} fps (1..=60)", self.fps));
        }
        if !(self.duration_ms.is_finite() && self.duration_ms > 0.0 && self.duration_ms <= 3.6e6) {
            return bad(format!("duration {} ms", self.duration_ms));
        }
        if !(self.network.rtt_ms.is_finite() && (0.0..=2000.0).contains(&self.network.rtt_ms)) {
            return bad(format!("RTT {} ms (0..=2000)", self.network.rtt_ms));
        }
        Ok(())
    }
}

/// A point of the timeline of one stream (every 100 ms), for plots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelinePoint {
    /// Time, ms.
    pub t_ms: f64,
    /// Capacity of the link, bits/s.
    pub capacity_bps: f64,
    /// The sender's estimate for this connection, bits/s.
    pub estimate_bps: f64,
    /// What the sender put on this link in the last 100 ms, bits/s.
    pub sent_bps: f64,
    /// Latest glass-to-glass latency, ms.
    pub g2g_ms: Option<f64>,
}

/// Something that happened during the call, for plots and the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallEvent {
    /// When, ms.
    pub t_ms: f64,
    /// What.
    pub what: String,
}

/// The result of a call.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    /// One per received stream.
    pub streams: Vec<StreamReport>,
    /// Over all streams.
    pub summary: StreamReport,
    /// What happened (connections, switches, outages, ICE restarts).
    pub events: Vec<CallEvent>,
    /// Simulated seconds.
    pub simulated_s: f64,
    /// CPU each participant used for encoding and decoding, % of its cores (measured or fixed
    /// costs, as configured).
    pub cpu_percent: Vec<f64>,
    /// Wall-clock seconds the run took.
    #[serde(skip)]
    pub wall_s: f64,
    /// Per stream (same order as `streams`), every 100 ms.
    #[serde(skip)]
    pub timeline: Vec<Vec<TimelinePoint>>,
    /// Freezes per stream: (start ms, length ms).
    #[serde(skip)]
    pub freezes: Vec<Vec<(f64, f64)>>,
}

/// A line of live progress, per stream, every simulated second.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Simulated time, s.
    pub t_s: f64,
    /// `from→to`, kbps received, fps shown, g2g ms (latest), freezes so far.
    pub streams: Vec<(String, f64, f64, Option<f64>, usize)>,
}

struct SendStream {
    encoder: Option<Box<dyn WebRtcEncoder>>,
    peers: Vec<usize>,
    /// Peers that get the base temporal layer only ([`MeshEncoding::Layered`]).
    base_only: Vec<usize>,
    key_due: bool,
    rate_bps: u32,
    /// What the send size is worth at most (the encoder's bitrate limits), bits/s.
    max_bps: u32,
}

struct Conn {
    pc: PeerConnection,
    connected: bool,
    estimate_bps: u64,
    rtt: Option<Duration>,
    loss: f64,
    last_rx_ms: f64,
    /// Last video handed to this connection, ms.
    last_tx_ms: f64,
    /// Video held: nothing heard back (see [`SILENCE_HOLD_MS`]).
    held: bool,
    broken_since: Option<f64>,
    last_restart_ms: f64,
    // Receive side (the stream from this peer).
    jitter: JitterBuffer,
    decoder: Option<Box<dyn WebRtcDecoder>>,
    keyframes: KeyframeRequester,
    last_rtp: Option<u64>,
    /// When the last frame from this peer arrived, ms.
    last_frame_ms: f64,
    /// The peer seems to have paused (packets arrive, frames do not).
    remote_paused: bool,
    /// Packets have been arriving without a pause of 500 ms since, ms.
    alive_since_ms: f64,
}

struct Participant {
    conns: Vec<Option<Conn>>,
    streams: Vec<SendStream>,
    cpu: Cpu,
    camera: Box<dyn Camera>,
    camera_position: u8,
    frame_no: u64,
    scaler: Scaler,
    up: Scaler,
    factory: EncoderFactory,
    decoders: DecoderFactory,
    paused: bool,
}

struct PendingSend {
    at_ms: f64,
    from: usize,
    stream: usize,
    rtp_time: u64,
    capture_ms: f64,
    keyframe: bool,
    temporal_id: u8,
    data: Arc<[u8]>,
}

struct Wire {
    link: Link<Datagram>,
    sent_bytes_mark: u64,
}

fn addr(i: usize, j: usize) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(10, 0, i as u8 + 1, j as u8 + 1), 5000))
}

fn name(i: usize) -> String {
    format!("p{i}")
}

/// The simulated call.
pub struct Call {
    config: CallConfig,
    registry: Arc<CodecRegistry>,
    epoch: Instant,
    parts: Vec<Participant>,
    wires: Vec<Option<Wire>>,
    stats: Vec<StreamStats>,
    history: Vec<VecDeque<(i64, Frame)>>,
    pending: Vec<PendingSend>,
    events: Vec<CallEvent>,
    timeline: Vec<Vec<TimelinePoint>>,
    out: Vec<Datagram>,
    rtc_events: Vec<RtcEvent>,
    last_g2g: Vec<Option<f64>>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("config", &self.config)
            .finish()
    }
}

impl Call {
    /// Sets up the participants, the links and the connections (offer/answer exchanged in
    /// process; ICE and DTLS happen in the first simulated milliseconds of [`Call::run`]).
    pub fn new(mut config: CallConfig) -> Result<Self, CallError> {
        config.check()?;
        let n = config.participants;
        let registry = Arc::new(CodecRegistry::with_builtin());
        let epoch = Instant::now();
        let mut wires = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    wires.push(None);
                    continue;
                }
                let net = &config.network;
                let trace = Trace::load(
                    &net.trace,
                    net.trace_scale,
                    config
                        .seed
                        .wrapping_mul(16)
                        .wrapping_add((i * n + j) as u64),
                )?;
                let mut lc = LinkConfig::new(trace);
                lc.delay_ms = net.rtt_ms / 2.0;
                lc.jitter_ms = net.jitter_ms;
                lc.loss = net.loss;
                lc.queue_limit_bytes = Some(net.queue_limit_bytes);
                lc.seed = config
                    .seed
                    .wrapping_mul(0x9E37_79B9)
                    .wrapping_add((i * n + j) as u64);
                if i == 0 || j == 0 {
                    lc.outages = net.outages.clone();
                }
                wires.push(Some(Wire {
                    link: Link::new(lc)?,
                    sent_bytes_mark: 0,
                }));
            }
        }
        let mut parts = Vec::with_capacity(n);
        for i in 0..n {
            let camera = (config.cameras)(i, 0)?;
            let mut conns = Vec::with_capacity(n);
            for j in 0..n {
                if i == j {
                    conns.push(None);
                    continue;
                }
                let rc = crate::rtc::rtc_config(&registry, Some(config.codec), 300_000);
                let pc = PeerConnection::new(rc, addr(i, j), epoch)?;
                conns.push(Some(Conn {
                    pc,
                    connected: false,
                    estimate_bps: 300_000,
                    rtt: None,
                    loss: 0.0,
                    last_rx_ms: 0.0,
                    last_tx_ms: 0.0,
                    held: false,
                    broken_since: None,
                    last_restart_ms: f64::NEG_INFINITY,
                    jitter: JitterBuffer::new(),
                    decoder: None,
                    keyframes: KeyframeRequester::default(),
                    last_rtp: None,
                    last_frame_ms: 0.0,
                    remote_paused: false,
                    alive_since_ms: 0.0,
                }));
            }
            let others: Vec<usize> = (0..n).filter(|&j| j != i).collect();
            let streams = match config.mesh {
                MeshEncoding::Shared | MeshEncoding::Layered => vec![SendStream {
                    encoder: None,
                    base_only: Vec::new(),
                    peers: others,
                    key_due: true,
                    rate_bps: 300_000,
                    max_bps: config.max_bitrate_bps,
                }],
                MeshEncoding::PerLink => others
                    .into_iter()
                    .map(|j| SendStream {
                        encoder: None,
                        base_only: Vec::new(),
                        peers: vec![j],
                        key_due: true,
                        rate_bps: 300_000,
                        max_bps: config.max_bitrate_bps,
                    })
                    .collect(),
            };
            parts.push(Participant {
                conns,
                streams,
                cpu: Cpu::new(config.cores),
                camera,
                camera_position: 0,
                frame_no: 0,
                scaler: Scaler::new(),
                up: Scaler::new(),
                factory: (config.encoder_factory)(i, registry.clone()),
                decoders: DecoderFactory::new(registry.clone()),
                paused: false,
            });
        }
        // Offer/answer: the later participant offers to each earlier one (as a newcomer
        // would), exchanged in process.
        for j in 0..n {
            for i in 0..j {
                let (offer, pending) = conn(&mut parts, j, i).pc.offer()?;
                let answer = conn(&mut parts, i, j).pc.accept_offer(offer)?;
                conn(&mut parts, j, i).pc.accept_answer(pending, answer)?;
            }
        }
        Ok(Self {
            stats: vec![StreamStats::default(); n * n],
            history: vec![VecDeque::new(); n],
            last_g2g: vec![None; n * n],
            timeline: vec![Vec::new(); n * n],
            registry,
            epoch,
            parts,
            wires,
            pending: Vec::new(),
            events: Vec::new(),
            out: Vec::new(),
            rtc_events: Vec::new(),
            config,
        })
    }

    fn at(&self, ms: f64) -> Instant {
        self.epoch + Duration::from_secs_f64(ms.max(0.0) / 1000.0)
    }

    fn event(&mut self, t_ms: f64, what: String) {
        self.events.push(CallEvent { t_ms, what });
    }

    /// Runs the call to its end; `progress` hears about it every simulated second.
    pub fn run(mut self, mut progress: impl FnMut(&Progress)) -> Result<CallReport, CallError> {
        let started = Instant::now();
        let n = self.config.participants;
        let steps = self.config.duration_ms.ceil() as u64;
        let frame_ms = 1000.0 / self.config.fps;
        let mut next_capture = vec![0.0f64; n];
        let mut arrivals = Vec::new();
        for step in 0..=steps {
            let t = step as f64;
            let now = self.at(t);
            // Packets that arrived.
            for w in 0..self.wires.len() {
                let Some(wire) = self.wires[w].as_mut() else {
                    continue;
                };
                wire.link.advance(t, &mut arrivals);
                let (from, to) = (w / n, w % n);
                for a in arrivals.drain(..) {
                    let c = conn(&mut self.parts, to, from);
                    if t - c.last_rx_ms > 500.0 {
                        c.alive_since_ms = t;
                    }
                    c.last_rx_ms = t;
                    let resumed = std::mem::take(&mut c.held);
                    c.pc.handle_datagram(now, a.packet.source, &a.packet.contents)?;
                    if resumed {
                        let s = self.stream_of(to, from);
                        self.parts[to].streams[s].key_due = true;
                        self.event(
                            t,
                            format!("{} hears {} again: video resumes", name(to), name(from)),
                        );
                    }
                    self.pump(to, from, t)?;
                }
            }
            // Timers.
            for i in 0..n {
                for j in 0..n {
                    if i == j {
                        continue;
                    }
                    let c = conn(&mut self.parts, i, j);
                    if c.pc.next_timeout().is_none_or(|x| x <= now) {
                        c.pc.handle_timeout(now)?;
                        self.pump(i, j, t)?;
                    }
                }
            }
            // Scripted changes of participant 0.
            self.script(t)?;
            // Encoded frames whose encode has finished go out.
            self.send_due(t)?;
            // Capture and encode.
            for (i, next) in next_capture.iter_mut().enumerate() {
                if t + 1e-9 >= *next {
                    self.capture(i, t)?;
                    *next += frame_ms;
                }
            }
            self.send_due(t)?;
            // Frames due for playout are decoded and shown.
            self.play_out(t)?;
            self.judge_screens(t)?;
            if step % 100 == 0 {
                self.sample(t);
                self.watch_paths(t)?;
            }
            if step % 1000 == 0 && step > 0 {
                progress(&self.progress(t));
            }
        }
        Ok(self.report(started.elapsed().as_secs_f64()))
    }

    /// Polls a connection and routes what it produced; handles its events.
    fn pump(&mut self, i: usize, j: usize, t: f64) -> Result<(), CallError> {
        let n = self.config.participants;
        let mut out = std::mem::take(&mut self.out);
        let mut events = std::mem::take(&mut self.rtc_events);
        conn(&mut self.parts, i, j).pc.poll(&mut out, &mut events)?;
        for d in out.drain(..) {
            let wire = self.wires[i * n + j]
                .as_mut()
                .expect("a wire between distinct participants");
            let bytes = d.contents.len() + IP_UDP_OVERHEAD;
            // A refused datagram is lost, as on a real link.
            let _ = wire.link.send(t, bytes, d);
        }
        for e in events.drain(..) {
            self.on_event(i, j, t, e)?;
        }
        self.out = out;
        self.rtc_events = events;
        Ok(())
    }

    fn stream_of(&self, i: usize, j: usize) -> usize {
        self.parts[i]
            .streams
            .iter()
            .position(|s| s.peers.contains(&j))
            .expect("every peer is in a stream")
    }

    fn on_event(&mut self, i: usize, j: usize, t: f64, e: RtcEvent) -> Result<(), CallError> {
        let n = self.config.participants;
        match e {
            RtcEvent::Connected => {
                let s = self.stream_of(i, j);
                let max = self.parts[i].streams[s].max_bps;
                let c = conn(&mut self.parts, i, j);
                c.connected = true;
                c.pc.set_desired_bitrate(30_000, u64::from(max));
                self.parts[i].streams[s].key_due = true;
                self.event(t, format!("{}→{} connected", name(i), name(j)));
            }
            RtcEvent::IceState(state) => {
                self.event(t, format!("{} ICE with {}: {state:?}", name(i), name(j)));
            }
            RtcEvent::Frame(f) => {
                let stats = &mut self.stats[j * n + i];
                stats.bytes += f.data.len() as u64;
                if f.keyframe {
                    stats.keyframes += 1;
                }
                let c = conn(&mut self.parts, i, j);
                if f.keyframe {
                    c.keyframes.got_keyframe();
                }
                c.last_frame_ms = t;
                c.remote_paused = false;
                let missing = !f.contiguous && c.last_rtp.is_some();
                c.last_rtp = Some(f.rtp_time);
                c.jitter.insert(t, f.rtp_time, f.data, missing, f.keyframe);
                let target = c.jitter.target_ms();
                stats.jb_sum += target;
                stats.jb_n += 1;
            }
            // Simulated calls negotiate no audio.
            RtcEvent::Audio(_) => {}
            RtcEvent::KeyframeRequested => {
                let s = self.stream_of(i, j);
                self.parts[i].streams[s].key_due = true;
                self.event(t, format!("{} asks {} for a keyframe", name(j), name(i)));
            }
            RtcEvent::Estimate(bps) => {
                conn(&mut self.parts, i, j).estimate_bps = bps;
                let s = self.stream_of(i, j);
                self.update_rates(i, s)?;
            }
            RtcEvent::Stats { rtt, egress_loss } => {
                let c = conn(&mut self.parts, i, j);
                c.rtt = rtt.or(c.rtt);
                c.loss = egress_loss.map_or(c.loss, f64::from);
                let (rtt, loss) = (c.rtt, c.loss);
                let s = self.stream_of(i, j);
                if let Some(enc) = self.parts[i].streams[s].encoder.as_mut() {
                    if let Some(rtt) = rtt {
                        enc.on_rtt(rtt);
                    }
                    enc.on_packet_loss_rate(loss);
                }
            }
            RtcEvent::EgressStats { nacks, .. } => {
                self.stats[i * n + j].nacks = nacks;
            }
            RtcEvent::RemotePaused(p) => {
                // str0m says "not paused" when a stream starts: only a resumption is news.
                let c = conn(&mut self.parts, i, j);
                let news = p || c.remote_paused;
                c.remote_paused = p;
                if p {
                    self.stats[j * n + i].paused_seen = true;
                }
                if news {
                    self.event(
                        t,
                        format!(
                            "{} sees {} {}",
                            name(i),
                            name(j),
                            if p {
                                "pause (nothing for 1.5 s)"
                            } else {
                                "send again"
                            }
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    /// The rate of stream `s` of participant `i`: the (weakest) estimate, 0 while paused. With
    /// layers: as much as the strongest link takes, but no more than lets the weakest carry the
    /// base layer; links that cannot carry it all get the base layer only.
    fn update_rates(&mut self, i: usize, s: usize) -> Result<(), CallError> {
        let fps = self.config.fps;
        let layered = self.config.mesh == MeshEncoding::Layered;
        let p = &mut self.parts[i];
        let max = p.streams[s].max_bps;
        let estimates: Vec<(usize, u64)> = p.streams[s]
            .peers
            .iter()
            .filter_map(|&j| {
                p.conns[j]
                    .as_ref()
                    .filter(|c| c.connected)
                    .map(|c| (j, c.estimate_bps))
            })
            .collect();
        let Some(weakest) = estimates.iter().map(|e| e.1).min() else {
            return Ok(());
        };
        let strongest = estimates.iter().map(|e| e.1).max().unwrap_or(weakest);
        let estimate = if layered {
            strongest.min((weakest as f64 / BASE_LAYER_SHARE) as u64)
        } else {
            weakest
        };
        let bps = if p.paused {
            0
        } else {
            ((estimate as f64 * ESTIMATE_SHARE) as u64)
                .min(u64::from(max))
                .max(30_000) as u32
        };
        let stream = &mut p.streams[s];
        stream.rate_bps = bps;
        stream.base_only = if layered {
            estimates
                .iter()
                .filter(|e| (e.1 as f64 * ESTIMATE_SHARE) < f64::from(bps))
                .map(|e| e.0)
                .collect()
        } else {
            Vec::new()
        };
        if let Some(enc) = stream.encoder.as_mut() {
            let rates = if layered {
                let base = (f64::from(bps) * BASE_LAYER_SHARE) as u32;
                RateControlParameters {
                    layer_bitrates_bps: vec![base, bps - base],
                    ..RateControlParameters::new(bps, fps)
                }
            } else {
                RateControlParameters::new(bps, fps)
            };
            enc.set_rates(&rates)?;
        }
        Ok(())
    }

    fn script(&mut self, t: f64) -> Result<(), CallError> {
        if self
            .config
            .camera_switch_ms
            .is_some_and(|s| (s - t).abs() < 0.5)
        {
            let camera = (self.config.cameras)(0, 1)?;
            let p = &mut self.parts[0];
            p.camera = camera;
            p.camera_position = 1;
            self.event(t, "p0 switches to the rear camera".into());
        }
        if let Some((start, len)) = self.config.camera_off {
            let off = t >= start && t < start + len;
            if off != self.parts[0].paused {
                self.parts[0].paused = off;
                self.event(
                    t,
                    format!("p0 turns its camera {}", if off { "off" } else { "on" }),
                );
                for s in 0..self.parts[0].streams.len() {
                    self.update_rates(0, s)?;
                }
            }
        }
        for o in self.config.network.outages.clone() {
            if (o.start_ms - t).abs() < 0.5 {
                self.event(t, format!("p0's network drops for {:.0} ms", o.duration_ms));
            }
            if (o.start_ms + o.duration_ms - t).abs() < 0.5 {
                self.event(t, "p0's network is back".into());
            }
        }
        Ok(())
    }

    fn capture(&mut self, i: usize, t: f64) -> Result<(), CallError> {
        let (w, h, fps, codec) = (
            self.config.width,
            self.config.height,
            self.config.fps,
            self.config.codec,
        );
        let p = &mut self.parts[i];
        let n = p.frame_no;
        p.frame_no += 1;
        // Nothing is encoded before someone is there to receive it.
        let any_connected = p.conns.iter().flatten().any(|c| c.connected);
        if !any_connected {
            return Ok(());
        }
        let raw = p.camera.frame(n)?;
        let mut frame = if (raw.width(), raw.height()) == (w, h) {
            raw
        } else {
            p.scaler
                .scale(&raw, w, h)
                .map_err(|e| CallError::Setup(format!("scaling the camera: {e}")))?
        };
        let ts_us = (t * 1000.0).round() as i64;
        frame.set_timestamp_us(ts_us);
        let history = &mut self.history[i];
        history.push_back((ts_us, frame.clone()));
        while history
            .front()
            .is_some_and(|(ts, _)| (*ts as f64) < (t - HISTORY_MS) * 1000.0)
        {
            history.pop_front();
        }
        if !p.paused {
            for (j, c) in p.conns.iter().enumerate() {
                if c.as_ref().is_some_and(|c| c.connected) {
                    let st = &mut self.stats[i * self.config.participants + j];
                    st.captured += 1;
                    st.to_judge.push_back((ts_us, t + DISPLAY_DELAY_MS));
                }
            }
        }
        for s in 0..p.streams.len() {
            let connected: Vec<usize> = p.streams[s]
                .peers
                .iter()
                .copied()
                .filter(|&j| p.conns[j].as_ref().is_some_and(|c| c.connected))
                .collect();
            if connected.is_empty() {
                continue;
            }
            if p.streams[s].encoder.is_none() {
                let format: Option<VideoFormat> = p.conns[connected[0]]
                    .as_mut()
                    .and_then(|c| c.pc.send_format().cloned());
                let Some(format) = format else { continue };
                let mut enc = p.factory.create(&format)?;
                let mut settings =
                    EncoderSettings::new(w, h, fps, p.streams[s].rate_bps.max(30_000));
                settings.number_of_cores = self.config.cores;
                settings.max_bitrate_bps = self.config.max_bitrate_bps;
                settings.min_bitrate_bps = 30_000;
                settings.rtvc_rate_control = self.config.rtvc_rate_control;
                if self.config.mesh == MeshEncoding::Layered {
                    settings.scalability_mode = crate::format::ScalabilityMode::L1T2;
                }
                enc.init(&settings)?;
                // Never more than the send size is worth (the encoder's limits for it; ours for
                // an encoder that has none, e.g. hardware).
                {
                    let max = enc
                        .encoder_info()
                        .resolution_bitrate_limits
                        .first()
                        .map_or(crate::encoder::max_bitrate_for(w, h).max(300_000), |l| {
                            l.max_bitrate_bps
                        })
                        .min(self.config.max_bitrate_bps);
                    p.streams[s].max_bps = max;
                    p.streams[s].rate_bps = p.streams[s].rate_bps.min(max);
                    for &j in &connected {
                        if let Some(c) = p.conns[j].as_mut() {
                            c.pc.set_desired_bitrate(30_000, u64::from(max));
                        }
                    }
                }
                p.streams[s].encoder = Some(enc);
                let rate = if p.paused { 0 } else { p.streams[s].rate_bps };
                if let Some(e) = p.streams[s].encoder.as_mut() {
                    e.set_rates(&RateControlParameters::new(rate, fps))?;
                }
            }
            let stream = &mut p.streams[s];
            let types = if stream.key_due {
                [VideoFrameType::Key]
            } else {
                [VideoFrameType::Delta]
            };
            let enc = stream.encoder.as_mut().expect("created above");
            match enc.encode(&frame, &types)? {
                EncodeResult::Encoded(img) => {
                    if img.info.keyframe {
                        stream.key_due = false;
                        self.events.push(CallEvent {
                            t_ms: t,
                            what: format!(
                                "p{i} encodes a keyframe ({} bytes, at {} kbps)",
                                img.data.len(),
                                stream.rate_bps / 1000
                            ),
                        });
                    }
                    let cost = match self.config.cost {
                        CostModel::Measured => img.encode_time.as_secs_f64() * 1000.0,
                        CostModel::Fixed => fixed_cost_ms(codec, true, img.width, img.height),
                    };
                    let done = p.cpu.run(t, cost);
                    self.pending.push(PendingSend {
                        at_ms: done,
                        from: i,
                        stream: s,
                        rtp_time: (img.capture_time_us.max(0) as u64) * 9 / 100,
                        capture_ms: img.capture_time_us as f64 / 1000.0,
                        keyframe: img.info.keyframe,
                        temporal_id: img.info.temporal_id,
                        // The one copy: str0m takes the payload as `Arc<[u8]>`, shared by
                        // every connection it goes to.
                        data: Arc::from(&img.data[..]),
                    });
                }
                EncodeResult::Dropped(_) => {}
            }
        }
        Ok(())
    }

    fn send_due(&mut self, t: f64) -> Result<(), CallError> {
        let n = self.config.participants;
        let mut k = 0;
        while k < self.pending.len() {
            if self.pending[k].at_ms > t + 1e-9 {
                k += 1;
                continue;
            }
            let ps = self.pending.remove(k);
            let wallclock = self.at(ps.capture_ms);
            let peers = self.parts[ps.from].streams[ps.stream].peers.clone();
            let base_only = self.parts[ps.from].streams[ps.stream].base_only.clone();
            for j in peers {
                if ps.temporal_id > 0 && base_only.contains(&j) {
                    continue;
                }
                let c = conn(&mut self.parts, ps.from, j);
                if !c.connected {
                    continue;
                }
                let silence =
                    SILENCE_HOLD_MS.max(3.0 * c.rtt.map_or(0.0, |r| r.as_secs_f64() * 1e3));
                if c.held || c.last_tx_ms - c.last_rx_ms > silence {
                    if !c.held {
                        c.held = true;
                        self.events.push(CallEvent {
                            t_ms: t,
                            what: format!("p{} hears nothing from p{j}: video to it held", ps.from),
                        });
                    }
                    continue;
                }
                c.last_tx_ms = t;
                if c.pc
                    .send_frame(wallclock, ps.rtp_time, ps.keyframe, ps.data.clone())?
                {
                    self.stats[ps.from * n + j].frames_sent += 1;
                }
                self.pump(ps.from, j, t)?;
            }
        }
        Ok(())
    }

    fn play_out(&mut self, t: f64) -> Result<(), CallError> {
        let n = self.config.participants;
        let now = self.at(t);
        let codec = self.config.codec;
        let cost_model = self.config.cost;
        let cores = self.config.cores;
        for j in 0..n {
            for i in 0..n {
                if i == j {
                    continue;
                }
                // Keyframe requests still owed are repeated.
                if conn(&mut self.parts, j, i).keyframes.poll(now) {
                    self.request_keyframe(j, i, t)?;
                }
                loop {
                    let p = &mut self.parts[j];
                    let c = p.conns[i].as_mut().expect("distinct participants");
                    let Some(b) = c.jitter.pop_due(t) else { break };
                    if c.decoder.is_none() {
                        let Some(format) = c.pc.send_format().cloned() else {
                            break;
                        };
                        let mut d = p.decoders.create(&format)?;
                        d.configure(&DecoderSettings::new(1920, 1080, cores))?;
                        c.decoder = Some(d);
                    }
                    let decoder = c.decoder.as_mut().expect("created above");
                    let image = ReceivedImage {
                        data: Bytes::from_owner(b.data),
                        capture_time_us: (b.rtp_time * 100 / 9) as i64,
                        rotation: Default::default(),
                        missing_frames: b.missing_before,
                    };
                    let started = Instant::now();
                    let result = decoder.decode(&image);
                    let measured = started.elapsed().as_secs_f64() * 1000.0;
                    match result {
                        Ok(DecodeResult::Picture(pic)) => {
                            let cost = match cost_model {
                                CostModel::Measured => measured,
                                CostModel::Fixed => {
                                    fixed_cost_ms(codec, false, pic.width(), pic.height())
                                }
                            };
                            let shown = p.cpu.run(t, cost);
                            let capture_ms = image.capture_time_us as f64 / 1000.0;
                            let mse = self.judge(i, j, image.capture_time_us, &pic)?;
                            let screen = &mut self.stats[i * n + j].screen;
                            screen.push_back((shown, image.capture_time_us, pic.clone()));
                            while screen.len() > 2 && screen[1].0 <= t - HISTORY_MS {
                                screen.pop_front();
                            }
                            self.stats[i * n + j].on_shown(
                                shown,
                                capture_ms,
                                (pic.width(), pic.height()),
                                mse,
                            );
                            self.last_g2g[i * n + j] = Some(shown - capture_ms);
                        }
                        Ok(DecodeResult::NoOutput) => {}
                        Ok(DecodeResult::RequestKeyframe(_)) | Err(_) => {
                            // Frames already waiting stay: the keyframe may be among them.
                            if c.keyframes.need(now) {
                                self.request_keyframe(j, i, t)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn request_keyframe(&mut self, j: usize, i: usize, t: f64) -> Result<(), CallError> {
        let n = self.config.participants;
        if conn(&mut self.parts, j, i).pc.request_keyframe()? {
            self.stats[i * n + j].keyframe_requests += 1;
            self.pump(j, i, t)?;
        }
        Ok(())
    }

    /// Luma MSE of a shown picture against the frame captured for it (scaled up if it was sent
    /// smaller).
    fn judge(
        &mut self,
        from: usize,
        to: usize,
        ts_us: i64,
        pic: &Frame,
    ) -> Result<Option<f64>, CallError> {
        let Some((_, src)) = self.history[from].iter().find(|(ts, _)| *ts == ts_us) else {
            return Ok(None);
        };
        let src = src.clone();
        let up;
        let pic = if (pic.width(), pic.height()) == (src.width(), src.height()) {
            pic
        } else {
            up = self.parts[to]
                .up
                .scale(pic, src.width(), src.height())
                .map_err(|e| CallError::Setup(format!("scaling a picture: {e}")))?;
            &up
        };
        Ok(frame_mse(&src, pic).ok().map(|m| m.y))
    }

    /// What a player with a fixed playout delay ([`DISPLAY_DELAY_MS`]) shows for each captured
    /// frame, against the captured frame.
    fn judge_screens(&mut self, t: f64) -> Result<(), CallError> {
        let n = self.config.participants;
        for k in 0..self.stats.len() {
            let (i, j) = (k / n, k % n);
            while let Some(&(ts, due)) = self.stats[k].to_judge.front() {
                if due > t {
                    break;
                }
                self.stats[k].to_judge.pop_front();
                let st = &self.stats[k];
                // The player shows frame `ts` at `due` if it was decoded by then, else the
                // latest earlier frame that was.
                let Some((_, _, pic)) = st
                    .screen
                    .iter()
                    .filter(|(shown, cap, _)| *shown <= due && *cap <= ts)
                    .max_by_key(|(_, cap, _)| *cap)
                else {
                    continue; // nothing shown yet: start-up
                };
                let pic = pic.clone();
                if let Some(mse) = self.judge(i, j, ts, &pic)? {
                    self.stats[k].display_mse_sum += mse;
                    self.stats[k].display_n += 1;
                }
            }
        }
        Ok(())
    }

    fn sample(&mut self, t: f64) {
        let n = self.config.participants;
        for i in 0..n {
            for j in 0..n {
                let Some(wire) = self.wires[i * n + j].as_mut() else {
                    continue;
                };
                let sent = wire.link.stats().sent_bytes;
                let sent_bps = (sent - wire.sent_bytes_mark) as f64 * 8.0 / 0.1;
                wire.sent_bytes_mark = sent;
                let capacity = wire
                    .link
                    .bottleneck()
                    .capacity_bps(t as u64, t as u64 + 100);
                let estimate = self.parts[i].conns[j]
                    .as_ref()
                    .map_or(0, |c| c.estimate_bps) as f64;
                if self.parts[i].conns[j].as_ref().is_some_and(|c| c.connected) {
                    let st = &mut self.stats[i * n + j];
                    st.bwe_sum += estimate;
                    st.bwe_n += 1;
                }
                self.timeline[i * n + j].push(TimelinePoint {
                    t_ms: t,
                    capacity_bps: capacity,
                    estimate_bps: estimate,
                    sent_bps,
                    g2g_ms: self.last_g2g[i * n + j],
                });
            }
        }
    }

    /// Camera-off detection, media timeouts and ICE restarts.
    fn watch_paths(&mut self, t: f64) -> Result<(), CallError> {
        let n = self.config.participants;
        // A peer whose packets still arrive (RTCP, probes) but whose frames stopped 1 s ago
        // has paused its video (camera off): show the last picture, ask for nothing.
        for j in 0..n {
            for i in 0..n {
                if i == j {
                    continue;
                }
                let c = conn(&mut self.parts, j, i);
                if c.last_rtp.is_some()
                    && !c.remote_paused
                    && t - c.last_frame_ms >= 1000.0
                    && t - c.alive_since_ms >= 1000.0
                    && t - c.last_rx_ms < 500.0
                {
                    c.remote_paused = true;
                    self.stats[i * n + j].paused_seen = true;
                    self.event(
                        t,
                        format!("{} sees {} paused (camera off)", name(j), name(i)),
                    );
                }
            }
        }
        for j in 0..n {
            for i in 0..j {
                let a = conn(&mut self.parts, i, j);
                let (last_a, was_connected) = (a.last_rx_ms, a.connected);
                let last_b = conn(&mut self.parts, j, i).last_rx_ms;
                if !was_connected {
                    continue;
                }
                let silent = t - last_a.max(last_b);
                let broken_since = conn(&mut self.parts, i, j).broken_since;
                if silent >= MEDIA_TIMEOUT_MS {
                    if broken_since.is_none() {
                        conn(&mut self.parts, i, j).broken_since = Some(t);
                        self.event(
                            t,
                            format!(
                                "{}–{}: no packets for 1 s (media timeout)",
                                name(i),
                                name(j)
                            ),
                        );
                    }
                    let since = broken_since.unwrap_or(t);
                    let last_restart = conn(&mut self.parts, i, j).last_restart_ms;
                    if t - since >= ICE_RESTART_AFTER_MS - MEDIA_TIMEOUT_MS
                        && t - last_restart >= ICE_RESTART_AFTER_MS
                    {
                        conn(&mut self.parts, i, j).last_restart_ms = t;
                        let (offer, pending) =
                            conn(&mut self.parts, j, i).pc.ice_restart_offer()?;
                        let answer = conn(&mut self.parts, i, j).pc.accept_offer(offer)?;
                        conn(&mut self.parts, j, i)
                            .pc
                            .accept_answer(pending, answer)?;
                        self.event(t, format!("{} restarts ICE with {}", name(j), name(i)));
                        self.pump(j, i, t)?;
                        self.pump(i, j, t)?;
                    }
                } else if broken_since.is_some() {
                    conn(&mut self.parts, i, j).broken_since = None;
                    self.event(t, format!("{}–{}: packets again", name(i), name(j)));
                }
            }
        }
        Ok(())
    }

    fn progress(&self, t: f64) -> Progress {
        let n = self.config.participants;
        let mut streams = Vec::new();
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let st = &self.stats[i * n + j];
                let shown_last_s = st.shown.iter().filter(|s| s.0 > t - 1000.0).count();
                let kbps = self.timeline[i * n + j]
                    .iter()
                    .rev()
                    .take(10)
                    .map(|p| p.sent_bps)
                    .sum::<f64>()
                    / 10.0
                    / 1000.0;
                streams.push((
                    format!("{}→{}", name(i), name(j)),
                    kbps,
                    shown_last_s as f64,
                    self.last_g2g[i * n + j],
                    st.freezes(&self.excused(), t).len(),
                ));
            }
        }
        Progress {
            t_s: t / 1000.0,
            streams,
        }
    }

    /// Spans in which gaps are not freezes: participant 0's camera-off time (+1 s to come back).
    fn excused(&self) -> Vec<(f64, f64)> {
        self.config
            .camera_off
            .map(|(s, l)| vec![(s, s + l + 1000.0)])
            .unwrap_or_default()
    }

    fn report(self, wall_s: f64) -> CallReport {
        let n = self.config.participants;
        let duration_s = self.config.duration_ms / 1000.0;
        let codec = self.config.codec.to_string();
        let mut streams = Vec::new();
        let mut timeline = Vec::new();
        let mut freezes_all = Vec::new();
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let st = &self.stats[i * n + j];
                let excused = if i == 0 { self.excused() } else { Vec::new() };
                let freezes = st.freezes(&excused, self.config.duration_ms);
                let g2g = st.g2g();
                let outage_path = i == 0 || j == 0;
                let recovery = if outage_path {
                    self.config
                        .network
                        .outages
                        .iter()
                        .map(|o| {
                            let back = o.start_ms + o.duration_ms;
                            st.shown
                                .iter()
                                // A fresh picture: frames from before the outage, repaired
                                // late, do not count.
                                .find(|s| s.0 >= back && s.1 >= back)
                                .map_or(self.config.duration_ms - back, |s| s.0 - back)
                        })
                        .reduce(f64::max)
                } else {
                    None
                };
                let camera_on = match (i, self.config.camera_off) {
                    (0, Some((s, l))) => Some(
                        st.shown
                            .iter()
                            .find(|x| x.0 >= s + l)
                            .map_or(self.config.duration_ms - (s + l), |x| x.0 - (s + l)),
                    ),
                    _ => None,
                };
                streams.push(StreamReport {
                    from: name(i),
                    to: name(j),
                    codec: codec.clone(),
                    frames_captured: st.captured,
                    frames_sent: st.frames_sent,
                    drops_pct: round(
                        100.0 * st.captured.saturating_sub(st.frames_sent) as f64
                            / st.captured.max(1) as f64,
                        2,
                    ),
                    frames_decoded: st.shown.len() as u64,
                    freezes: freezes.len() as u64,
                    max_freeze_ms: round(freezes.iter().map(|f| f.1).fold(0.0, f64::max), 1),
                    max_gap_ms: round(st.max_gap(&excused, self.config.duration_ms), 1),
                    g2g_ms_p50: round(percentile(&g2g, 50.0), 1),
                    g2g_ms_p95: round(percentile(&g2g, 95.0), 1),
                    psnr_y: round(
                        rtvc_codec::quality::psnr_from_mse(st.mse_sum / st.mse_n.max(1) as f64),
                        2,
                    ),
                    psnr_y_display: round(
                        rtvc_codec::quality::psnr_from_mse(
                            st.display_mse_sum / st.display_n.max(1) as f64,
                        ),
                        2,
                    ),
                    keyframe_requests: st.keyframe_requests,
                    nacks: st.nacks,
                    recovery_ms: recovery.map(|r| round(r, 1)),
                    kbps: round(st.bytes as f64 * 8.0 / duration_s / 1000.0, 1),
                    bwe_kbps: round(st.bwe_sum / st.bwe_n.max(1) as f64 / 1000.0, 1),
                    resolution_changes: st.resolution_changes,
                    keyframes: st.keyframes,
                    jitter_buffer_ms: round(st.jb_sum / st.jb_n.max(1) as f64, 1),
                    camera_off_seen: (i == 0 && self.config.camera_off.is_some())
                        .then_some(st.paused_seen),
                    camera_on_ms: camera_on.map(|c| round(c, 1)),
                });
                timeline.push(self.timeline[i * n + j].clone());
                freezes_all.push(freezes);
            }
        }
        let summary = stats::summarize(&streams, &codec);
        let cores = f64::from(self.config.cores.max(1));
        let cpu_percent = self
            .parts
            .iter()
            .map(|p| round(100.0 * p.cpu.busy_ms() / self.config.duration_ms / cores, 1))
            .collect();
        CallReport {
            streams,
            summary,
            events: self.events,
            simulated_s: duration_s,
            cpu_percent,
            wall_s,
            timeline,
            freezes: freezes_all,
        }
    }

    /// The registry the participants use.
    pub fn registry(&self) -> &Arc<CodecRegistry> {
        &self.registry
    }
}

fn conn(parts: &mut [Participant], i: usize, j: usize) -> &mut Conn {
    parts[i].conns[j]
        .as_mut()
        .expect("a connection between distinct participants")
}
