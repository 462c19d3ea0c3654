//! The encoder trait and its configuration.
//!
//! # The zero-delay contract
//!
//! A call encoder must hand back the encoded form of each input frame before
//! [`VideoEncoder::encode`] returns — [`EncodeOutcome::Encoded`] — or say explicitly that it
//! dropped that frame and why — [`EncodeOutcome::Dropped`]. Nothing is held back for later.
//! libaom (realtime, lag 0) and openh264 keep this contract. An encoder that cannot (rav1e has a
//! pipeline of at least four frames) reports its delay in [`EncoderInfo::frame_delay`], returns
//! [`EncodeOutcome::Queued`] while its pipeline fills, and emits earlier frames from later calls
//! and from [`VideoEncoder::flush`]; the registry never picks such an encoder for a call.
//!
//! # Live controls
//!
//! * Keyframe on demand: pass `force_keyframe = true` with the frame.
//! * Bitrate and frame rate: [`VideoEncoder::set_rates`], no keyframe, effective on the next frame
//!   (rav1e restarts at a keyframe, and only on large sustained changes; see its module).
//!   A bitrate of 0 pauses the encoder: frames come back as [`DropReason::Paused`].
//! * Resolution: just pass a frame of the new size (camera switch, rate-control ladder). The
//!   encoder reconfigures itself and that frame comes out as a keyframe at the new size.
//!
//! # Timestamps
//!
//! Each frame's [`Frame::timestamp_us`] is its capture time and must be later than the previous
//! frame's: a frame that is not is refused with [`crate::FrameError::TimestampNotIncreasing`] (and
//! changes nothing). Gaps are fine and meaningful — frames the caller's rate controller skipped
//! leave them, and libaom reads its frame rate, hence its bit budget per frame, from them (as
//! libwebrtc feeds it the RTP timestamp).
//!
//! Transient trouble (the encoder's rate control skipping a frame, a pause) is a drop, never an
//! error: since 2022 libwebrtc switches to another encoder on any error returned from `Encode`.

use crate::encoded::{CodecKind, EncodedFrame};
use crate::error::{ConfigError, Error};
use crate::frame::{Frame, MAX_DIMENSION};
use std::fmt;

/// Lowest target bitrate any encoder accepts (bits/s).
pub const MIN_BITRATE_BPS: u32 = 10_000;
/// Highest target bitrate any encoder accepts (bits/s).
pub const MAX_BITRATE_BPS: u32 = 100_000_000;
/// Frame-rate bounds (frames/s).
pub const FRAMERATE_RANGE: (f64, f64) = (1.0, 240.0);
/// Largest thread count accepted.
pub const MAX_THREADS: u32 = 64;
/// Slowest speed preset [`EncoderConfig::speed`] takes: below it neither backend is real-time
/// at any size that matters.
pub const MIN_SPEED: u8 = 5;
/// Fastest speed preset (libaom realtime's `cpu-used` 11; rav1e stops at 10).
pub const MAX_SPEED: u8 = 11;
/// Most temporal layers an encoder offers.
pub const MAX_TEMPORAL_LAYERS: u8 = 3;

/// The temporal layer of the `n`-th frame after a keyframe (which is frame 0), with `layers`
/// temporal layers: 0 1 0 1 … for two, 0 2 1 2 … for three (each layer doubles the frame
/// rate of the ones below it).
pub fn temporal_layer_of(layers: u8, n: u64) -> u8 {
    match layers {
        2 => (n % 2) as u8,
        3 => [0, 2, 1, 2][(n % 4) as usize],
        _ => 0,
    }
}

/// The default share of the bitrate up to each temporal layer (cumulative; libwebrtc's split:
/// two layers 60 / 40 %, three layers 40 / 20 / 40 %).
pub fn default_layer_split(layers: u8) -> &'static [f64] {
    match layers {
        2 => &[0.6, 1.0],
        3 => &[0.4, 0.6, 1.0],
        _ => &[1.0],
    }
}

/// What the camera or screen shows; tunes the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ContentKind {
    /// Camera video.
    #[default]
    Camera,
    /// Screen sharing (sharp text, static areas).
    Screen,
}

/// Encoder settings. Build with [`EncoderConfig::new`] and adjust fields; they are checked once,
/// when the encoder is created ([`EncoderConfig::validate`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EncoderConfig {
    /// Codec to produce.
    pub codec: CodecKind,
    /// Initial width (frames of other sizes are accepted later and trigger a keyframe).
    pub width: u32,
    /// Initial height.
    pub height: u32,
    /// Target bitrate, bits/s.
    pub bitrate_bps: u32,
    /// Frame rate the caller expects to deliver, frames/s.
    pub framerate: f64,
    /// Encoder threads; `None` chooses by resolution and [`EncoderConfig::cores`].
    pub threads: Option<u32>,
    /// CPU cores the encoder may use when choosing threads; `None` asks the OS.
    pub cores: Option<u32>,
    /// Largest frame size a live resize may reach without re-creating the backend
    /// (libaom allocates for it up front). `None`: the larger of the initial size and 1920x1080.
    pub max_size: Option<(u32, u32)>,
    /// Content type.
    pub content: ContentKind,
    /// Let the encoder's own rate control skip frames when its buffer would overflow
    /// (libwebrtc's `frame_drop_enabled`). Skipped frames are reported as
    /// [`DropReason::RateControl`].
    pub frame_dropping: bool,
    /// Let the encoder take back a frame that came out far larger than its rate allows, even
    /// with [`EncoderConfig::frame_dropping`] off: libaom's post-encode drop (a frame above 8
    /// average frames while its buffer is low is discarded, its state restored, and the next
    /// frame encoded at the highest quantizer) plus a drop only when its buffer is empty. After
    /// a sudden 10× rate cut libaom can raise its quantizer only a little per frame, so without
    /// this the next frames come out 10–40× their budget. Reported as
    /// [`DropReason::RateControl`]. Only libaom has it; the others ignore it.
    pub drop_overshoot: bool,
    /// Frame size caps at start (see [`FrameSizeCaps`]). The default is no cap: a capped
    /// keyframe starts the stream at lower quality (−0.3 dB over a 200-frame 720p clip with
    /// libwebrtc's 300 %), so caps belong to rate control on bandwidth-limited links
    /// ([`VideoEncoder::set_frame_size_caps`]), not to every encode.
    pub frame_size_caps: FrameSizeCaps,
    /// Where the encoder's clock comes from ([`FrameTiming`]; only libaom has one). Default:
    /// the frames' capture times.
    pub timing: FrameTiming,
    /// H.264 only: the largest NAL unit the encoder may produce, in bytes (`None`: one slice
    /// per picture, any size). For RTP packetization mode 0 (single NAL unit per packet) every
    /// NAL must fit in a packet, so pictures are cut into slices of at most this size (openh264
    /// `SM_SIZELIMITED_SLICE`, as libwebrtc does). 300..=65535.
    pub max_nal_bytes: Option<u32>,
    /// Temporal layers, 1..=3 (L1T1, L1T2, L1T3): frames of the higher layers are never
    /// referenced by lower ones, so a receiver or a server can drop the highest layer and halve
    /// the frame rate. The pattern is [`temporal_layer_of`]; libaom also signals each frame's
    /// layer in its OBU extension headers. rav1e has none.
    pub temporal_layers: u8,
    /// The backend's speed preset, overriding its choice by frame size: libaom's `cpu-used`
    /// (realtime 5..=11; higher is faster with fewer tools), rav1e's speed preset (5..=10).
    /// openh264 has none and ignores it. `None` (the default) lets the backend choose by
    /// resolution — for libaom the table in [`crate::av1::aom`], measured per size.
    pub speed: Option<u8>,
    /// The encoder's own rate-control buffer (libaom's `rc_buf_*`). The default is libwebrtc's
    /// 600 / 600 / 1000 ms; under [`crate::rate::RateController`] use
    /// [`RateBuffer::UNDER_CONTROLLER`] (see [`crate::rate::configure_encoder`]). Only libaom
    /// has it; the others ignore it.
    pub rate_buffer: RateBuffer,
}

impl EncoderConfig {
    /// A camera configuration with defaults: encoder-side frame dropping on, threads chosen
    /// automatically.
    pub fn new(
        codec: CodecKind,
        width: u32,
        height: u32,
        bitrate_bps: u32,
        framerate: f64,
    ) -> Self {
        Self {
            codec,
            width,
            height,
            bitrate_bps,
            framerate,
            threads: None,
            cores: None,
            max_size: None,
            content: ContentKind::Camera,
            frame_dropping: true,
            drop_overshoot: false,
            frame_size_caps: FrameSizeCaps::default(),
            rate_buffer: RateBuffer::default(),
            timing: FrameTiming::default(),
            max_nal_bytes: None,
            temporal_layers: 1,
            speed: None,
        }
    }

    /// Checks every field; the error names the field and its valid range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let dim = format!("1..={MAX_DIMENSION}");
        if self.width == 0 || self.width > MAX_DIMENSION {
            return Err(ConfigError::out_of_range("width", self.width, &dim));
        }
        if self.height == 0 || self.height > MAX_DIMENSION {
            return Err(ConfigError::out_of_range("height", self.height, &dim));
        }
        if !(MIN_BITRATE_BPS..=MAX_BITRATE_BPS).contains(&self.bitrate_bps) {
            return Err(ConfigError::out_of_range(
                "bitrate_bps",
                self.bitrate_bps,
                format!("{MIN_BITRATE_BPS}..={MAX_BITRATE_BPS}"),
            ));
        }
        check_framerate(self.framerate)?;
        if let Some(t) = self.threads
            && !(1..=MAX_THREADS).contains(&t)
        {
            return Err(ConfigError::out_of_range(
                "threads",
                t,
                format!("1..={MAX_THREADS}"),
            ));
        }
        if let Some(c) = self.cores
            && !(1..=1024).contains(&c)
        {
            return Err(ConfigError::out_of_range("cores", c, "1..=1024"));
        }
        if let Some(s) = self.speed
            && !(MIN_SPEED..=MAX_SPEED).contains(&s)
        {
            return Err(ConfigError::out_of_range(
                "speed",
                s,
                format!("{MIN_SPEED}..={MAX_SPEED}"),
            ));
        }
        self.frame_size_caps.validate()?;
        self.rate_buffer.validate()?;
        if !(1..=MAX_TEMPORAL_LAYERS).contains(&self.temporal_layers) {
            return Err(ConfigError::out_of_range(
                "temporal_layers",
                self.temporal_layers,
                format!("1..={MAX_TEMPORAL_LAYERS}"),
            ));
        }
        if let Some(n) = self.max_nal_bytes
            && !(300..=65_535).contains(&n)
        {
            return Err(ConfigError::out_of_range("max_nal_bytes", n, "300..=65535"));
        }
        if let Some((mw, mh)) = self.max_size
            && (mw == 0 || mh == 0 || mw > MAX_DIMENSION || mh > MAX_DIMENSION)
        {
            return Err(ConfigError::out_of_range(
                "max_size",
                format!("{mw}x{mh}"),
                format!("each side 1..={MAX_DIMENSION}"),
            ));
        }
        Ok(())
    }

    /// The cores to plan threads for.
    pub fn effective_cores(&self) -> u32 {
        self.cores.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1)
        })
    }

    /// Threads for a frame of `width`x`height`: the explicit setting, or a policy by resolution
    /// and cores (more threads only pay off on bigger frames).
    pub fn threads_for(&self, width: u32, height: u32) -> u32 {
        if let Some(t) = self.threads {
            return t;
        }
        let cores = self.effective_cores();
        let px = width as u64 * height as u64;
        let wanted = if px > 1280 * 720 {
            8
        } else if px >= 640 * 360 {
            4
        } else if px >= 320 * 180 {
            2
        } else {
            1
        };
        wanted.min(cores).max(1)
    }
}

pub(crate) fn check_framerate(fps: f64) -> Result<(), ConfigError> {
    if !fps.is_finite() || fps < FRAMERATE_RANGE.0 || fps > FRAMERATE_RANGE.1 {
        return Err(ConfigError::out_of_range(
            "framerate",
            fps,
            format!("{}..={}", FRAMERATE_RANGE.0, FRAMERATE_RANGE.1),
        ));
    }
    Ok(())
}

/// The time an encoder's rate control believes each frame covers. libaom gives each frame the
/// bits of the time since the previous one (target bitrate × interval), so this decides what a
/// gap between frames is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FrameTiming {
    /// The frames' capture times ([`Frame::timestamp_us`]), as libwebrtc passes the RTP
    /// timestamp: frames missing upstream (a camera delivering 15 of the 30 frames/s it was
    /// configured for, an app skipping frames) leave gaps whose bits the next frame may spend,
    /// so the stream still meets its bitrate.
    #[default]
    Capture,
    /// One nominal interval (1 / the frame rate of the latest [`Rates`]) per frame given to the
    /// encoder, whatever the capture times. For use under [`crate::rate::RateController`]: it
    /// skips frames *because* the bits of their interval are already spent (a queue to drain,
    /// a frame that came out too big), so an encoder that spent them again on the next frame
    /// would undo the skip. Measured with `rtvc rc` (AV1, 60 s, see the README): capture times
    /// under the controller raised drops on the step trace from 3.4 to 17 % and its worst
    /// 500 ms window from 1.30 to 1.74×, and averaged over LTE seeds 1–4 and five real traces
    /// drops 15.4 → 26.3 %, PSNR-Y −1.4 dB (on screen −1.0 dB).
    /// [`crate::rate::configure_encoder`] selects this; the controller tells the encoder its
    /// frame rate when it lowers it.
    Nominal,
}

/// Caps on single frames, in percent of an average frame at the current target rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FrameSizeCaps {
    /// Largest keyframe (`None`: no cap).
    pub keyframe_pct: Option<u32>,
    /// Largest inter frame (`None`: no cap).
    pub inter_pct: Option<u32>,
}

impl FrameSizeCaps {
    /// Valid caps are 100..=10000 %.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, v) in [
            ("keyframe_pct", self.keyframe_pct),
            ("inter_pct", self.inter_pct),
        ] {
            if let Some(p) = v
                && !(100..=10_000).contains(&p)
            {
                return Err(ConfigError::out_of_range(field, p, "100..=10000"));
            }
        }
        Ok(())
    }
}

/// The encoder's rate-control buffer model, in milliseconds at the target rate: the level it
/// starts at, the level it steers towards, and its size. A smaller buffer makes the encoder's
/// own rate control pull frame sizes back to the target sooner after a big frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateBuffer {
    /// Initial level, ms.
    pub initial_ms: u32,
    /// Level the encoder aims for, ms.
    pub optimal_ms: u32,
    /// Size, ms.
    pub size_ms: u32,
}

impl RateBuffer {
    /// libwebrtc's libaom settings: 600 / 600 / 1000 ms.
    pub const WEBRTC: RateBuffer = RateBuffer {
        initial_ms: 600,
        optimal_ms: 600,
        size_ms: 1000,
    };
    /// Under the rate controller, whose 120 ms frame dropper is the real constraint: 200 / 200 /
    /// 300 ms. Measured with `rtvc rc` (AV1, talking-head 720p, 60 s) against
    /// [`RateBuffer::WEBRTC`]: on the step trace `acc_1s_p95` 0.25 → 0.14, worst 500 ms window
    /// 1.36 → 1.30×, drops 4.3 → 3.4 %, longest freeze 344 → 269 ms, PSNR-Y +0.5 dB; averaged
    /// over three `builtin:lte` seeds and five real cellular traces drops 17.2 → 15.6 %, worst
    /// window 1.57 → 1.46×, PSNR-Y +0.2 dB, but queueing delay p95 270 → 300 ms (mostly the UMTS
    /// trace). 300 / 300 / 500 and 120 / 120 / 200 ms were in between.
    pub const UNDER_CONTROLLER: RateBuffer = RateBuffer {
        initial_ms: 200,
        optimal_ms: 200,
        size_ms: 300,
    };

    /// Valid: size 100..=10000 ms, initial and optimal levels no larger than the size.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(100..=10_000).contains(&self.size_ms) {
            return Err(ConfigError::out_of_range(
                "rate_buffer.size_ms",
                self.size_ms,
                "100..=10000",
            ));
        }
        for (field, v) in [
            ("rate_buffer.initial_ms", self.initial_ms),
            ("rate_buffer.optimal_ms", self.optimal_ms),
        ] {
            if v > self.size_ms {
                return Err(ConfigError::out_of_range(
                    field,
                    v,
                    format!("0..={} (rate_buffer.size_ms)", self.size_ms),
                ));
            }
        }
        Ok(())
    }
}

impl Default for RateBuffer {
    fn default() -> Self {
        Self::WEBRTC
    }
}

/// New rates from the bandwidth estimator (libwebrtc `SetRates`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    /// Target bitrate, bits/s. 0 pauses the encoder.
    pub bitrate_bps: u32,
    /// Expected frame rate, frames/s.
    pub framerate: f64,
}

impl Rates {
    /// Checks the values (0 bps is valid: pause).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.bitrate_bps != 0 && !(MIN_BITRATE_BPS..=MAX_BITRATE_BPS).contains(&self.bitrate_bps)
        {
            return Err(ConfigError::out_of_range(
                "bitrate_bps",
                self.bitrate_bps,
                format!("0 (pause) or {MIN_BITRATE_BPS}..={MAX_BITRATE_BPS}"),
            ));
        }
        check_framerate(self.framerate)
    }
}

/// Why a frame produced no output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The encoder's rate control skipped it to keep its buffer from overflowing.
    RateControl,
    /// The encoder is paused (target bitrate 0).
    Paused,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::RateControl => "rate control",
            DropReason::Paused => "paused",
        })
    }
}

/// The result of one [`VideoEncoder::encode`] call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EncodeOutcome {
    /// The encoded frame. For zero-delay encoders it is the frame just passed in; for delayed
    /// encoders (frame delay > 0) it is the oldest pending one (compare timestamps).
    Encoded(EncodedFrame),
    /// The frame was dropped, for the reason given.
    Dropped(DropReason),
    /// Only from encoders with a frame delay: the frame was accepted and will come out of a later
    /// call or of [`VideoEncoder::flush`].
    Queued,
}

/// How an encoder handles a bitrate change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiveBitrate {
    /// Applied on the next frame, no keyframe.
    Immediate,
    /// Applied by restarting at a keyframe, and only on large sustained changes.
    RestartOnLargeChange,
}

/// Static facts about an encoder, cheap to get and valid before the first frame
/// (libwebrtc `GetEncoderInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncoderInfo {
    /// Implementation name, e.g. `libaom`.
    pub implementation: &'static str,
    /// Codec produced.
    pub codec: CodecKind,
    /// True only for hardware encoders (libwebrtc's default is *true*; software must say false).
    pub is_hardware_accelerated: bool,
    /// Frames of delay between input and output (0 = zero-delay contract).
    pub frame_delay: u32,
    /// True when the encoder's own rate control can be trusted to hit its target, so the
    /// caller's bitrate adjuster may leave it alone.
    pub has_trusted_rate_controller: bool,
    /// How bitrate changes are applied.
    pub live_bitrate: LiveBitrate,
    /// Quality-scaler thresholds (low, high) in the codec's QP domain: average QP above `high`
    /// suggests a lower resolution, below `low` a higher one.
    pub qp_thresholds: (u32, u32),
    /// Width and height must be multiples of this.
    pub resolution_alignment: u32,
}

/// A video encoder. See the module docs for the contract.
pub trait VideoEncoder: Send {
    /// Static facts; valid before the first frame.
    fn info(&self) -> EncoderInfo;

    /// Encodes one frame, a keyframe when `force_keyframe` is set (or when the frame size
    /// changed). Its timestamp must be later than the previous frame's (see the module docs).
    fn encode(&mut self, frame: &Frame, force_keyframe: bool) -> Result<EncodeOutcome, Error>;

    /// Applies new rates (bitrate 0 pauses). Invalid values are a [`ConfigError`].
    fn set_rates(&mut self, rates: Rates) -> Result<(), Error>;

    /// With temporal layers: the share of the bitrate up to each layer, cumulative (the last is
    /// 1.0), e.g. from the bitrates per layer a WebRTC stack allocates. Returns `false` when the
    /// encoder divides the bitrate itself (openh264) or has no layers.
    fn set_temporal_layer_split(&mut self, cumulative: &[f64]) -> Result<bool, Error> {
        let _ = cumulative;
        Ok(false)
    }

    /// Caps frame sizes (live), e.g. to what the rate controller's bucket has room for.
    /// Returns `false` when the encoder has no such control (the call is then a no-op).
    fn set_frame_size_caps(&mut self, caps: FrameSizeCaps) -> Result<bool, Error> {
        let _ = caps;
        Ok(false)
    }

    /// Delayed encoders only: frames that became ready during the last `encode` call beyond the
    /// one it returned (after an internal restart several come out at once). Callers of delayed
    /// encoders drain this after every `encode`; zero-delay encoders never have any.
    fn take_ready(&mut self) -> Vec<EncodedFrame> {
        Vec::new()
    }

    /// Emits every frame still held (only delayed encoders hold any). The encoder can be used
    /// again afterwards; its next frame is a keyframe.
    fn flush(&mut self) -> Result<Vec<EncodedFrame>, Error>;
}

impl fmt::Debug for dyn VideoEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.info();
        f.debug_struct("VideoEncoder")
            .field("implementation", &info.implementation)
            .field("codec", &info.codec)
            .finish()
    }
}

#[cfg_attr(
    not(any(feature = "aom", feature = "rav1e", feature = "openh264")),
    allow(unused_imports)
)]
pub(crate) use backend_support::{RateState, TimestampGuard, timed};

/// Helpers the encoder backends share (unused in a build without encoders).
#[cfg_attr(
    not(any(feature = "aom", feature = "rav1e", feature = "openh264")),
    allow(dead_code, unused_imports)
)]
mod backend_support {
    use std::time::Duration;

    use crate::error::FrameError;

    /// Bookkeeping every backend needs: current rates, pause state and timing.
    #[derive(Debug, Clone)]
    pub(crate) struct RateState {
        pub bitrate_bps: u32,
        pub framerate: f64,
    }

    impl RateState {
        pub fn paused(&self) -> bool {
            self.bitrate_bps == 0
        }
    }

    /// The capture times an encoder has been given: each must be later than the one before
    /// ([`crate::FrameError::TimestampNotIncreasing`] otherwise), whatever then happens to the frame (encoded,
    /// dropped, or refused while paused).
    #[derive(Debug, Clone, Copy, Default)]
    pub(crate) struct TimestampGuard {
        last_us: Option<i64>,
    }

    impl TimestampGuard {
        /// Accepts `timestamp_us` if it is later than the last accepted one.
        pub fn accept(&mut self, timestamp_us: i64) -> Result<(), FrameError> {
            if let Some(previous_us) = self.last_us
                && timestamp_us <= previous_us
            {
                return Err(FrameError::TimestampNotIncreasing {
                    previous_us,
                    timestamp_us,
                });
            }
            self.last_us = Some(timestamp_us);
            Ok(())
        }
    }

    /// Measures the wall time of one backend call.
    pub(crate) fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
        let t0 = std::time::Instant::now();
        let r = f();
        (r, t0.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field_and_range() {
        let mut c = EncoderConfig::new(CodecKind::Av1, 640, 360, 500_000, 30.0);
        assert!(c.validate().is_ok());
        c.bitrate_bps = 5;
        match c.validate().unwrap_err() {
            ConfigError::OutOfRange { field, valid, .. } => {
                assert_eq!(field, "bitrate_bps");
                assert!(valid.contains("10000"));
            }
            e => panic!("unexpected {e:?}"),
        }
        c.bitrate_bps = 500_000;
        c.framerate = 0.0;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::OutOfRange {
                field: "framerate",
                ..
            })
        ));
        c.framerate = f64::NAN;
        assert!(c.validate().is_err());
        c.framerate = 30.0;
        c.width = 0;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::OutOfRange { field: "width", .. })
        ));
        c.width = 640;
        c.threads = Some(0);
        assert!(matches!(
            c.validate(),
            Err(ConfigError::OutOfRange {
                field: "threads",
                ..
            })
        ));
    }

    #[test]
    fn rate_buffer_is_validated() {
        let mut c = EncoderConfig::new(CodecKind::Av1, 640, 360, 500_000, 30.0);
        c.rate_buffer = RateBuffer::UNDER_CONTROLLER;
        assert!(c.validate().is_ok());
        c.rate_buffer.size_ms = 50;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::OutOfRange {
                field: "rate_buffer.size_ms",
                ..
            })
        ));
        c.rate_buffer = RateBuffer {
            initial_ms: 400,
            optimal_ms: 200,
            size_ms: 300,
        };
        match c.validate().unwrap_err() {
            ConfigError::OutOfRange { field, valid, .. } => {
                assert_eq!(field, "rate_buffer.initial_ms");
                assert!(valid.contains("300"), "{valid}");
            }
            e => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn thread_policy_follows_resolution_and_cores() {
        let mut c = EncoderConfig::new(CodecKind::Av1, 1280, 720, 1_000_000, 30.0);
        c.cores = Some(2);
        assert_eq!(c.threads_for(1280, 720), 2);
        assert_eq!(c.threads_for(160, 90), 1);
        c.cores = Some(16);
        assert_eq!(c.threads_for(1920, 1080), 8);
        assert_eq!(c.threads_for(640, 360), 4);
        c.threads = Some(3);
        assert_eq!(c.threads_for(160, 90), 3);
    }

    #[test]
    fn rates_accept_pause() {
        assert!(
            Rates {
                bitrate_bps: 0,
                framerate: 30.0
            }
            .validate()
            .is_ok()
        );
        assert!(
            Rates {
                bitrate_bps: 9,
                framerate: 30.0
            }
            .validate()
            .is_err()
        );
    }
}
