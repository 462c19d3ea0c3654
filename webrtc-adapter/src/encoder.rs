//! The encoder side: a factory that offers our formats and creates encoders for negotiated ones,
//! and an encoder with libwebrtc's lifecycle and semantics (`api/video_codecs/video_encoder.h`).
//!
//! | libwebrtc | here |
//! |---|---|
//! | `VideoEncoderFactory::GetSupportedFormats` | [`EncoderFactory::supported_formats`] |
//! | `QueryCodecSupport(format, scalability_mode)` | [`EncoderFactory::query_codec_support`] |
//! | `Create(format)` | [`EncoderFactory::create`] (a typed error names what is unsupported) |
//! | `GetEncoderInfo()` (valid before init) | [`WebRtcEncoder::encoder_info`] |
//! | `InitEncode(settings)` | [`WebRtcEncoder::init`] (again to reconfigure) |
//! | `Encode(frame, frame_types)` | [`WebRtcEncoder::encode`]: the encoded image with its codec-specific info, or the drop and why |
//! | `SetRates(bitrate per layer, framerate, bandwidth)` | [`WebRtcEncoder::set_rates`]; 0 bps pauses, resuming starts with a keyframe |
//! | `OnPacketLossRateUpdate`, `OnRttUpdate`, `OnLossNotification` | [`WebRtcEncoder::on_packet_loss_rate`], [`WebRtcEncoder::on_rtt`], [`WebRtcEncoder::on_loss_notification`] |
//! | `Release()` | [`WebRtcEncoder::release`] |
//!
//! With frame dropping on ([`EncoderSettings::frame_dropping`], libwebrtc's `frame_drop_enabled`)
//! the codec core's [`RateController`] sits inside the encoder: it decides, for every frame,
//! whether to encode it, at which resolution and frame rate, and with which rates and frame size
//! caps, so a WebRTC stack gets our rate control (and reports it as a trusted rate controller)
//! without knowing it. Its clock is the frames' capture times. With frame dropping off every
//! frame is encoded at the rates given.
//!
//! Transient trouble is a drop ([`EncodeResult::Dropped`]), never an error: libwebrtc switches
//! to another encoder on any error from `Encode`. Errors are for calls out of order, settings
//! out of range and a failing codec.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rtvc_codec::encoder::ContentKind;
use rtvc_codec::rate::{self, RateControlConfig, RateController, SkipReason};
use rtvc_codec::scale::Scaler;
use rtvc_codec::{
    CodecKind, CodecRegistry, DropReason, EncodeOutcome, EncoderConfig, Frame, FrameError, Rates,
    Rotation, VideoEncoder,
};

use crate::fallback::{FallbackEncoder, FallbackListener, FallbackReason, Side};
use crate::format::{FormatError, ScalabilityMode, VideoFormat};
use crate::{AdapterError, encoder_formats};

/// libwebrtc's `kMaxFramerateFraction`: a layer that gets every frame.
pub const FULL_FRAMERATE: u8 = 255;

/// Largest RTP payload assumed for H.264 packetization mode 0 when the settings do not say.
pub const DEFAULT_MAX_PAYLOAD_BYTES: u32 = 1200;

/// What a factory can do with a format (libwebrtc `CodecSupport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodecSupport {
    /// An encoder can be created for it (with that scalability mode).
    pub is_supported: bool,
    /// It would run on dedicated hardware (never, for our software encoders).
    pub is_power_efficient: bool,
}

/// Creates a hardware encoder for a format (registered with
/// [`EncoderFactory::register_hardware`]).
pub type HardwareEncoderMaker =
    Arc<dyn Fn(&VideoFormat) -> Result<Box<dyn WebRtcEncoder>, AdapterError> + Send + Sync>;

/// A registered hardware encoder.
#[derive(Clone)]
struct HardwareEncoder {
    format: VideoFormat,
    make: HardwareEncoderMaker,
}

/// Creates encoders for negotiated formats: registered hardware encoders first (wrapped so that
/// they fall back to ours, see [`crate::fallback`]), then our software encoders from a codec
/// registry.
#[derive(Clone)]
pub struct EncoderFactory {
    registry: Arc<CodecRegistry>,
    hardware: Vec<HardwareEncoder>,
    listener: Option<FallbackListener>,
}

impl fmt::Debug for EncoderFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hw: Vec<String> = self.hardware.iter().map(|h| h.format.to_string()).collect();
        f.debug_struct("EncoderFactory")
            .field("hardware", &hw)
            .field("software", &self.software_formats().len())
            .finish()
    }
}

impl EncoderFactory {
    /// A factory over `registry` (usually [`CodecRegistry::with_builtin`]).
    pub fn new(registry: Arc<CodecRegistry>) -> Self {
        Self {
            registry,
            hardware: Vec::new(),
            listener: None,
        }
    }

    /// Registers a hardware encoder for `format` (e.g. VideoToolbox H.264), preferred over
    /// ours. When our software encodes the same format too, encoders for it fall back to ours
    /// when the hardware fails.
    pub fn register_hardware(
        &mut self,
        format: VideoFormat,
        make: impl Fn(&VideoFormat) -> Result<Box<dyn WebRtcEncoder>, AdapterError>
        + Send
        + Sync
        + 'static,
    ) {
        self.hardware.push(HardwareEncoder {
            format,
            make: Arc::new(make),
        });
    }

    /// Who hears about hardware → software switches.
    pub fn set_fallback_listener(&mut self, listener: FallbackListener) {
        self.listener = Some(listener);
    }

    fn software_formats(&self) -> Vec<VideoFormat> {
        encoder_formats(&self.registry)
    }

    /// The formats we encode, in preference order: registered hardware first, then ours (see
    /// [`crate::encoder_formats`]); a format offered by both is listed once.
    pub fn supported_formats(&self) -> Vec<VideoFormat> {
        crate::preferred_first(
            self.hardware.iter().map(|h| h.format.clone()),
            self.software_formats(),
        )
    }

    /// Whether `format` (and `scalability_mode`, when given) can be encoded.
    pub fn query_codec_support(
        &self,
        format: &VideoFormat,
        scalability_mode: Option<&str>,
    ) -> CodecSupport {
        let offers = |f: &VideoFormat| {
            f.is_same_codec(format)
                && scalability_mode.is_none_or(|m| {
                    ScalabilityMode::parse(m).is_some_and(|m| f.scalability_modes.contains(&m))
                })
        };
        let hardware = self.hardware.iter().any(|h| offers(&h.format));
        CodecSupport {
            is_supported: hardware || self.software_formats().iter().any(offers),
            is_power_efficient: hardware,
        }
    }

    /// An encoder for `format`; [`AdapterError::UnsupportedFormat`] names what is not supported.
    /// With a hardware encoder registered for it: the hardware, wrapped to fall back to ours
    /// (a hardware encoder that cannot even be created is replaced at once, and reported).
    pub fn create(&self, format: &VideoFormat) -> Result<Box<dyn WebRtcEncoder>, AdapterError> {
        let ours = self
            .software_formats()
            .into_iter()
            .find(|f| f.is_same_codec(format));
        let software = {
            let registry = Arc::clone(&self.registry);
            let negotiated = format.clone();
            let ours = ours.clone();
            move || -> Result<Box<dyn WebRtcEncoder>, AdapterError> {
                let ours = ours
                    .clone()
                    .ok_or_else(|| AdapterError::UnsupportedFormat {
                        format: negotiated.to_string(),
                        reason: "no software encoder to fall back to".into(),
                    })?;
                Ok(Box::new(RtvcEncoder::new(
                    Arc::clone(&registry),
                    ours,
                    &negotiated,
                )?))
            }
        };
        if let Some(h) = self
            .hardware
            .iter()
            .find(|h| h.format.is_same_codec(format))
        {
            let codec = format.codec();
            return match ((h.make)(format), codec, ours.is_some()) {
                (Ok(hw), Some(codec), true) => Ok(Box::new(FallbackEncoder::new(
                    codec,
                    hw,
                    Box::new(software),
                    self.listener.clone(),
                ))),
                // Nothing of ours to fall back to: the hardware as it is.
                (Ok(hw), _, _) => Ok(hw),
                (Err(e), Some(codec), true) => {
                    let sw = software()?;
                    crate::fallback::report(
                        self.listener.as_ref(),
                        Side::Encoder,
                        codec,
                        h.format.name.clone(),
                        sw.encoder_info().implementation_name,
                        FallbackReason::InitFailed(e.to_string()),
                    );
                    Ok(sw)
                }
                (Err(e), _, _) => Err(e),
            };
        }
        if ours.is_none() {
            return Err(AdapterError::UnsupportedFormat {
                format: format.to_string(),
                reason: unsupported_reason(&self.supported_formats(), format),
            });
        }
        software()
    }
}

/// Why no format of `ours` matches `format`, in words.
fn unsupported_reason(ours: &[VideoFormat], format: &VideoFormat) -> String {
    if !ours
        .iter()
        .any(|f| f.name.eq_ignore_ascii_case(&format.name))
    {
        let names: Vec<&str> = ours.iter().map(|f| f.name.as_str()).collect();
        return format!(
            "no encoder for codec {} (have: {})",
            format.name,
            names.join(", ")
        );
    }
    match format.codec() {
        Some(CodecKind::H264) => {
            match (format.h264_profile_level_id(), format.packetization_mode()) {
                (Err(e), _) | (_, Err(e)) => e.to_string(),
                (Ok(p), Ok(m)) => format!(
                    "H.264 {} with packetization-mode {m} is not one we encode (Constrained \
                 Baseline or Baseline, mode 0 or 1)",
                    p.profile.name()
                ),
            }
        }
        Some(CodecKind::Av1) => match format.av1_profile() {
            Err(e) => e.to_string(),
            Ok(p) => format!("AV1 profile {p} is not one we encode (profile 0)"),
        },
        None => format!("no encoder for codec {}", format.name),
    }
}

/// Encoder settings (libwebrtc `VideoCodec` + `VideoEncoder::Settings`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EncoderSettings {
    /// Width of the frames to come (the largest; smaller ones are fine).
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Highest frame rate the source delivers.
    pub max_framerate: f64,
    /// Bitrate to start at, bits/s.
    pub start_bitrate_bps: u32,
    /// Lowest bitrate to run at (above 0, a lower target is raised to this), bits/s.
    pub min_bitrate_bps: u32,
    /// Highest bitrate to use, bits/s.
    pub max_bitrate_bps: u32,
    /// CPU cores the encoder may use.
    pub number_of_cores: u32,
    /// Scalability mode (`L1T1`: one layer).
    pub scalability_mode: ScalabilityMode,
    /// libwebrtc's `frame_drop_enabled`: the rate controller may skip frames (and scale).
    pub frame_dropping: bool,
    /// With frame dropping on: rtvc's rate controller does it (true, the default), or the
    /// codec's own rate control alone, as libwebrtc drives an encoder (false; for comparisons).
    pub rtvc_rate_control: bool,
    /// Camera or screen content.
    pub content: ContentKind,
    /// Largest RTP payload, bytes: H.264 packetization mode 0 keeps every NAL unit under it.
    pub max_payload_bytes: u32,
}

impl EncoderSettings {
    /// Camera settings: `width`x`height` at up to `max_framerate`, starting at
    /// `start_bitrate_bps` (min 30 kbps, max 4× the start), frame dropping on, L1T1, the
    /// machine's cores.
    pub fn new(width: u32, height: u32, max_framerate: f64, start_bitrate_bps: u32) -> Self {
        Self {
            width,
            height,
            max_framerate,
            start_bitrate_bps,
            min_bitrate_bps: 30_000,
            max_bitrate_bps: start_bitrate_bps.saturating_mul(4),
            number_of_cores: std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1),
            scalability_mode: ScalabilityMode::L1T1,
            frame_dropping: true,
            rtvc_rate_control: true,
            content: ContentKind::Camera,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
        }
    }

    fn check(&self) -> Result<(), AdapterError> {
        let bad = |field: &'static str, value: String, valid: &'static str| {
            Err(AdapterError::Settings {
                field,
                value,
                valid,
            })
        };
        if self.min_bitrate_bps > self.max_bitrate_bps {
            return bad(
                "min_bitrate_bps",
                self.min_bitrate_bps.to_string(),
                "at most max_bitrate_bps",
            );
        }
        if !(self.min_bitrate_bps..=self.max_bitrate_bps).contains(&self.start_bitrate_bps) {
            return bad(
                "start_bitrate_bps",
                self.start_bitrate_bps.to_string(),
                "min_bitrate_bps..=max_bitrate_bps",
            );
        }
        if self.number_of_cores == 0 {
            return bad("number_of_cores", "0".into(), "at least 1");
        }
        if !(300..=65_535).contains(&self.max_payload_bytes) {
            return bad(
                "max_payload_bytes",
                self.max_payload_bytes.to_string(),
                "300..=65535",
            );
        }
        Ok(())
    }
}

/// A frame type asked for (libwebrtc `VideoFrameType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoFrameType {
    /// A keyframe.
    Key,
    /// Whatever the encoder chooses.
    Delta,
}

/// New rates (libwebrtc `RateControlParameters`).
#[derive(Debug, Clone, PartialEq)]
pub struct RateControlParameters {
    /// Target bits/s per temporal layer (their sum is the stream's target; all 0 pauses).
    pub layer_bitrates_bps: Vec<u32>,
    /// Frame rate the source is expected to deliver.
    pub framerate: f64,
    /// Bandwidth the allocator could give, headroom included (informative).
    pub bandwidth_allocation_bps: Option<u32>,
}

impl RateControlParameters {
    /// One layer at `bitrate_bps` and `framerate`.
    pub fn new(bitrate_bps: u32, framerate: f64) -> Self {
        Self {
            layer_bitrates_bps: vec![bitrate_bps],
            framerate,
            bandwidth_allocation_bps: None,
        }
    }

    fn total_bps(&self) -> u32 {
        self.layer_bitrates_bps
            .iter()
            .fold(0u32, |a, &b| a.saturating_add(b))
    }
}

/// A loss notification from the receiver (RTCP LNTF, libwebrtc `LossNotification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossNotification {
    /// RTP timestamp of the last frame the receiver could decode.
    pub timestamp_of_last_decodable: u32,
    /// RTP timestamp of the last frame it received.
    pub timestamp_of_last_received: u32,
    /// Whether the frames the last received one depends on were decodable, when known.
    pub dependencies_of_last_received_decodable: Option<bool>,
    /// Whether the last received frame itself was decodable, when known.
    pub last_received_decodable: Option<bool>,
}

/// Quality-scaler thresholds in the codec's QP domain (AV1 qindex 0..=255, H.264 QP 0..=51).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QpThresholds {
    /// Average QP below this suggests a higher resolution.
    pub low: u32,
    /// Average QP above this suggests a lower resolution.
    pub high: u32,
}

/// Bitrates that suit one frame size (libwebrtc `ResolutionBitrateLimits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResolutionBitrateLimits {
    /// Width × height.
    pub frame_size_pixels: u32,
    /// Lowest bitrate to start a stream of this size at.
    pub min_start_bitrate_bps: u32,
    /// Lowest bitrate this size is worth encoding at.
    pub min_bitrate_bps: u32,
    /// Highest bitrate worth spending on this size.
    pub max_bitrate_bps: u32,
}

/// Static facts about an encoder (libwebrtc `EncoderInfo`), valid before [`WebRtcEncoder::init`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncoderInfo {
    /// Implementation name, e.g. `libaom`.
    pub implementation_name: String,
    /// False for ours (libwebrtc's default is true: software must say false).
    pub is_hardware_accelerated: bool,
    /// The output rate follows the target closely enough that the stack need not correct it.
    pub has_trusted_rate_controller: bool,
    /// Quality-scaler thresholds, in the codec's QP domain.
    pub qp_thresholds: QpThresholds,
    /// Width and height must be multiples of this.
    pub resolution_alignment: u32,
    /// Bitrate limits per frame size, largest first.
    pub resolution_bitrate_limits: Vec<ResolutionBitrateLimits>,
    /// Share of the frame rate per temporal layer, in 1/255 (libwebrtc `fps_allocation`).
    pub fps_allocation: Vec<u8>,
    /// Frames of delay between input and output (0 for ours).
    pub frame_delay: u32,
}

impl EncoderInfo {
    /// Facts for an encoder we know nothing about.
    pub(crate) fn unknown() -> Self {
        Self {
            implementation_name: "unknown".into(),
            is_hardware_accelerated: false,
            has_trusted_rate_controller: false,
            qp_thresholds: QpThresholds { low: 0, high: 0 },
            resolution_alignment: 1,
            resolution_bitrate_limits: Vec::new(),
            fps_allocation: vec![FULL_FRAMERATE],
            frame_delay: 0,
        }
    }

    /// Facts for a hardware encoder a host describes (through the C ABI, or a test).
    pub fn hardware(
        implementation_name: &str,
        qp_thresholds: QpThresholds,
        alignment: u32,
    ) -> Self {
        Self {
            implementation_name: implementation_name.into(),
            is_hardware_accelerated: true,
            has_trusted_rate_controller: false,
            qp_thresholds,
            resolution_alignment: alignment.max(1),
            resolution_bitrate_limits: Vec::new(),
            fps_allocation: vec![FULL_FRAMERATE],
            frame_delay: 0,
        }
    }
}

/// What a WebRTC stack needs to know about an encoded frame (libwebrtc `CodecSpecificInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodecSpecificInfo {
    /// Codec of the payload.
    pub codec: CodecKind,
    /// A keyframe (AV1 key frame with sequence header; H.264 IDR with SPS and PPS).
    pub keyframe: bool,
    /// Quantizer in the codec's domain.
    pub qp: Option<u32>,
    /// Temporal layer id.
    pub temporal_id: u8,
    /// H.264 only: the negotiated packetization mode.
    pub h264_packetization_mode: Option<u8>,
}

/// One encoded frame (libwebrtc `EncodedImage` + `CodecSpecificInfo`).
#[derive(Clone, PartialEq)]
pub struct EncodedImage {
    /// The payload: AV1 OBUs without temporal delimiter, H.264 Annex B.
    pub data: Bytes,
    /// Capture time of the frame, microseconds (passed through).
    pub capture_time_us: i64,
    /// Encoded width.
    pub width: u32,
    /// Encoded height.
    pub height: u32,
    /// Rotation of the frame (passed through).
    pub rotation: Rotation,
    /// Codec-specific information.
    pub info: CodecSpecificInfo,
    /// Time spent in the codec.
    pub encode_time: Duration,
}

impl fmt::Debug for EncodedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedImage")
            .field("bytes", &self.data.len())
            .field("capture_time_us", &self.capture_time_us)
            .field("size", &format_args!("{}x{}", self.width, self.height))
            .field("info", &self.info)
            .finish()
    }
}

/// Why a frame was not encoded (libwebrtc's frame-dropped callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameDropReason {
    /// The target bitrate is 0.
    Paused,
    /// The rate controller's bucket is full: the bits are spent.
    RateLimited,
    /// The rate controller runs at a lower frame rate than the source.
    FrameRateReduced,
    /// The codec's own rate control dropped it.
    EncoderRateControl,
}

/// The result of [`WebRtcEncoder::encode`].
#[derive(Debug, Clone, PartialEq)]
pub enum EncodeResult {
    /// The frame, encoded.
    Encoded(EncodedImage),
    /// The frame was dropped, for this reason.
    Dropped(FrameDropReason),
}

/// An encoder with libwebrtc's lifecycle (see the module docs).
pub trait WebRtcEncoder: Send {
    /// Static facts; valid before [`WebRtcEncoder::init`].
    fn encoder_info(&self) -> EncoderInfo;
    /// Starts (or restarts) with `settings`.
    fn init(&mut self, settings: &EncoderSettings) -> Result<(), AdapterError>;
    /// Encodes `frame` (a keyframe when `frame_types` asks for one).
    fn encode(
        &mut self,
        frame: &Frame,
        frame_types: &[VideoFrameType],
    ) -> Result<EncodeResult, AdapterError>;
    /// New rates; all layers at 0 pauses.
    fn set_rates(&mut self, parameters: &RateControlParameters) -> Result<(), AdapterError>;
    /// Packet loss fraction (0..=1) reported by the receiver.
    fn on_packet_loss_rate(&mut self, fraction: f64);
    /// A round-trip time sample.
    fn on_rtt(&mut self, rtt: Duration);
    /// A loss notification.
    fn on_loss_notification(&mut self, notification: LossNotification);
    /// Stops; [`WebRtcEncoder::init`] may start it again.
    fn release(&mut self);
}

impl fmt::Debug for dyn WebRtcEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebRtcEncoder")
            .field("implementation", &self.encoder_info().implementation_name)
            .finish()
    }
}

/// A running encoder.
struct Running {
    settings: EncoderSettings,
    encoder: Box<dyn VideoEncoder>,
    controller: Option<RateController>,
    scaler: Scaler,
    /// Target from the last `set_rates` (before clamping), bits/s; 0 = paused.
    target_bps: u32,
    framerate: f64,
    /// The next encoded frame must be a keyframe (after a pause, a loss notification).
    keyframe_due: bool,
    /// Capture time of the first frame: the controller's clock starts there.
    origin_us: Option<i64>,
    last_us: Option<i64>,
}

impl Running {
    fn now(&self, timestamp_us: i64) -> Duration {
        let origin = self.origin_us.unwrap_or(timestamp_us);
        Duration::from_micros(timestamp_us.saturating_sub(origin).max(0) as u64)
    }

    fn clamp(&self, bps: u32) -> u32 {
        if bps == 0 {
            0
        } else {
            bps.clamp(self.settings.min_bitrate_bps, self.settings.max_bitrate_bps)
        }
    }
}

/// Our software encoder for one negotiated format (see the module docs).
pub struct RtvcEncoder {
    registry: Arc<CodecRegistry>,
    format: VideoFormat,
    codec: CodecKind,
    packetization_mode: Option<u8>,
    running: Option<Running>,
}

impl fmt::Debug for RtvcEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtvcEncoder")
            .field("format", &self.format.to_string())
            .field("running", &self.running.is_some())
            .finish()
    }
}

impl RtvcEncoder {
    /// An encoder for `ours` (one of our formats) as negotiated in `negotiated`.
    fn new(
        registry: Arc<CodecRegistry>,
        ours: VideoFormat,
        negotiated: &VideoFormat,
    ) -> Result<Self, AdapterError> {
        let codec = ours
            .codec()
            .ok_or_else(|| AdapterError::UnsupportedFormat {
                format: negotiated.to_string(),
                reason: "not a codec rtvc has".into(),
            })?;
        let packetization_mode = match codec {
            CodecKind::H264 => Some(negotiated.packetization_mode().map_err(format_error)?),
            CodecKind::Av1 => None,
        };
        Ok(Self {
            registry,
            format: ours,
            codec,
            packetization_mode,
            running: None,
        })
    }

    /// The codec core's facts about the encoder a call would get for this codec.
    fn core_info(&self) -> Option<rtvc_codec::EncoderInfo> {
        self.registry
            .encoders(self.codec)
            .into_iter()
            .find(|e| e.info.frame_delay == 0)
            .map(|e| e.info.clone())
    }

    fn codec_config(&self, s: &EncoderSettings) -> EncoderConfig {
        let mut cfg = EncoderConfig::new(
            self.codec,
            s.width,
            s.height,
            s.start_bitrate_bps
                .max(rtvc_codec::encoder::MIN_BITRATE_BPS),
            s.max_framerate,
        );
        cfg.cores = Some(s.number_of_cores);
        cfg.content = s.content;
        cfg.temporal_layers = s.scalability_mode.temporal_layers();
        cfg.max_size = Some((s.width, s.height));
        if s.frame_dropping && s.rtvc_rate_control {
            rate::configure_encoder(&mut cfg);
        } else {
            cfg.frame_dropping = s.frame_dropping;
        }
        if self.packetization_mode == Some(0) {
            cfg.max_nal_bytes = Some(s.max_payload_bytes);
        }
        cfg
    }

    fn running(&mut self) -> Result<&mut Running, AdapterError> {
        self.running.as_mut().ok_or(AdapterError::Uninitialized)
    }
}

/// Bitrate limits per size from the rate controller's ladder for this codec: a size is worth
/// encoding from its rung's threshold (30 kbps at least) up to twice the threshold of the next
/// larger size (beyond that the larger size looks better); the top size up to 2.5 Mbps per
/// 720p worth of pixels.
/// The most a `width`x`height` stream is worth, bits/s: 2.5 Mbps at 720p, in proportion to the
/// pixels (the top of [`EncoderInfo::resolution_bitrate_limits`]).
pub fn max_bitrate_for(width: u32, height: u32) -> u32 {
    (2_500_000.0 * f64::from(width) * f64::from(height) / (1280.0 * 720.0)) as u32
}

fn bitrate_limits(codec: CodecKind, width: u32, height: u32) -> Vec<ResolutionBitrateLimits> {
    let rungs = RateControlConfig::for_codec(codec, width, height, 30.0).rungs;
    let mut out = Vec::with_capacity(rungs.len());
    let mut larger_min: Option<u32> = None;
    for r in &rungs {
        let pixels = r.width * r.height;
        let min = r.min_bps.max(30_000);
        let max = match larger_min {
            Some(m) => m.saturating_mul(2).max(min),
            None => max_bitrate_for(r.width, r.height).max(min),
        };
        out.push(ResolutionBitrateLimits {
            frame_size_pixels: pixels,
            min_start_bitrate_bps: min,
            min_bitrate_bps: min,
            max_bitrate_bps: max,
        });
        larger_min = Some(r.min_bps.max(30_000));
    }
    out
}

/// libwebrtc's `fps_allocation` for one spatial layer: the share of the frame rate up to each
/// temporal layer, in 1/255 (each layer doubles the rate of the ones below it).
fn fps_allocation(mode: ScalabilityMode) -> Vec<u8> {
    let layers = u32::from(mode.temporal_layers());
    (0..layers)
        .map(|tl| (u32::from(FULL_FRAMERATE) >> (layers - 1 - tl)) as u8)
        .collect()
}

fn format_error(e: FormatError) -> AdapterError {
    AdapterError::Format(e)
}

/// Scales a rung chosen for the configured size to a frame of another size (a camera that
/// switched), keeping even sizes.
fn scaled_size(decided: (u32, u32), configured: (u32, u32), frame: (u32, u32)) -> (u32, u32) {
    if frame == configured || decided == configured {
        return if decided == configured {
            frame
        } else {
            decided
        };
    }
    let f = f64::from(decided.1) / f64::from(configured.1.max(1));
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
    (even(f64::from(frame.0) * f), even(f64::from(frame.1) * f))
}

impl WebRtcEncoder for RtvcEncoder {
    fn encoder_info(&self) -> EncoderInfo {
        let core = self.core_info();
        let (width, height) = self
            .running
            .as_ref()
            .map_or((1280, 720), |r| (r.settings.width, r.settings.height));
        let controlled = self
            .running
            .as_ref()
            .is_none_or(|r| r.settings.frame_dropping && r.settings.rtvc_rate_control);
        EncoderInfo {
            implementation_name: core
                .as_ref()
                .map_or("rtvc", |c| c.implementation)
                .to_string(),
            is_hardware_accelerated: false,
            // Our rate controller corrects the codec's own errors (its bitrate adjuster), so
            // with it the output is trustworthy whatever the codec; without it, the codec's.
            has_trusted_rate_controller: controlled
                || core.as_ref().is_some_and(|c| c.has_trusted_rate_controller),
            qp_thresholds: core.as_ref().map_or(QpThresholds { low: 0, high: 0 }, |c| {
                QpThresholds {
                    low: c.qp_thresholds.0,
                    high: c.qp_thresholds.1,
                }
            }),
            resolution_alignment: core.as_ref().map_or(1, |c| c.resolution_alignment),
            resolution_bitrate_limits: bitrate_limits(self.codec, width, height),
            fps_allocation: fps_allocation(
                self.running
                    .as_ref()
                    .map_or(ScalabilityMode::L1T1, |r| r.settings.scalability_mode),
            ),
            frame_delay: 0,
        }
    }

    fn init(&mut self, settings: &EncoderSettings) -> Result<(), AdapterError> {
        settings.check()?;
        if !self
            .format
            .scalability_modes
            .contains(&settings.scalability_mode)
        {
            return Err(AdapterError::UnsupportedFormat {
                format: self.format.to_string(),
                reason: format!(
                    "scalability mode {} is not offered",
                    settings.scalability_mode
                ),
            });
        }
        self.running = None;
        let cfg = self.codec_config(settings);
        let encoder = self.registry.create_call_encoder(&cfg)?;
        let initial = Rates {
            bitrate_bps: settings.start_bitrate_bps,
            framerate: settings.max_framerate,
        };
        let controller = (settings.frame_dropping && settings.rtvc_rate_control).then(|| {
            RateController::new(
                RateControlConfig::for_codec(
                    self.codec,
                    settings.width,
                    settings.height,
                    settings.max_framerate,
                ),
                initial,
            )
        });
        self.running = Some(Running {
            settings: settings.clone(),
            encoder,
            controller,
            scaler: Scaler::new(),
            target_bps: settings.start_bitrate_bps,
            framerate: settings.max_framerate,
            keyframe_due: false,
            origin_us: None,
            last_us: None,
        });
        Ok(())
    }

    fn encode(
        &mut self,
        frame: &Frame,
        frame_types: &[VideoFrameType],
    ) -> Result<EncodeResult, AdapterError> {
        let packetization_mode = self.packetization_mode;
        let codec = self.codec;
        let r = self.running()?;
        let ts = frame.timestamp_us();
        if let Some(previous_us) = r.last_us
            && ts <= previous_us
        {
            return Err(AdapterError::Frame(FrameError::TimestampNotIncreasing {
                previous_us,
                timestamp_us: ts,
            }));
        }
        r.last_us = Some(ts);
        r.origin_us.get_or_insert(ts);
        let asked_key = frame_types.contains(&VideoFrameType::Key);
        if r.target_bps == 0 {
            // A keyframe asked for while paused is still owed when it resumes.
            r.keyframe_due |= asked_key;
            return Ok(EncodeResult::Dropped(FrameDropReason::Paused));
        }
        let now = r.now(ts);
        let configured = (r.settings.width, r.settings.height);
        let mut size = (frame.width(), frame.height());
        if let Some(c) = r.controller.as_mut() {
            let d = c.decide(now);
            if let Some(rates) = d.rates {
                r.encoder.set_rates(rates)?;
            }
            if let Some(caps) = d.frame_size_caps {
                r.encoder.set_frame_size_caps(caps)?;
            }
            match d.skip {
                None => {}
                Some(why) => {
                    r.keyframe_due |= asked_key;
                    return Ok(EncodeResult::Dropped(match why {
                        SkipReason::Paused => FrameDropReason::Paused,
                        SkipReason::Bucket => FrameDropReason::RateLimited,
                        SkipReason::FrameRate => FrameDropReason::FrameRateReduced,
                    }));
                }
            }
            size = scaled_size((d.width, d.height), configured, size);
        }
        let scaled;
        let input = if size == (frame.width(), frame.height()) {
            frame
        } else {
            scaled = r.scaler.scale(frame, size.0, size.1)?;
            &scaled
        };
        let keyframe = asked_key || r.keyframe_due;
        let out = match r.encoder.encode(input, keyframe)? {
            EncodeOutcome::Encoded(e) => e,
            EncodeOutcome::Dropped(DropReason::Paused) => {
                return Ok(EncodeResult::Dropped(FrameDropReason::Paused));
            }
            EncodeOutcome::Dropped(_) => {
                r.keyframe_due |= keyframe;
                return Ok(EncodeResult::Dropped(FrameDropReason::EncoderRateControl));
            }
            // Call encoders have no delay; anything else is a broken contract.
            _ => {
                return Err(AdapterError::Codec(rtvc_codec::Error::Encoder {
                    backend: "rtvc-webrtc",
                    message: "the codec held a frame back (zero-delay contract broken)".into(),
                }));
            }
        };
        r.keyframe_due = false;
        if let Some(c) = r.controller.as_mut() {
            c.on_encoded(now, out.data.len(), out.keyframe);
        }
        Ok(EncodeResult::Encoded(EncodedImage {
            capture_time_us: out.timestamp_us,
            width: out.width,
            height: out.height,
            rotation: out.rotation,
            info: CodecSpecificInfo {
                codec,
                keyframe: out.keyframe,
                qp: out.qp,
                temporal_id: out.temporal_id,
                h264_packetization_mode: packetization_mode,
            },
            encode_time: out.encode_time,
            data: out.data,
        }))
    }

    fn set_rates(&mut self, parameters: &RateControlParameters) -> Result<(), AdapterError> {
        if !parameters.framerate.is_finite() || parameters.framerate < 1.0 {
            return Err(AdapterError::Settings {
                field: "framerate",
                value: parameters.framerate.to_string(),
                valid: "at least 1",
            });
        }
        let r = self.running()?;
        let was_paused = r.target_bps == 0;
        let bps = r.clamp(parameters.total_bps());
        r.target_bps = bps;
        r.framerate = parameters.framerate.min(r.settings.max_framerate.max(1.0));
        if was_paused && bps > 0 {
            // Resuming after a pause: the receiver may have lost track.
            r.keyframe_due = true;
        }
        let rates = Rates {
            bitrate_bps: bps,
            framerate: r.framerate,
        };
        // Bitrates per temporal layer become the codec's split of whatever total it is given
        // (the rate controller may ask for less than the target).
        let layers = usize::from(r.settings.scalability_mode.temporal_layers());
        if layers > 1 && parameters.layer_bitrates_bps.len() == layers && bps > 0 {
            let total = f64::from(parameters.total_bps().max(1));
            let mut sum = 0u64;
            let cumulative: Vec<f64> = parameters
                .layer_bitrates_bps
                .iter()
                .map(|&b| {
                    sum += u64::from(b);
                    sum as f64 / total
                })
                .collect();
            if cumulative.iter().all(|&c| c > 0.0) {
                r.encoder.set_temporal_layer_split(&cumulative)?;
            }
        }
        let now = r.last_us.map_or(Duration::ZERO, |t| r.now(t));
        match r.controller.as_mut() {
            Some(c) => c.set_target(now, rates),
            None => r.encoder.set_rates(rates)?,
        }
        Ok(())
    }

    fn on_packet_loss_rate(&mut self, fraction: f64) {
        if let Some(c) = self.running.as_mut().and_then(|r| r.controller.as_mut()) {
            c.on_loss(if fraction.is_finite() { fraction } else { 0.0 });
        }
    }

    fn on_rtt(&mut self, rtt: Duration) {
        if let Some(r) = self.running.as_mut() {
            let now = r.last_us.map_or(Duration::ZERO, |t| r.now(t));
            if let Some(c) = r.controller.as_mut() {
                c.on_rtt(now, rtt);
            }
        }
    }

    fn on_loss_notification(&mut self, n: LossNotification) {
        // Our streams have one reference chain: a frame the receiver could not decode, or whose
        // references it lacks, breaks everything after it until a keyframe.
        let broken = n.last_received_decodable == Some(false)
            || n.dependencies_of_last_received_decodable == Some(false);
        if broken && let Some(r) = self.running.as_mut() {
            r.keyframe_due = true;
        }
    }

    fn release(&mut self) {
        self.running = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switched_camera_keeps_the_rung_in_proportion() {
        // Rung 360p of a 720p configuration, frame 1280x720: 640x360.
        assert_eq!(
            scaled_size((640, 360), (1280, 720), (1280, 720)),
            (640, 360)
        );
        // Top rung: any frame goes as it is.
        assert_eq!(
            scaled_size((1280, 720), (1280, 720), (960, 540)),
            (960, 540)
        );
        // Half-size rung, a 960x540 frame: 480x270 (even).
        assert_eq!(scaled_size((640, 360), (1280, 720), (960, 540)), (480, 270));
    }

    #[test]
    fn bitrate_limits_follow_the_ladder() {
        let l = bitrate_limits(CodecKind::Av1, 1280, 720);
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].frame_size_pixels, 1280 * 720);
        assert_eq!(l[0].min_bitrate_bps, 150_000);
        assert_eq!(l[0].max_bitrate_bps, 2_500_000);
        assert_eq!(l[1].min_bitrate_bps, 80_000);
        assert_eq!(l[1].max_bitrate_bps, 300_000);
        assert!(l.iter().all(|x| x.min_bitrate_bps <= x.max_bitrate_bps));
    }
}
