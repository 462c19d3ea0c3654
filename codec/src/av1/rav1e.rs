//! AV1 encoding with rav1e (pure Rust). A second AV1 backend — **not** the call default.
//!
//! rav1e cannot keep the zero-delay contract: even in `low_latency` mode with
//! `rdo_lookahead_frames = 1` its pipeline holds `rdo_lookahead_frames + 3` = 4 frames, so the
//! first frames come back as [`EncodeOutcome::Queued`] and each later call returns the frame sent
//! four calls earlier. On our 2-core reference machine it also runs ~10× slower than libaom
//! realtime (REFERENCE.md: 8.8 fps at 720p). [`EncoderInfo::frame_delay`] reports the delay and
//! the registry never offers a delayed encoder for calls.
//!
//! Settings (REFERENCE.md): speed preset 10, `low_latency`, `rdo_lookahead_frames = 1`,
//! `quantizer = 255` (it is the *maximum* qindex in bitrate mode; the default 100 overshoots at
//! low rates), `reservoir_frame_delay = 12` (the default 240-frame reservoir reacts far too
//! slowly), keyframes only on request (`FrameTypeOverride::Key`).
//!
//! rav1e has no way to change the bitrate of a running context. A bitrate change is applied by
//! draining the context and starting a new one (which begins with a keyframe), and only when it
//! is large (≥ 1.5× either way) and sustained for a second of frames, or when a keyframe is due
//! anyway (requested, or a new frame size).

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use rav1e::color::{
    ChromaSampling, ColorDescription, ColorPrimaries, MatrixCoefficients, PixelRange,
    TransferCharacteristics,
};
use rav1e::config::{Config, EncoderConfig as RaConfig, SpeedSettings};
use rav1e::data::{FrameParameters, FrameType, Rational};
use rav1e::prelude::{Context, EncoderStatus, FrameTypeOverride, Opaque};

use crate::av1::obu::leading_temporal_delimiter_len;
use crate::encoded::{CodecKind, EncodedFrame};
use crate::encoder::{
    DropReason, EncodeOutcome, EncoderConfig, EncoderInfo, LiveBitrate, RateState, Rates,
    TimestampGuard, VideoEncoder, timed,
};
use crate::error::{ConfigError, Error};
use crate::frame::{ColorSpace, Frame, Matrix, Range, Rotation};

const NAME: &str = "rav1e";
/// Frames rav1e holds in `low_latency` mode with `rdo_lookahead_frames = 1`.
pub const FRAME_DELAY: u32 = 4;
/// A bitrate change at least this large (either way) may restart the encoder.
const RESTART_RATIO: f64 = 1.5;

/// What we need back from rav1e with each packet.
struct FrameMeta {
    timestamp_us: i64,
    rotation: Rotation,
    width: u32,
    height: u32,
}

/// The rav1e AV1 encoder (delayed; see the module docs).
pub struct Rav1eEncoder {
    ctx: Context<u8>,
    config: EncoderConfig,
    rates: RateState,
    /// Bitrate the running context was created with.
    context_bps: u32,
    size: (u32, u32),
    color: ColorSpace,
    /// Frames since the target first differed from `context_bps` by more than RESTART_RATIO.
    off_target_frames: u32,
    ready: VecDeque<EncodedFrame>,
    /// Time spent in rav1e since the last packet came out, attributed to the next one.
    pending_time: Duration,
    timestamps: TimestampGuard,
}

impl fmt::Debug for Rav1eEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rav1eEncoder")
            .field("size", &self.size)
            .field("context_bps", &self.context_bps)
            .field("target_bps", &self.rates.bitrate_bps)
            .finish()
    }
}

/// Encoder facts shared by every rav1e instance.
pub fn info() -> EncoderInfo {
    EncoderInfo {
        implementation: NAME,
        codec: CodecKind::Av1,
        is_hardware_accelerated: false,
        frame_delay: FRAME_DELAY,
        has_trusted_rate_controller: false,
        live_bitrate: LiveBitrate::RestartOnLargeChange,
        qp_thresholds: (145, 205),
        resolution_alignment: 1,
    }
}

/// rav1e's fastest speed preset, the default here.
const MAX_PRESET: u8 = 10;

fn new_context(
    config: &EncoderConfig,
    size: (u32, u32),
    bitrate_bps: u32,
    framerate: f64,
    color: ColorSpace,
) -> Result<Context<u8>, Error> {
    let preset = config.speed.unwrap_or(MAX_PRESET);
    let mut enc = RaConfig::with_speed_preset(preset);
    enc.width = size.0 as usize;
    enc.height = size.1 as usize;
    enc.bit_depth = 8;
    enc.chroma_sampling = ChromaSampling::Cs420;
    enc.pixel_range = match color.range {
        Range::Limited => PixelRange::Limited,
        Range::Full => PixelRange::Full,
    };
    enc.color_description = Some(match color.matrix {
        Matrix::Bt709 => ColorDescription {
            color_primaries: ColorPrimaries::BT709,
            transfer_characteristics: TransferCharacteristics::BT709,
            matrix_coefficients: MatrixCoefficients::BT709,
        },
        Matrix::Bt601 => ColorDescription {
            color_primaries: ColorPrimaries::BT601,
            transfer_characteristics: TransferCharacteristics::BT601,
            matrix_coefficients: MatrixCoefficients::BT601,
        },
    });
    let fps_milli = (framerate * 1000.0).round().max(1.0) as u64;
    enc.time_base = Rational::new(1000, fps_milli);
    enc.low_latency = true;
    enc.speed_settings = SpeedSettings::from_preset(preset);
    enc.speed_settings.rdo_lookahead_frames = 1;
    enc.quantizer = 255;
    enc.bitrate = i32::try_from(bitrate_bps).unwrap_or(i32::MAX);
    enc.reservoir_frame_delay = Some(12);
    enc.min_key_frame_interval = 0;
    enc.max_key_frame_interval = i32::MAX as u64 / 3;
    enc.error_resilient = false;
    let threads = config.threads_for(size.0, size.1) as usize;
    enc.tiles = threads;
    Config::new()
        .with_encoder_config(enc)
        .with_threads(threads)
        .new_context()
        .map_err(|e| {
            Error::Config(ConfigError::Unsupported {
                field: "rav1e configuration",
                value: format!("{}x{} @ {} bps", size.0, size.1, bitrate_bps),
                backend: NAME,
                reason: match e {
                    rav1e::config::InvalidConfig::InvalidWidth(_)
                    | rav1e::config::InvalidConfig::InvalidHeight(_) => {
                        "frame size not accepted by rav1e"
                    }
                    _ => "rejected by rav1e's validation",
                },
            })
        })
}

impl Rav1eEncoder {
    /// Creates the encoder.
    pub fn new(config: &EncoderConfig) -> Result<Self, Error> {
        config.validate()?;
        if config.temporal_layers > 1 {
            return Err(ConfigError::Unsupported {
                field: "temporal_layers",
                value: config.temporal_layers.to_string(),
                backend: NAME,
                reason: "rav1e has no temporal layers here",
            }
            .into());
        }
        if config.codec != CodecKind::Av1 {
            return Err(ConfigError::Unsupported {
                field: "codec",
                value: config.codec.to_string(),
                backend: NAME,
                reason: "rav1e encodes AV1 only",
            }
            .into());
        }
        if let Some(s) = config.speed
            && s > MAX_PRESET
        {
            return Err(ConfigError::Unsupported {
                field: "speed",
                value: s.to_string(),
                backend: NAME,
                reason: "rav1e's speed presets stop at 10",
            }
            .into());
        }
        let size = (config.width, config.height);
        let color = ColorSpace::default();
        let ctx = new_context(config, size, config.bitrate_bps, config.framerate, color)?;
        Ok(Self {
            ctx,
            config: config.clone(),
            rates: RateState {
                bitrate_bps: config.bitrate_bps,
                framerate: config.framerate,
            },
            context_bps: config.bitrate_bps,
            size,
            color,
            off_target_frames: 0,
            ready: VecDeque::new(),
            pending_time: Duration::ZERO,
            timestamps: TimestampGuard::default(),
        })
    }

    fn fail(status: EncoderStatus) -> Error {
        Error::Encoder {
            backend: NAME,
            message: status.to_string(),
        }
    }

    /// Moves every packet rav1e has ready into `self.ready`.
    fn collect_packets(&mut self) -> Result<(), Error> {
        loop {
            let (r, t) = timed(|| self.ctx.receive_packet());
            self.pending_time += t;
            match r {
                Ok(pkt) => {
                    let meta = pkt
                        .opaque
                        .and_then(|o| o.downcast::<FrameMeta>().ok())
                        .map(|b| *b);
                    let Some(meta) = meta else {
                        return Err(Error::Encoder {
                            backend: NAME,
                            message: "packet without frame metadata".into(),
                        });
                    };
                    let mut data = Bytes::from(pkt.data);
                    let td = leading_temporal_delimiter_len(&data);
                    let data = data.split_off(td);
                    self.ready.push_back(EncodedFrame {
                        data,
                        keyframe: pkt.frame_type == FrameType::KEY,
                        timestamp_us: meta.timestamp_us,
                        width: meta.width,
                        height: meta.height,
                        rotation: meta.rotation,
                        qp: Some(u32::from(pkt.qp)),
                        temporal_id: 0,
                        codec: CodecKind::Av1,
                        encode_time: std::mem::take(&mut self.pending_time),
                    });
                }
                Err(EncoderStatus::Encoded) => continue,
                Err(EncoderStatus::NeedMoreData | EncoderStatus::LimitReached) => return Ok(()),
                Err(e) => return Err(Self::fail(e)),
            }
        }
    }

    /// Drains the running context and starts a new one with the current settings. The new
    /// context is created first, so a refused configuration leaves the old one working.
    fn restart(&mut self) -> Result<(), Error> {
        let next = new_context(
            &self.config,
            self.size,
            self.rates.bitrate_bps,
            self.rates.framerate,
            self.color,
        )?;
        self.ctx.flush();
        self.collect_packets()?;
        self.ctx = next;
        self.context_bps = self.rates.bitrate_bps;
        self.off_target_frames = 0;
        Ok(())
    }

    fn rate_ratio(&self) -> f64 {
        let (a, b) = (
            f64::from(self.rates.bitrate_bps),
            f64::from(self.context_bps),
        );
        a.max(b) / a.min(b).max(1.0)
    }
}

impl VideoEncoder for Rav1eEncoder {
    fn info(&self) -> EncoderInfo {
        info()
    }

    fn encode(&mut self, frame: &Frame, force_keyframe: bool) -> Result<EncodeOutcome, Error> {
        self.timestamps.accept(frame.timestamp_us())?;
        if self.rates.paused() {
            return Ok(EncodeOutcome::Dropped(DropReason::Paused));
        }
        let new_size = (frame.width(), frame.height());
        let ratio = self.rate_ratio();
        if ratio >= RESTART_RATIO {
            self.off_target_frames += 1;
        } else {
            self.off_target_frames = 0;
        }
        let sustained = f64::from(self.off_target_frames) >= self.rates.framerate;
        let keyframe_due =
            force_keyframe || new_size != self.size || frame.color_space() != self.color;
        if new_size != self.size
            || frame.color_space() != self.color
            || sustained
            || (keyframe_due && ratio > 1.1)
        {
            self.size = new_size;
            self.color = frame.color_space();
            self.restart()?;
        }

        let mut f = self.ctx.new_frame();
        let h = frame.height() as usize;
        let ch = frame.chroma_height() as usize;
        f.planes[0].copy_from_raw_u8(&frame.y()[..frame.y_stride() * h], frame.y_stride(), 1);
        f.planes[1].copy_from_raw_u8(&frame.u()[..frame.uv_stride() * ch], frame.uv_stride(), 1);
        f.planes[2].copy_from_raw_u8(&frame.v()[..frame.uv_stride() * ch], frame.uv_stride(), 1);
        let params = FrameParameters {
            frame_type_override: if force_keyframe {
                FrameTypeOverride::Key
            } else {
                FrameTypeOverride::No
            },
            opaque: Some(Opaque::new(FrameMeta {
                timestamp_us: frame.timestamp_us(),
                rotation: frame.rotation(),
                width: frame.width(),
                height: frame.height(),
            })),
            t35_metadata: Box::new([]),
        };
        // In low-latency mode with packets collected after every frame, rav1e's input queue
        // never fills, so `EnoughData` would be a bug worth reporting.
        let (r, t) = timed(|| self.ctx.send_frame((f, params)));
        self.pending_time += t;
        r.map_err(Self::fail)?;
        self.collect_packets()?;
        Ok(match self.ready.pop_front() {
            Some(pkt) => EncodeOutcome::Encoded(pkt),
            None => EncodeOutcome::Queued,
        })
    }

    fn set_rates(&mut self, rates: Rates) -> Result<(), Error> {
        rates.validate()?;
        self.rates = RateState {
            bitrate_bps: rates.bitrate_bps,
            framerate: rates.framerate,
        };
        Ok(())
    }

    fn take_ready(&mut self) -> Vec<EncodedFrame> {
        self.ready.drain(..).collect()
    }

    fn flush(&mut self) -> Result<Vec<EncodedFrame>, Error> {
        self.ctx.flush();
        self.collect_packets()?;
        let out = self.ready.drain(..).collect();
        self.ctx = new_context(
            &self.config,
            self.size,
            self.rates.bitrate_bps.max(crate::encoder::MIN_BITRATE_BPS),
            self.rates.framerate,
            self.color,
        )?;
        self.context_bps = self.rates.bitrate_bps;
        Ok(out)
    }
}
