//! `rtvc join`: a native endpoint in a room of `rtvc serve`. str0m on a real UDP socket
//! (loopback here), our encoder and decoder factories with our rate control, Opus audio (a
//! tone), in real time. It calls everyone in the room (mesh: one encode feeds all links, at the
//! weakest link's estimate), answers newcomers, restarts ICE with a peer that resumed, and at the
//! end asks each peer for its own stats (a browser page answers with its `getStats()`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rtvc_codec::scale::Scaler;
use rtvc_codec::{CodecKind, CodecRegistry, Frame};
use rtvc_signal::{Client, ClientError, ClientMessage, Joined, ServerMessage};
use rtvc_webrtc::rtc::{
    KeyframeRequester, PeerConnection, RtcEvent, SdpPendingOffer, rtc_config, with_audio,
};
use rtvc_webrtc::{
    DecodeResult, DecoderFactory, DecoderSettings, EncodeResult, EncoderFactory, EncoderSettings,
    RateControlParameters, ReceivedImage, VideoFrameType, WebRtcDecoder, WebRtcEncoder,
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::CliError;
use crate::encode::parse_codec;
use crate::source::LoopingClip;

/// `rtvc join` arguments.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The server, e.g. ws://127.0.0.1:8080.
    pub url: String,
    /// Room to join.
    #[arg(long)]
    pub room: String,
    /// Codec to send (what we offer; an offer from a peer decides for its link).
    #[arg(long, default_value = "av1", value_parser = parse_codec)]
    pub codec: CodecKind,
    /// Video source: a clip or synthetic:WxH.
    #[arg(long, default_value = "synthetic:640x360")]
    pub input: String,
    /// How long to stay, seconds.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Audio to send: `tone` (440 Hz) or a WAV file (48 kHz, 16-bit), looped.
    #[arg(long, default_value = "tone")]
    pub audio: String,
    /// Display name.
    #[arg(long, default_value = "rtvc")]
    pub name: String,
    /// Room token (servers with a secret).
    #[arg(long)]
    pub token: Option<String>,
    /// At AT seconds, send at WxH instead (scaled): AT:WxH.
    #[arg(long, value_name = "AT:WxH")]
    pub resize: Option<String>,
    /// Drop this share (percent) of received and sent datagrams at random (loss injection).
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Send one keyframe request (PLI) to every peer at this second (interop checks).
    #[arg(long, value_name = "S")]
    pub pli_at: Option<f64>,
    /// Fault injection: do not send the first keyframe encoded at or after this second (the
    /// peer must ask for another).
    #[arg(long, value_name = "S")]
    pub drop_keyframe_at: Option<f64>,
    /// Print every signaling message (its start) to stderr as it arrives.
    #[arg(long)]
    pub verbose: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One direction of one link, with the keys of `rtvc call`'s streams where they can be
/// measured here (no reference picture across processes: no PSNR or glass-to-glass).
#[derive(Debug, Default, Clone, Serialize)]
pub struct JoinStream {
    pub from: String,
    pub to: String,
    pub codec: String,
    pub frames_sent: u64,
    pub frames_received: u64,
    pub frames_decoded: u64,
    pub decode_errors: u64,
    pub keyframes: u64,
    pub freezes: u64,
    pub max_freeze_ms: f64,
    pub keyframe_requests: u64,
    pub kbps: f64,
    pub bwe_kbps: Option<f64>,
    pub width: u32,
    pub height: u32,
    pub resolution_changes: u64,
    pub audio_packets_sent: u64,
    pub audio_packets_received: u64,
    pub audio_packets_decoded: u64,
}

/// What `rtvc join --json` prints.
#[derive(Debug, Serialize)]
pub struct JoinReport {
    pub id: String,
    pub room: String,
    pub seconds: f64,
    pub streams: Vec<JoinStream>,
    /// Keyframes not sent (`--drop-keyframe-at`).
    pub keyframes_dropped: u64,
    /// Each peer's answer to `stats_request` (a browser: its `getStats()`), by peer id.
    pub peer_stats: BTreeMap<String, Value>,
}

const AUDIO_MS: u64 = 20;
const AUDIO_RATE: u64 = 48_000;
const ESTIMATE_SHARE: f64 = 0.85;

struct Peer {
    name: String,
    pc: PeerConnection,
    pending: Option<SdpPendingOffer>,
    connected: bool,
    estimate: u64,
    keyframes: KeyframeRequester,
    decoder: Option<Box<dyn WebRtcDecoder>>,
    audio: opus::Decoder,
    pcm: Vec<i16>,
    out: JoinStream,
    inn: JoinStream,
    bytes_sent: u64,
    bytes_received: u64,
    last_shown: Option<Instant>,
    intervals: Vec<f64>,
    plis_seen: u64,
}

struct Endpoint {
    id: String,
    codec: CodecKind,
    registry: Arc<CodecRegistry>,
    socket: tokio::net::UdpSocket,
    local: SocketAddr,
    peers: BTreeMap<String, Peer>,
    gone: Vec<JoinStream>,
    encoder: Option<Box<dyn WebRtcEncoder>>,
    enc_size: (u32, u32),
    key_due: bool,
    rng: u64,
    loss: f64,
    started: Instant,
    /// Drop the first keyframe at or after this instant (fault injection).
    drop_keyframe: Option<Instant>,
    /// Keyframes dropped that way.
    keyframes_dropped: u64,
}

fn err(what: &str) -> impl Fn(rtvc_webrtc::rtc::RtcBindingError) -> CliError + '_ {
    move |e| CliError::Check(format!("{what}: {e}"))
}

impl Endpoint {
    fn new_peer(&mut self, id: &str, name: &str) -> Result<&mut Peer, CliError> {
        if !self.peers.contains_key(id) {
            let config = with_audio(rtc_config(&self.registry, Some(self.codec), 300_000));
            let pc = PeerConnection::new(config, self.local, Instant::now())
                .map_err(err("connection"))?;
            let codec = self.codec.to_string();
            self.peers.insert(
                id.to_owned(),
                Peer {
                    name: name.to_owned(),
                    pc,
                    pending: None,
                    connected: false,
                    estimate: 300_000,
                    keyframes: KeyframeRequester::default(),
                    decoder: None,
                    audio: opus::Decoder::new(48_000, opus::Channels::Mono)
                        .map_err(|e| CliError::Check(format!("opus: {e}")))?,
                    pcm: vec![0; 5760],
                    out: JoinStream {
                        from: self.id.clone(),
                        to: id.to_owned(),
                        codec: codec.clone(),
                        ..Default::default()
                    },
                    inn: JoinStream {
                        from: id.to_owned(),
                        to: self.id.clone(),
                        codec,
                        ..Default::default()
                    },
                    bytes_sent: 0,
                    bytes_received: 0,
                    last_shown: None,
                    intervals: Vec::new(),
                    plis_seen: 0,
                },
            );
        }
        Ok(self.peers.get_mut(id).expect("inserted"))
    }

    fn lose(&mut self) -> bool {
        if self.loss <= 0.0 {
            return false;
        }
        // xorshift: enough for loss injection.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 10_000) as f64 / 100.0 < self.loss
    }

    /// Polls every connection: datagrams out, events handled.
    async fn pump(&mut self) -> Result<(), CliError> {
        let ids: Vec<String> = self.peers.keys().cloned().collect();
        let mut out = Vec::new();
        let mut events = Vec::new();
        for id in ids {
            let p = self.peers.get_mut(&id).expect("listed");
            p.pc.poll(&mut out, &mut events).map_err(err("str0m"))?;
            for d in out.drain(..) {
                if self.loss > 0.0 && self.lose() {
                    continue;
                }
                let _ = self.socket.send_to(&d.contents, d.destination).await;
            }
            for e in events.drain(..) {
                self.on_event(&id, e)?;
            }
        }
        Ok(())
    }

    fn on_event(&mut self, id: &str, e: RtcEvent) -> Result<(), CliError> {
        let now = Instant::now();
        let Some(p) = self.peers.get_mut(id) else {
            return Ok(());
        };
        match e {
            RtcEvent::Connected => {
                p.connected = true;
                p.pc.set_desired_bitrate(30_000, 2_500_000);
                self.key_due = true;
                eprintln!("rtvc join: connected to {} ({id})", p.name);
            }
            RtcEvent::Frame(f) => {
                p.inn.frames_received += 1;
                p.bytes_received += f.data.len() as u64;
                if f.keyframe {
                    p.inn.keyframes += 1;
                    p.keyframes.got_keyframe();
                }
                if p.decoder.is_none()
                    && let Some(format) = p.pc.send_format().cloned()
                {
                    let mut d = DecoderFactory::new(self.registry.clone())
                        .create(&format)
                        .map_err(|e| CliError::Check(format!("decoder: {e}")))?;
                    d.configure(&DecoderSettings::new(1920, 1080, 2))
                        .map_err(|e| CliError::Check(format!("decoder: {e}")))?;
                    p.decoder = Some(d);
                }
                let Some(dec) = p.decoder.as_mut() else {
                    return Ok(());
                };
                let image = ReceivedImage {
                    data: bytes::Bytes::from_owner(f.data),
                    capture_time_us: (f.rtp_time * 100 / 9) as i64,
                    rotation: Default::default(),
                    missing_frames: !f.contiguous,
                };
                match dec.decode(&image) {
                    Ok(DecodeResult::Picture(pic)) => {
                        p.inn.frames_decoded += 1;
                        if (pic.width(), pic.height()) != (p.inn.width, p.inn.height) {
                            if p.inn.width != 0 {
                                p.inn.resolution_changes += 1;
                            }
                            p.inn.width = pic.width();
                            p.inn.height = pic.height();
                        }
                        if let Some(last) = p.last_shown {
                            p.intervals
                                .push(now.duration_since(last).as_secs_f64() * 1000.0);
                        }
                        p.last_shown = Some(now);
                    }
                    Ok(DecodeResult::NoOutput) => {}
                    Ok(DecodeResult::RequestKeyframe(_)) | Err(_) => {
                        p.inn.decode_errors += 1;
                        if p.keyframes.need(now) && p.pc.request_keyframe().map_err(err("PLI"))? {
                            p.inn.keyframe_requests += 1;
                        }
                    }
                }
            }
            RtcEvent::Audio(a) => {
                p.inn.audio_packets_received += 1;
                if p.audio.decode(&a.data, &mut p.pcm, false).is_ok() {
                    p.inn.audio_packets_decoded += 1;
                }
            }
            RtcEvent::KeyframeRequested => {
                p.plis_seen += 1;
                self.key_due = true;
            }
            RtcEvent::Estimate(bps) => {
                p.estimate = bps;
                p.out.bwe_kbps = Some(bps as f64 / 1000.0);
                self.update_rate()?;
            }
            RtcEvent::EgressStats { plis, .. } => p.out.keyframe_requests = plis,
            RtcEvent::IceState(_) | RtcEvent::Stats { .. } | RtcEvent::RemotePaused(_) => {}
        }
        Ok(())
    }

    fn update_rate(&mut self) -> Result<(), CliError> {
        let est = self
            .peers
            .values()
            .filter(|p| p.connected)
            .map(|p| p.estimate)
            .min();
        if let (Some(est), Some(enc)) = (est, self.encoder.as_mut()) {
            let bps = ((est as f64 * ESTIMATE_SHARE) as u32).clamp(30_000, 2_500_000);
            enc.set_rates(&RateControlParameters::new(bps, 30.0))
                .map_err(|e| CliError::Check(format!("set_rates: {e}")))?;
        }
        Ok(())
    }

    /// Encodes `frame` once and sends it to every connected peer.
    fn send_video(&mut self, frame: &Frame, fps: f64) -> Result<(), CliError> {
        if !self.peers.values().any(|p| p.connected) {
            return Ok(());
        }
        let format = self
            .peers
            .values_mut()
            .find(|p| p.connected)
            .and_then(|p| p.pc.send_format().cloned());
        let Some(format) = format else { return Ok(()) };
        let (w, h) = (frame.width(), frame.height());
        // A new send size (--resize) gets a new encoder: it starts with a keyframe.
        let needs_new = self.encoder.is_none() || self.enc_size != (w, h);
        if needs_new {
            let mut enc = EncoderFactory::new(self.registry.clone())
                .create(&format)
                .map_err(|e| CliError::Check(format!("encoder: {e}")))?;
            let mut s = EncoderSettings::new(w, h, fps, 300_000);
            s.number_of_cores = 2;
            s.min_bitrate_bps = 30_000;
            s.max_bitrate_bps = 2_500_000;
            enc.init(&s)
                .map_err(|e| CliError::Check(format!("encoder: {e}")))?;
            self.encoder = Some(enc);
            self.enc_size = (w, h);
            self.update_rate()?;
            self.key_due = true;
        }
        let enc = self.encoder.as_mut().expect("created");
        let types = [if self.key_due {
            VideoFrameType::Key
        } else {
            VideoFrameType::Delta
        }];
        let result = enc
            .encode(frame, &types)
            .map_err(|e| CliError::Check(format!("encode: {e}")))?;
        if let EncodeResult::Encoded(img) = result {
            if img.info.keyframe {
                self.key_due = false;
                if self.drop_keyframe.is_some_and(|at| Instant::now() >= at) {
                    self.drop_keyframe = None;
                    self.keyframes_dropped += 1;
                    eprintln!("rtvc join: keyframe dropped (fault injection)");
                    return Ok(());
                }
            }
            let rtp = (self.started.elapsed().as_micros() as u64) * 9 / 100;
            let data: Arc<[u8]> = Arc::from(&img.data[..]);
            let now = Instant::now();
            for p in self.peers.values_mut().filter(|p| p.connected) {
                if p.pc
                    .send_frame(now, rtp, img.info.keyframe, data.clone())
                    .map_err(err("send"))?
                {
                    p.out.frames_sent += 1;
                    p.bytes_sent += data.len() as u64;
                    p.out.width = img.width;
                    p.out.height = img.height;
                }
            }
        }
        Ok(())
    }

    fn send_audio(
        &mut self,
        enc: &mut opus::Encoder,
        source: &mut AudioSource,
        n: u64,
    ) -> Result<(), CliError> {
        let samples = (AUDIO_RATE * AUDIO_MS / 1000) as usize;
        let pcm = source.next(n, samples);
        let mut packet = [0u8; 1500];
        let len = enc
            .encode(&pcm, &mut packet)
            .map_err(|e| CliError::Check(format!("opus: {e}")))?;
        let rtp = n * samples as u64;
        let now = Instant::now();
        for p in self.peers.values_mut().filter(|p| p.connected) {
            if p.pc
                .send_audio(now, rtp, &packet[..len])
                .map_err(err("audio"))?
            {
                p.out.audio_packets_sent += 1;
            }
        }
        Ok(())
    }

    fn finish(p: Peer, seconds: f64) -> [JoinStream; 2] {
        let Peer {
            mut out,
            mut inn,
            intervals,
            bytes_sent,
            bytes_received,
            plis_seen,
            ..
        } = p;
        out.kbps = round1(bytes_sent as f64 * 8.0 / seconds / 1000.0);
        inn.kbps = round1(bytes_received as f64 * 8.0 / seconds / 1000.0);
        out.keyframe_requests = out.keyframe_requests.max(plis_seen);
        // libwebrtc's freeze: an interval over max(3 × the average, average + 150 ms).
        if !intervals.is_empty() {
            let avg = intervals.iter().sum::<f64>() / intervals.len() as f64;
            for &iv in &intervals {
                if iv > (3.0 * avg).max(avg + 150.0) {
                    inn.freezes += 1;
                    inn.max_freeze_ms = inn.max_freeze_ms.max(round1(iv));
                }
            }
        }
        [out, inn]
    }
}

/// What `rtvc join` says: a tone, or a WAV file (48 kHz, 16-bit, mono or stereo mixed down),
/// looped.
pub enum AudioSource {
    /// A 440 Hz tone at -20 dBFS.
    Tone,
    /// The samples of a WAV file.
    Wav(Vec<i16>, usize),
}

impl AudioSource {
    /// `tone` or a WAV file.
    pub fn open(spec: &str) -> Result<Self, CliError> {
        if spec == "tone" {
            return Ok(Self::Tone);
        }
        let path = std::path::Path::new(spec);
        let bad = |why: String| CliError::Usage(format!("--audio {spec}: {why}"));
        let mut r = hound::WavReader::open(path).map_err(|e| bad(e.to_string()))?;
        let spec_ = r.spec();
        if spec_.sample_rate != AUDIO_RATE as u32
            || spec_.bits_per_sample != 16
            || spec_.sample_format != hound::SampleFormat::Int
            || !(1..=2).contains(&spec_.channels)
        {
            return Err(bad(format!(
                "{} Hz, {}-bit, {} channel(s): rtvc join takes 48000 Hz 16-bit mono or stereo \
                 (ffmpeg -i IN -ar 48000 -ac 1 -c:a pcm_s16le OUT.wav)",
                spec_.sample_rate, spec_.bits_per_sample, spec_.channels
            )));
        }
        let ch = usize::from(spec_.channels);
        let all: Vec<i16> = r
            .samples::<i16>()
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
        let mono: Vec<i16> = all
            .chunks_exact(ch)
            .map(|c| (c.iter().map(|&v| i32::from(v)).sum::<i32>() / ch as i32) as i16)
            .collect();
        if mono.is_empty() {
            return Err(bad("no samples".into()));
        }
        Ok(Self::Wav(mono, 0))
    }

    /// The `samples` of packet `n`.
    fn next(&mut self, n: u64, samples: usize) -> Vec<i16> {
        match self {
            Self::Tone => (0..samples)
                .map(|i| {
                    let t = (n as usize * samples + i) as f64 / AUDIO_RATE as f64;
                    (3277.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect(),
            Self::Wav(pcm, at) => (0..samples)
                .map(|_| {
                    let v = pcm[*at];
                    *at = (*at + 1) % pcm.len();
                    v
                })
                .collect(),
        }
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

pub fn parse_resize(s: &str) -> Result<(f64, u32, u32), CliError> {
    let bad = || CliError::Usage(format!("--resize {s:?}: AT:WxH, e.g. 5:320x180"));
    let (at, size) = s.split_once(':').ok_or_else(bad)?;
    let at: f64 = at.parse().map_err(|_| bad())?;
    let (w, h) = crate::util::parse_size(size).map_err(|_| bad())?;
    Ok((at, w, h))
}

/// Runs `rtvc join`.
pub fn run(args: &JoinArgs) -> Result<JoinReport, CliError> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        return Err(CliError::Usage("--seconds is 0–3600".into()));
    }
    if !(0.0..=50.0).contains(&args.loss) {
        return Err(CliError::Usage("--loss is 0–50 (percent)".into()));
    }
    let resize = args.resize.as_deref().map(parse_resize).transpose()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Write)?;
    rt.block_on(run_async(args, resize))
}

pub async fn run_async(
    args: &JoinArgs,
    resize: Option<(f64, u32, u32)>,
) -> Result<JoinReport, CliError> {
    // Bad inputs fail before we join anyone.
    let mut clip = LoopingClip::open(&args.input, Some(30.0))?;
    let mut audio_src = AudioSource::open(&args.audio)?;
    let fps = 30.0;
    let (mut client, joined) = Client::join(
        &args.url,
        &args.room,
        &args.name,
        args.token.as_deref(),
        None,
        Duration::from_secs(10),
    )
    .await
    .map_err(|e| CliError::Check(format!("{}: {e}", args.url)))?;
    eprintln!(
        "rtvc join: {} in room {} as {} with {} peer(s)",
        args.url,
        args.room,
        joined.id,
        joined.peers.len()
    );
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(CliError::Write)?;
    let local = socket.local_addr().map_err(CliError::Write)?;
    let mut ep = Endpoint {
        id: joined.id.clone(),
        codec: args.codec,
        registry: Arc::new(CodecRegistry::with_builtin()),
        socket,
        local,
        peers: BTreeMap::new(),
        gone: Vec::new(),
        encoder: None,
        enc_size: (0, 0),
        key_due: true,
        rng: 0x9e37_79b9_7f4a_7c15,
        loss: args.loss,
        started: Instant::now(),
        drop_keyframe: args
            .drop_keyframe_at
            .map(|s| Instant::now() + Duration::from_secs_f64(s)),
        keyframes_dropped: 0,
    };
    for p in &joined.peers {
        let peer = ep.new_peer(&p.id, &p.name)?;
        let (sdp, pending) = peer.pc.offer_sdp(true).map_err(err("offer"))?;
        peer.pending = Some(pending);
        send(
            &mut client,
            ClientMessage::Offer {
                to: p.id.clone(),
                sdp,
            },
        )
        .await?;
    }
    ep.pump().await?;

    let mut audio_enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
        .map_err(|e| CliError::Check(format!("opus: {e}")))?;
    let mut scaler = Scaler::new();
    let start = tokio::time::Instant::now();
    let end = start + Duration::from_secs_f64(args.seconds);
    let frame_iv = Duration::from_secs_f64(1.0 / fps);
    let (mut next_frame, mut next_audio) = (start, start);
    let (mut frame_n, mut audio_n) = (0u64, 0u64);
    let mut buf = vec![0u8; 2000];
    let mut stats_wanted = 0usize;
    let mut peer_stats = BTreeMap::new();
    let mut asked_stats = false;
    // Signaling may drop (network, server restart): media goes on peer to peer meanwhile, and a
    // task reconnects with our resume token (a restarted server does not know it: then we are
    // a newcomer again and offer to everyone).
    let mut resume = joined.resume.clone();
    let mut reconnect: Option<tokio::task::JoinHandle<Result<(Client, Joined), ClientError>>> =
        None;
    let mut signaling_dead = false;
    let mut pli_due = args.pli_at;
    loop {
        let now = tokio::time::Instant::now();
        if now >= end && !asked_stats {
            asked_stats = true;
            let ids: Vec<String> = ep.peers.keys().cloned().collect();
            for id in ids {
                if send(&mut client, ClientMessage::StatsRequest { to: id })
                    .await
                    .is_ok()
                {
                    stats_wanted += 1;
                }
            }
        }
        if now >= end && (peer_stats.len() >= stats_wanted || now >= end + Duration::from_secs(3)) {
            break;
        }
        let rtc_due = ep
            .peers
            .values()
            .filter_map(|p| p.pc.next_timeout())
            .min()
            .map(tokio::time::Instant::from_std)
            .unwrap_or(now);
        let wake = rtc_due
            .min(next_frame)
            .min(next_audio)
            .min(end.max(now + Duration::from_millis(1)));
        tokio::select! {
            m = client.recv(Duration::from_secs(3600)), if reconnect.is_none() && !signaling_dead => {
                match m {
                    Ok(m) => {
                        if args.verbose {
                            let t = format!("{m:?}");
                            eprintln!("rtvc join: {:.3} s  {}", start.elapsed().as_secs_f64(), &t[..t.len().min(160)]);
                        }
                        if let Some((from, report)) = on_signal(&mut ep, &mut client, m).await? {
                            peer_stats.insert(from, Value::Object(report));
                        }
                    }
                    Err(e) => {
                        eprintln!("rtvc join: signaling: {e}; reconnecting");
                        let (url, room, name) = (args.url.clone(), args.room.clone(), args.name.clone());
                        let (token, resume) = (args.token.clone(), resume.clone());
                        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                        reconnect = Some(tokio::spawn(async move {
                            Client::join_retrying(&url, &room, &name, token.as_deref(), Some(&resume), deadline).await
                        }));
                    }
                }
            }
            r = async { reconnect.as_mut().expect("checked").await }, if reconnect.is_some() => {
                reconnect = None;
                match r {
                    Ok(Ok((c, j))) => {
                        client = c;
                        resume = j.resume.clone();
                        eprintln!(
                            "rtvc join: signaling back as {}{}",
                            j.id,
                            if j.resumed { " (same seat)" } else { " (new seat: calling everyone again)" }
                        );
                        if !j.resumed {
                            rejoin(&mut ep, &mut client, &j).await?;
                        }
                    }
                    Ok(Err(e)) => {
                        eprintln!("rtvc join: signaling gone for good: {e}");
                        signaling_dead = true;
                    }
                    Err(e) => {
                        eprintln!("rtvc join: reconnecting: {e}");
                        signaling_dead = true;
                    }
                }
            }
            r = ep.socket.recv_from(&mut buf) => {
                let (n, source) = r.map_err(CliError::Write)?;
                if !(ep.loss > 0.0 && ep.lose()) {
                    let t = Instant::now();
                    let data = &buf[..n];
                    if let Some(p) = ep.peers.values_mut().find(|p| p.pc.accepts(t, source, data)) {
                        p.pc.handle_datagram(t, source, data).map_err(err("input"))?;
                    }
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
        let t = Instant::now();
        for p in ep.peers.values_mut() {
            if p.pc.next_timeout().is_none_or(|x| x <= t) {
                p.pc.handle_timeout(t).map_err(err("timeout"))?;
            }
            if p.keyframes.poll(t) && p.pc.request_keyframe().map_err(err("PLI"))? {
                p.inn.keyframe_requests += 1;
            }
        }
        let now = tokio::time::Instant::now();
        if let Some(at) = pli_due
            && now.duration_since(start).as_secs_f64() >= at
        {
            pli_due = None;
            for p in ep.peers.values_mut().filter(|p| p.connected) {
                if p.pc.request_keyframe().map_err(err("PLI"))? {
                    p.inn.keyframe_requests += 1;
                }
            }
        }
        if now >= next_frame && now < end {
            let mut frame = clip.next()?;
            if let Some((at, w, h)) = resize
                && now.duration_since(start).as_secs_f64() >= at
                && (frame.width(), frame.height()) != (w, h)
            {
                frame = scaler
                    .scale(&frame, w, h)
                    .map_err(|e| CliError::Check(format!("scaling: {e}")))?;
            }
            frame.set_timestamp_us(now.duration_since(start).as_micros() as i64);
            ep.send_video(&frame, fps)?;
            frame_n += 1;
            next_frame += frame_iv;
            if next_frame < now {
                next_frame = now + frame_iv; // fell behind: skip, do not burst
            }
        }
        if now >= next_audio && now < end {
            ep.send_audio(&mut audio_enc, &mut audio_src, audio_n)?;
            audio_n += 1;
            next_audio += Duration::from_millis(AUDIO_MS);
        }
        ep.pump().await?;
    }
    let _ = frame_n;
    let _ = send(&mut client, ClientMessage::Leave).await;
    let _ = client.close().await;
    let seconds = start.elapsed().as_secs_f64().min(args.seconds);
    let mut streams = ep.gone;
    for (_, p) in std::mem::take(&mut ep.peers) {
        streams.extend(Endpoint::finish(p, seconds));
    }
    Ok(JoinReport {
        id: ep.id,
        room: args.room.clone(),
        seconds: round1(seconds),
        streams,
        keyframes_dropped: ep.keyframes_dropped,
        peer_stats,
    })
}

/// A fresh seat after the server lost ours: the old connections are ended (their streams
/// reported) and we offer to everyone present, as a newcomer.
async fn rejoin(ep: &mut Endpoint, client: &mut Client, j: &Joined) -> Result<(), CliError> {
    let secs = ep.started.elapsed().as_secs_f64();
    for (_, p) in std::mem::take(&mut ep.peers) {
        ep.gone.extend(Endpoint::finish(p, secs));
    }
    ep.id = j.id.clone();
    ep.encoder = None;
    for p in &j.peers {
        let peer = ep.new_peer(&p.id, &p.name)?;
        let (sdp, pending) = peer.pc.offer_sdp(true).map_err(err("offer"))?;
        peer.pending = Some(pending);
        let _ = send(
            client,
            ClientMessage::Offer {
                to: p.id.clone(),
                sdp,
            },
        )
        .await;
    }
    Ok(())
}

async fn send(c: &mut Client, m: ClientMessage) -> Result<(), CliError> {
    c.send(&m)
        .await
        .map_err(|e| CliError::Check(format!("signaling: {e}")))
}

/// Handles one signaling message; returns a peer's stats report when that is what it was.
async fn on_signal(
    ep: &mut Endpoint,
    client: &mut Client,
    m: ServerMessage,
) -> Result<Option<(String, Map<String, Value>)>, CliError> {
    match m {
        ServerMessage::PeerJoined { id, name } => {
            ep.new_peer(&id, &name)?;
        }
        ServerMessage::Offer { from, sdp } => {
            let peer = ep.new_peer(&from, &from)?;
            // A peer's bad SDP ends that negotiation, not our call.
            let answer = match peer.pc.accept_offer_sdp(&sdp) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("rtvc join: offer from {from} refused: {e}");
                    return Ok(None);
                }
            };
            // A send that fails means signaling broke: the reconnect renegotiates.
            send(
                client,
                ClientMessage::Answer {
                    to: from,
                    sdp: answer,
                },
            )
            .await
            .ok();
        }
        ServerMessage::Answer { from, sdp } => {
            if let Some(p) = ep.peers.get_mut(&from)
                && let Some(pending) = p.pending.take()
                && let Err(e) = p.pc.accept_answer_sdp(pending, &sdp)
            {
                eprintln!("rtvc join: answer from {from} refused: {e}");
            }
        }
        ServerMessage::Candidate {
            from, candidate, ..
        } => {
            if let Some(p) = ep.peers.get_mut(&from)
                && !candidate.is_empty()
                && candidate.contains(" 127.0.0.1 ")
                && let Err(e) = p.pc.add_remote_candidate(&candidate)
            {
                eprintln!("rtvc join: {e}");
            }
        }
        ServerMessage::PeerResumed { id } => {
            if let Some(p) = ep.peers.get_mut(&id) {
                let (sdp, pending) = match p.pc.ice_restart_offer_sdp() {
                    Ok(o) => o,
                    Err(e) => {
                        eprintln!("rtvc join: ICE restart with {id}: {e}");
                        return Ok(None);
                    }
                };
                p.pending = Some(pending);
                send(client, ClientMessage::Offer { to: id, sdp })
                    .await
                    .ok();
            }
        }
        ServerMessage::PeerLeft { id, .. } => {
            if let Some(p) = ep.peers.remove(&id) {
                let secs = ep.started.elapsed().as_secs_f64();
                ep.gone.extend(Endpoint::finish(p, secs));
            }
        }
        ServerMessage::StatsRequest { from } => {
            let mut report = Map::new();
            for p in ep.peers.values() {
                report.insert(
                    p.inn.from.clone(),
                    serde_json::to_value(&p.inn).unwrap_or(Value::Null),
                );
            }
            send(client, ClientMessage::Stats { to: from, report })
                .await
                .ok();
        }
        ServerMessage::Stats { from, report } => return Ok(Some((from, report))),
        ServerMessage::Error { code, message } => {
            eprintln!("rtvc join: server: {code:?}: {message}");
        }
        ServerMessage::Joined { .. }
        | ServerMessage::PeerDisconnected { .. }
        | ServerMessage::Pong => {}
    }
    Ok(None)
}

/// Prints the report as a table.
pub fn print_table(r: &JoinReport) {
    println!(
        "{:<20} {:>6} {:>6} {:>7} {:>4} {:>4} {:>9} {:>7} {:>9} {:>6} {:>6}",
        "stream",
        "sent",
        "recv",
        "decoded",
        "err",
        "frz",
        "size",
        "kbps",
        "PLI",
        "aud rx",
        "aud ok"
    );
    for s in &r.streams {
        println!(
            "{:<20} {:>6} {:>6} {:>7} {:>4} {:>4} {:>9} {:>7.0} {:>9} {:>6} {:>6}",
            format!("{}→{}", s.from, s.to),
            s.frames_sent,
            s.frames_received,
            s.frames_decoded,
            s.decode_errors,
            s.freezes,
            format!("{}x{}", s.width, s.height),
            s.kbps,
            s.keyframe_requests,
            s.audio_packets_received,
            s.audio_packets_decoded
        );
    }
}
