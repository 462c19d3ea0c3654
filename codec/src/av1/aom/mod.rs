//! AV1 encoding with libaom in realtime mode — the default AV1 encoder for calls.
//!
//! libaom 3.11 is vendored and built by `libaom-sys` (cmake + nasm). The configuration follows
//! libwebrtc's `LibaomAv1Encoder` and the measurements in `REFERENCE.md`:
//!
//! | setting | value |
//! |---|---|
//! | usage | `AOM_USAGE_REALTIME`, one pass, `g_lag_in_frames = 0` (zero delay) |
//! | rate control | CBR; undershoot/overshoot 50/50 %; buffer [`EncoderConfig::rate_buffer`] (default libwebrtc's 600/600/1000 ms); qindex 10..56 (0..63 scale); frame size caps only when asked ([`EncoderConfig::frame_size_caps`], live with `set_frame_size_caps`; libwebrtc caps keyframes at 300 %) |
//! | timestamps | [`EncoderConfig::timing`]: by default the frame's capture time as pts (90 kHz like RTP, relative to the context's first frame), duration 1/frame rate, so libaom derives its frame rate from the real gaps (libwebrtc passes the RTP timestamp the same way); under the rate controller one nominal interval per frame ([`FrameTiming::Nominal`], measured better there). A timestamp that does not increase is refused ([`crate::FrameError::TimestampNotIncreasing`]) before libaom sees it |
//! | keyframes | only on request (`kf_mode` disabled, `AOM_EFLAG_FORCE_KF`) |
//! | tools | aq-mode 3 (cyclic refresh), CDEF on, no TPL, no delta-q, no order hints |
//! | speed | by size ([`EncoderConfig::speed`] overrides): 7 up to 320x180, 8 up to 640x360, 10 above (measured: see `speed_for`) |
//! | threads | by resolution and cores (see [`EncoderConfig::threads_for`]), row-MT on, 2^n tile columns for n threads |
//! | frame dropping | `rc_dropframe_thresh = 30` when [`EncoderConfig::frame_dropping`]; with [`EncoderConfig::drop_overshoot`] post-encode drop on (`AV1E_SET_POSTENCODE_DROP_RTC`), `rc_dropframe_thresh = 1` if frame dropping is off, at most 100 ms of consecutive drops |
//! | bitrate change | `aom_codec_enc_config_set`, live, no keyframe |
//! | resolution change | `aom_codec_enc_config_set` with new `g_w/g_h` inside the `g_forced_max_frame_*` set at init (keyframe at the new size); beyond it the context is re-created |
//!
//! Output payloads are the frame's OBUs without the temporal delimiter; keyframes carry the
//! sequence header. `qp` is libaom's last qindex (0..=255).
//!
//! The calls into libaom are in the private `raw` module (the only `unsafe` code of this
//! backend); this module makes the choices.

use std::fmt;
use std::os::raw::{c_int, c_uint};

use bytes::Bytes;
use libaom_sys as aom;

use crate::av1::obu::leading_temporal_delimiter_len;
use crate::encoded::{CodecKind, EncodedFrame};
use crate::encoder::{
    ContentKind, DropReason, EncodeOutcome, EncoderConfig, EncoderInfo, FrameSizeCaps, FrameTiming,
    LiveBitrate, RateState, Rates, TimestampGuard, VideoEncoder, timed,
};
use crate::error::{ConfigError, Error};
use crate::frame::{ColorSpace, Frame, Matrix, Range};

mod raw;

const NAME: &str = "libaom";
/// libaom's timebase: the 90 kHz RTP clock, as libwebrtc uses (capture times in microseconds
/// are rounded to it: 11 µs).
const TIMEBASE_DEN: c_int = 90_000;
/// Quantizer range on libaom's 0..63 scale (libwebrtc's AV1 defaults).
const QP_MIN: c_uint = 10;
const QP_MAX: c_uint = 56;

/// Speed (`cpu-used`) for a frame size: the slowest speed (best compression) that stays cheap
/// here and pays off in calls, measured with `aom-speed` (`benches/src/bin`) on the talking-head
/// clip scaled to each size, 150 frames, 2 threads, best of 3, quiet machine. PSNR-Y gain over
/// speed 10 in the middle of each size's ladder (60/120/240k, 200/400/800k, 0.6/1.2/2.4M) and
/// the encode-time ratio:
///
/// | size | speed | gain | time | why not slower |
/// |---|---|---|---|---|
/// | ≤ 320x180 | 7 | +0.9 dB | 1.5× (≈ 1 ms a frame) | 6: +1.8 dB but 5× |
/// | ≤ 640x360 | 8 | +0.3 dB | 1.16× | 7: +0.06 dB more for 1.31×; 6: 4.2× |
/// | larger | 10 | — | — | 720p: 8 gains 0.2 dB alone, but under the call's rate controller (`scripts/rc-table`, 9 runs) PSNR-Y −0.24 dB, the same on screen, worse 1 s accuracy on the step trace; 1080p: 6–9 gain ≤ 0.1 dB |
fn speed_for(width: u32, height: u32) -> c_int {
    let px = width as u64 * height as u64;
    if px <= 320 * 180 {
        7
    } else if px <= 640 * 360 {
        8
    } else {
        10
    }
}

/// The libaom realtime AV1 encoder.
pub struct AomEncoder {
    ctx: raw::Context,
    config: EncoderConfig,
    rates: RateState,
    size: (u32, u32),
    max_size: (u32, u32),
    color: Option<ColorSpace>,
    timestamps: TimestampGuard,
    /// Capture time that maps to pts 0 of the current libaom context (its first frame's).
    origin_us: Option<i64>,
    /// With [`FrameTiming::Nominal`]: the pts of the next frame.
    next_nominal_pts: i64,
    /// Reused output buffer: the payload is copied out of it once, at its exact size.
    scratch: Vec<u8>,
    /// Cumulative bitrate share per temporal layer.
    layer_split: Vec<f64>,
    /// Frames produced since the last keyframe (the temporal layer pattern's position).
    layer_frame: u64,
}

impl fmt::Debug for AomEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AomEncoder")
            .field("size", &self.size)
            .field("max_size", &self.max_size)
            .field("bitrate_bps", &self.rates.bitrate_bps)
            .field("framerate", &self.rates.framerate)
            .finish()
    }
}

impl AomEncoder {
    /// Creates the encoder (the libaom context is created now, so bad settings fail here).
    pub fn new(config: &EncoderConfig) -> Result<Self, Error> {
        config.validate()?;
        if config.codec != CodecKind::Av1 {
            return Err(ConfigError::Unsupported {
                field: "codec",
                value: config.codec.to_string(),
                backend: NAME,
                reason: "libaom encodes AV1 only",
            }
            .into());
        }
        let max_size = config
            .max_size
            .unwrap_or((config.width.max(1920), config.height.max(1080)));
        let max_size = (max_size.0.max(config.width), max_size.1.max(config.height));
        let mut enc = AomEncoder {
            ctx: raw::Context::with_realtime_defaults()?,
            config: config.clone(),
            rates: RateState {
                bitrate_bps: config.bitrate_bps,
                framerate: config.framerate,
            },
            size: (config.width, config.height),
            max_size,
            color: None,
            timestamps: TimestampGuard::default(),
            origin_us: None,
            next_nominal_pts: 0,
            scratch: Vec::new(),
            layer_split: crate::encoder::default_layer_split(config.temporal_layers).to_vec(),
            layer_frame: 0,
        };
        enc.init()?;
        Ok(enc)
    }

    /// (Re-)creates the libaom context for the current size, rates and settings.
    fn init(&mut self) -> Result<(), Error> {
        let (w, h) = self.size;
        let threads = self.config.threads_for(w, h);
        self.ctx = raw::Context::with_realtime_defaults()?;
        let cfg = self.ctx.config_mut();
        cfg.g_usage = aom::AOM_USAGE_REALTIME;
        cfg.g_w = w;
        cfg.g_h = h;
        cfg.g_forced_max_frame_width = self.max_size.0;
        cfg.g_forced_max_frame_height = self.max_size.1;
        cfg.g_threads = threads;
        cfg.g_timebase = aom::aom_rational {
            num: 1,
            den: TIMEBASE_DEN,
        };
        cfg.g_input_bit_depth = 8;
        cfg.g_bit_depth = aom::AOM_BITS_8;
        cfg.g_error_resilient = 0;
        cfg.g_pass = aom::AOM_RC_ONE_PASS;
        cfg.g_lag_in_frames = 0;
        cfg.rc_end_usage = aom::AOM_CBR;
        cfg.rc_target_bitrate = self.rates.bitrate_bps.max(1000) / 1000;
        cfg.rc_min_quantizer = QP_MIN;
        cfg.rc_max_quantizer = QP_MAX;
        cfg.rc_undershoot_pct = 50;
        cfg.rc_overshoot_pct = 50;
        cfg.rc_buf_initial_sz = self.config.rate_buffer.initial_ms;
        cfg.rc_buf_optimal_sz = self.config.rate_buffer.optimal_ms;
        cfg.rc_buf_sz = self.config.rate_buffer.size_ms;
        cfg.rc_dropframe_thresh = match (self.config.frame_dropping, self.config.drop_overshoot) {
            (true, _) => 30,
            // libaom's post-encode drop needs its frame dropper on; at 1 % it drops before
            // encoding only when its buffer is empty.
            (false, true) => 1,
            (false, false) => 0,
        };
        cfg.kf_mode = aom::AOM_KF_DISABLED;
        cfg.kf_min_dist = 0;
        cfg.kf_max_dist = u32::MAX >> 1;
        self.ctx.init()?;
        self.origin_us = None;
        self.next_nominal_pts = 0;

        let tile_cols_log2 = if w >= 640 {
            threads.max(1).ilog2().min(3)
        } else {
            0
        };
        let screen = self.config.content == ContentKind::Screen;
        let settings: [(raw::ControlId, c_int); 11] = [
            (aom::AOME_SET_CPUUSED, self.speed(w, h)),
            (aom::AV1E_SET_AQ_MODE, 3),
            (aom::AV1E_SET_ENABLE_CDEF, 1),
            (aom::AV1E_SET_ENABLE_TPL_MODEL, 0),
            (aom::AV1E_SET_DELTAQ_MODE, 0),
            (aom::AV1E_SET_ENABLE_ORDER_HINT, 0),
            (aom::AV1E_SET_ROW_MT, 1),
            (aom::AV1E_SET_TILE_COLUMNS, tile_cols_log2 as c_int),
            (aom::AV1E_SET_NOISE_SENSITIVITY, 0),
            (
                aom::AV1E_SET_TUNE_CONTENT,
                if screen {
                    aom::AOM_CONTENT_SCREEN as c_int
                } else {
                    0
                },
            ),
            (aom::AV1E_SET_ENABLE_PALETTE, screen as c_int),
        ];
        for (id, v) in settings {
            self.ctx.control(id, v)?;
        }
        if self.config.drop_overshoot {
            self.ctx.control(aom::AV1E_SET_POSTENCODE_DROP_RTC, 1)?;
            self.ctx
                .control(aom::AV1E_SET_MAX_CONSEC_FRAME_DROP_MS_CBR, 100)?;
        }
        let caps = self.config.frame_size_caps;
        self.apply_caps(caps)?;
        self.apply_layers()?;
        self.color = None;
        Ok(())
    }

    /// With temporal layers: libaom's SVC parameters for the current rate (set after every
    /// configuration change: libaom derives the layers' rates from `rc_target_bitrate`).
    fn apply_layers(&mut self) -> Result<(), Error> {
        let layers = self.config.temporal_layers;
        if layers <= 1 {
            return Ok(());
        }
        let total = f64::from(self.ctx.config().rc_target_bitrate);
        let kbps: Vec<c_int> = self
            .layer_split
            .iter()
            .map(|share| ((total * share).round() as c_int).max(1))
            .collect();
        // Layer tl runs at 1 / 2^(layers - 1 - tl) of the frame rate.
        let factors: Vec<c_int> = (0..layers).map(|tl| 1 << (layers - 1 - tl)).collect();
        self.ctx
            .set_temporal_layers(&factors, &kbps, (QP_MIN as c_int, QP_MAX as c_int))
    }

    /// The reference structure of the `n`-th frame after a keyframe: (slots read, slots
    /// refreshed). Layer 0 reads and refreshes slot 0; the middle layer of three reads slot 0
    /// and refreshes slot 1; the top layer reads the latest lower-layer frame and refreshes
    /// nothing, so it can be dropped.
    fn layer_structure(layers: u8, n: u64) -> (&'static [c_int], &'static [usize]) {
        match (layers, n % 4) {
            (2, 0 | 2) | (3, 0) => (&[0], &[0]),
            (3, 2) => (&[0], &[1]),
            (3, 3) => (&[1, 0], &[]),
            _ => (&[0], &[]),
        }
    }

    fn apply_caps(&mut self, caps: FrameSizeCaps) -> Result<(), Error> {
        // 0 = no cap.
        self.ctx.control(
            aom::AOME_SET_MAX_INTRA_BITRATE_PCT,
            caps.keyframe_pct.unwrap_or(0) as c_int,
        )?;
        self.ctx.control(
            aom::AV1E_SET_MAX_INTER_BITRATE_PCT,
            caps.inter_pct.unwrap_or(0) as c_int,
        )
    }

    fn apply_color(&mut self, color: ColorSpace) -> Result<(), Error> {
        let (cp, tc, mc) = match color.matrix {
            Matrix::Bt709 => (
                aom::AOM_CICP_CP_BT_709,
                aom::AOM_CICP_TC_BT_709,
                aom::AOM_CICP_MC_BT_709,
            ),
            Matrix::Bt601 => (
                aom::AOM_CICP_CP_BT_601,
                aom::AOM_CICP_TC_BT_601,
                aom::AOM_CICP_MC_BT_601,
            ),
        };
        let range = match color.range {
            Range::Limited => aom::AOM_CR_STUDIO_RANGE,
            Range::Full => aom::AOM_CR_FULL_RANGE,
        };
        self.ctx
            .control(aom::AV1E_SET_COLOR_PRIMARIES, cp as c_int)?;
        self.ctx
            .control(aom::AV1E_SET_TRANSFER_CHARACTERISTICS, tc as c_int)?;
        self.ctx
            .control(aom::AV1E_SET_MATRIX_COEFFICIENTS, mc as c_int)?;
        self.ctx
            .control(aom::AV1E_SET_COLOR_RANGE, range as c_int)?;
        self.color = Some(color);
        Ok(())
    }

    /// Switches to a new frame size; the next frame is a keyframe.
    fn resize(&mut self, width: u32, height: u32) -> Result<(), Error> {
        let same_threads = self.config.threads_for(width, height) == self.ctx.config().g_threads;
        self.size = (width, height);
        if same_threads
            && self.ctx.is_live()
            && width <= self.max_size.0
            && height <= self.max_size.1
        {
            let cfg = self.ctx.config_mut();
            cfg.g_w = width;
            cfg.g_h = height;
            if self.ctx.apply_config().is_ok() {
                self.ctx
                    .control(aom::AOME_SET_CPUUSED, self.speed(width, height))?;
                return self.apply_layers();
            }
        }
        // Outside the forced maximum, a different thread/tile layout for this size, or libaom
        // refused: start over with room for this size.
        self.max_size = (self.max_size.0.max(width), self.max_size.1.max(height));
        self.init()
    }

    /// The speed for a frame size: the configured one, else [`speed_for`].
    fn speed(&self, width: u32, height: u32) -> c_int {
        self.config
            .speed
            .map_or_else(|| speed_for(width, height), c_int::from)
    }

    /// The current target bitrate (bits/s) and frame rate.
    pub fn rates(&self) -> Rates {
        Rates {
            bitrate_bps: self.rates.bitrate_bps,
            framerate: self.rates.framerate,
        }
    }
}

/// Encoder facts shared by every libaom instance.
pub fn info() -> EncoderInfo {
    EncoderInfo {
        implementation: NAME,
        codec: CodecKind::Av1,
        is_hardware_accelerated: false,
        frame_delay: 0,
        has_trusted_rate_controller: true,
        live_bitrate: LiveBitrate::Immediate,
        qp_thresholds: (145, 205),
        resolution_alignment: 1,
    }
}

impl VideoEncoder for AomEncoder {
    fn info(&self) -> EncoderInfo {
        info()
    }

    fn encode(&mut self, frame: &Frame, force_keyframe: bool) -> Result<EncodeOutcome, Error> {
        self.timestamps.accept(frame.timestamp_us())?;
        if self.rates.paused() {
            return Ok(EncodeOutcome::Dropped(DropReason::Paused));
        }
        let mut keyframe = force_keyframe;
        if (frame.width(), frame.height()) != self.size || !self.ctx.is_live() {
            self.resize(frame.width(), frame.height())?;
            keyframe = true;
        }
        if self.color != Some(frame.color_space()) {
            if self.color.is_some() {
                keyframe = true;
            }
            self.apply_color(frame.color_space())?;
        }

        // libaom reads the frame interval as the difference of successive end times (pts +
        // duration). The duration is the nominal interval; the pts is the capture time
        // (relative to the context's first frame), so that libaom sees the real gaps, or with
        // `FrameTiming::Nominal` advances by the nominal interval per frame.
        let duration = (f64::from(TIMEBASE_DEN) / self.rates.framerate)
            .round()
            .max(1.0) as i64;
        let pts = match self.config.timing {
            FrameTiming::Capture => {
                let origin = *self.origin_us.get_or_insert(frame.timestamp_us());
                // Microseconds to 90 kHz ticks, rounded (i128: no overflow for any i64 gap).
                let us = i128::from(frame.timestamp_us()) - i128::from(origin);
                i64::try_from((us * 9 + 50).div_euclid(100)).unwrap_or(i64::MAX)
            }
            FrameTiming::Nominal => {
                let pts = self.next_nominal_pts;
                self.next_nominal_pts += duration;
                pts
            }
        };
        let duration = duration as u64;
        let layers = self.config.temporal_layers;
        let mut temporal_id = 0;
        if layers > 1 {
            if keyframe {
                self.layer_frame = 0;
            }
            let n = self.layer_frame;
            temporal_id = crate::encoder::temporal_layer_of(layers, n);
            let (reads, refreshes) = Self::layer_structure(layers, n);
            self.ctx
                .set_frame_layer(c_int::from(temporal_id), reads, refreshes)?;
            // As libwebrtc: frames above the base layer are error resilient, so that whatever
            // a receiver drops above the base, the rest decodes.
            self.ctx.control(
                aom::AV1E_SET_ERROR_RESILIENT_MODE,
                c_int::from(temporal_id > 0),
            )?;
        }
        self.scratch.clear();
        let (output, encode_time) = timed(|| {
            self.ctx
                .encode(frame, pts, duration, keyframe, &mut self.scratch)
        });
        let output = output?;
        if !output.produced {
            return Ok(EncodeOutcome::Dropped(DropReason::RateControl));
        }
        // The payload is the frame's OBUs without the temporal delimiter, in one allocation.
        let td = leading_temporal_delimiter_len(&self.scratch);
        let data = Bytes::copy_from_slice(&self.scratch[td..]);
        let is_key = output.keyframe;
        if is_key {
            temporal_id = 0;
            self.layer_frame = 0;
        }
        if layers > 1 {
            self.layer_frame += 1;
        }
        Ok(EncodeOutcome::Encoded(EncodedFrame {
            data,
            keyframe: is_key,
            timestamp_us: frame.timestamp_us(),
            width: frame.width(),
            height: frame.height(),
            rotation: frame.rotation(),
            qp: self.ctx.last_quantizer(),
            temporal_id,
            codec: CodecKind::Av1,
            encode_time,
        }))
    }

    fn set_rates(&mut self, rates: Rates) -> Result<(), Error> {
        rates.validate()?;
        let was_paused = self.rates.paused();
        self.rates = RateState {
            bitrate_bps: rates.bitrate_bps,
            framerate: rates.framerate,
        };
        if rates.bitrate_bps == 0 {
            return Ok(());
        }
        let kbps = (rates.bitrate_bps / 1000).max(1);
        if kbps != self.ctx.config().rc_target_bitrate || was_paused {
            self.ctx.config_mut().rc_target_bitrate = kbps;
            self.ctx.apply_config()?;
            self.apply_layers()?;
        }
        Ok(())
    }

    fn set_temporal_layer_split(&mut self, cumulative: &[f64]) -> Result<bool, Error> {
        let layers = usize::from(self.config.temporal_layers);
        if layers <= 1 {
            return Ok(false);
        }
        let valid = cumulative.len() == layers
            && cumulative.iter().all(|s| s.is_finite() && *s > 0.0)
            && cumulative.windows(2).all(|w| w[0] <= w[1]);
        if !valid {
            return Err(ConfigError::out_of_range(
                "temporal_layer_split",
                format!("{cumulative:?}"),
                format!("{layers} increasing positive shares"),
            )
            .into());
        }
        let top = cumulative[layers - 1];
        let split: Vec<f64> = cumulative.iter().map(|s| s / top).collect();
        if split != self.layer_split {
            self.layer_split = split;
            self.apply_layers()?;
        }
        Ok(true)
    }

    fn set_frame_size_caps(&mut self, caps: FrameSizeCaps) -> Result<bool, Error> {
        caps.validate()?;
        if caps != self.config.frame_size_caps {
            self.config.frame_size_caps = caps;
            self.apply_caps(caps)?;
        }
        Ok(true)
    }

    fn flush(&mut self) -> Result<Vec<EncodedFrame>, Error> {
        // Zero lag: nothing is ever held back.
        Ok(Vec::new())
    }
}
