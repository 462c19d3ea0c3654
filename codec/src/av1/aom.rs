//! AV1 encoding with libaom in realtime mode — the default AV1 encoder for calls.
//!
//! libaom 3.11 is vendored and built by `libaom-sys` (cmake + nasm). The configuration follows
//! libwebrtc's `LibaomAv1Encoder` and the measurements in `REFERENCE.md`:
//!
//! | setting | value |
//! |---|---|
//! | usage | `AOM_USAGE_REALTIME`, one pass, `g_lag_in_frames = 0` (zero delay) |
//! | rate control | CBR; undershoot/overshoot 50/50 %; buffer [`EncoderConfig::rate_buffer`] (default libwebrtc's 600/600/1000 ms); qindex 10..56 (0..63 scale); frame size caps only when asked ([`EncoderConfig::frame_size_caps`], live with `set_frame_size_caps`; libwebrtc caps keyframes at 300 %) |
//! | keyframes | only on request (`kf_mode` disabled, `AOM_EFLAG_FORCE_KF`) |
//! | tools | aq-mode 3 (cyclic refresh), CDEF on, no TPL, no delta-q, no order hints |
//! | speed | 10 from 640x360 up; 9 below that; 8 at 320x180 and smaller |
//! | threads | by resolution and cores (see [`EncoderConfig::threads_for`]), row-MT on, 2^n tile columns for n threads |
//! | frame dropping | `rc_dropframe_thresh = 30` when [`EncoderConfig::frame_dropping`]; with [`EncoderConfig::drop_overshoot`] post-encode drop on (`AV1E_SET_POSTENCODE_DROP_RTC`), `rc_dropframe_thresh = 1` if frame dropping is off, at most 100 ms of consecutive drops |
//! | bitrate change | `aom_codec_enc_config_set`, live, no keyframe |
//! | resolution change | `aom_codec_enc_config_set` with new `g_w/g_h` inside the `g_forced_max_frame_*` set at init (keyframe at the new size); beyond it the context is re-created |
//!
//! Output payloads are the frame's OBUs without the temporal delimiter; keyframes carry the
//! sequence header. `qp` is libaom's last qindex (0..=255).

use std::ffi::CStr;
use std::fmt;
use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_uint};

use bytes::{Bytes, BytesMut};
use libaom_sys as aom;

use crate::av1::obu::leading_temporal_delimiter_len;
use crate::encoded::{CodecKind, EncodedFrame};
use crate::encoder::{
    ContentKind, DropReason, EncodeOutcome, EncoderConfig, EncoderInfo, FrameSizeCaps, LiveBitrate,
    RateState, Rates, VideoEncoder, timed,
};
use crate::error::{ConfigError, Error};
use crate::frame::{ColorSpace, Frame, Matrix, Range};

const NAME: &str = "libaom";
/// RTP clock: libaom's timebase is 1/90000 s, like libwebrtc's.
const TIMEBASE: i64 = 90_000;
/// Quantizer range on libaom's 0..63 scale (libwebrtc's AV1 defaults).
const QP_MIN: c_uint = 10;
const QP_MAX: c_uint = 56;

/// Speed (`cpu-used`) for a frame size: 10 for 360p and up (where the cycles go), a little slower
/// — better compression — on small frames that are cheap anyway.
fn speed_for(width: u32, height: u32) -> c_int {
    let px = width as u64 * height as u64;
    if px <= 320 * 180 {
        8
    } else if px < 640 * 360 {
        9
    } else {
        10
    }
}

/// The libaom realtime AV1 encoder.
pub struct AomEncoder {
    ctx: Box<aom::aom_codec_ctx_t>,
    cfg: Box<aom::aom_codec_enc_cfg_t>,
    live: bool,
    config: EncoderConfig,
    rates: RateState,
    size: (u32, u32),
    max_size: (u32, u32),
    color: Option<ColorSpace>,
    pts: i64,
}

// SAFETY: the libaom context is plain heap state with no thread affinity; `AomEncoder` only
// touches it through `&mut self`, so it is never used from two threads at once.
unsafe impl Send for AomEncoder {}

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
            // SAFETY: both are plain C structs for which all-zero bytes are a valid value; they
            // are filled by libaom before use.
            ctx: Box::new(unsafe { MaybeUninit::zeroed().assume_init() }),
            // SAFETY: as above.
            cfg: Box::new(unsafe { MaybeUninit::zeroed().assume_init() }),
            live: false,
            config: config.clone(),
            rates: RateState {
                bitrate_bps: config.bitrate_bps,
                framerate: config.framerate,
            },
            size: (config.width, config.height),
            max_size,
            color: None,
            pts: 0,
        };
        enc.init()?;
        Ok(enc)
    }

    fn fail(&self, what: &str, err: aom::aom_codec_err_t) -> Error {
        // SAFETY: aom_codec_err_to_string returns a static NUL-terminated string for any value;
        // the detail pointer is either NULL or a NUL-terminated string owned by the context.
        let message = unsafe {
            let base = CStr::from_ptr(aom::aom_codec_err_to_string(err)).to_string_lossy();
            // Valid before and after init: libaom keeps the detail of a failed init in the
            // context itself.
            let detail = aom::aom_codec_error_detail(&*self.ctx);
            if detail.is_null() {
                format!("{what}: {base}")
            } else {
                format!(
                    "{what}: {base} ({})",
                    CStr::from_ptr(detail).to_string_lossy()
                )
            }
        };
        Error::Encoder {
            backend: NAME,
            message,
        }
    }

    fn control(&mut self, id: aom::aome_enc_control_id, value: c_int) -> Result<(), Error> {
        // SAFETY: the context is initialised (`live`); every control we pass takes an int.
        let r = unsafe { aom::aom_codec_control(&mut *self.ctx, id as c_int, value) };
        if r != aom::AOM_CODEC_OK {
            return Err(self.fail("aom_codec_control", r));
        }
        Ok(())
    }

    fn init(&mut self) -> Result<(), Error> {
        self.destroy();
        let (w, h) = self.size;
        let threads = self.config.threads_for(w, h);
        // SAFETY: aom_codec_av1_cx returns a static interface; cfg is a valid, writable struct.
        let r = unsafe {
            aom::aom_codec_enc_config_default(
                aom::aom_codec_av1_cx(),
                &mut *self.cfg,
                aom::AOM_USAGE_REALTIME,
            )
        };
        if r != aom::AOM_CODEC_OK {
            return Err(self.fail("aom_codec_enc_config_default", r));
        }
        let cfg = &mut *self.cfg;
        cfg.g_usage = aom::AOM_USAGE_REALTIME;
        cfg.g_w = w;
        cfg.g_h = h;
        cfg.g_forced_max_frame_width = self.max_size.0;
        cfg.g_forced_max_frame_height = self.max_size.1;
        cfg.g_threads = threads;
        cfg.g_timebase = aom::aom_rational {
            num: 1,
            den: TIMEBASE as c_int,
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

        // SAFETY: ctx and cfg are valid for the call; the ABI version matches the bindings.
        let r = unsafe {
            aom::aom_codec_enc_init_ver(
                &mut *self.ctx,
                aom::aom_codec_av1_cx(),
                &*self.cfg,
                0,
                aom::AOM_ENCODER_ABI_VERSION as c_int,
            )
        };
        if r != aom::AOM_CODEC_OK {
            return Err(self.fail("aom_codec_enc_init", r));
        }
        self.live = true;

        let tile_cols_log2 = if w >= 640 {
            threads.max(1).ilog2().min(3)
        } else {
            0
        };
        let screen = self.config.content == ContentKind::Screen;
        let settings: [(aom::aome_enc_control_id, c_int); 11] = [
            (aom::AOME_SET_CPUUSED, speed_for(w, h)),
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
            self.control(id, v)?;
        }
        if self.config.drop_overshoot {
            self.control(aom::AV1E_SET_POSTENCODE_DROP_RTC, 1)?;
            self.control(aom::AV1E_SET_MAX_CONSEC_FRAME_DROP_MS_CBR, 100)?;
        }
        let caps = self.config.frame_size_caps;
        self.apply_caps(caps)?;
        self.color = None;
        Ok(())
    }

    fn apply_caps(&mut self, caps: FrameSizeCaps) -> Result<(), Error> {
        // 0 = no cap.
        self.control(
            aom::AOME_SET_MAX_INTRA_BITRATE_PCT,
            caps.keyframe_pct.unwrap_or(0) as c_int,
        )?;
        self.control(
            aom::AV1E_SET_MAX_INTER_BITRATE_PCT,
            caps.inter_pct.unwrap_or(0) as c_int,
        )
    }

    fn destroy(&mut self) {
        if self.live {
            // SAFETY: the context was initialised by aom_codec_enc_init_ver and not destroyed.
            unsafe {
                aom::aom_codec_destroy(&mut *self.ctx);
            }
            self.live = false;
        }
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
        self.control(aom::AV1E_SET_COLOR_PRIMARIES, cp as c_int)?;
        self.control(aom::AV1E_SET_TRANSFER_CHARACTERISTICS, tc as c_int)?;
        self.control(aom::AV1E_SET_MATRIX_COEFFICIENTS, mc as c_int)?;
        self.control(aom::AV1E_SET_COLOR_RANGE, range as c_int)?;
        self.color = Some(color);
        Ok(())
    }

    /// Switches to a new frame size; the next frame is a keyframe.
    fn resize(&mut self, width: u32, height: u32) -> Result<(), Error> {
        let same_threads = self.config.threads_for(width, height) == self.cfg.g_threads;
        self.size = (width, height);
        if same_threads && self.live && width <= self.max_size.0 && height <= self.max_size.1 {
            self.cfg.g_w = width;
            self.cfg.g_h = height;
            // SAFETY: live context, valid cfg.
            let r = unsafe { aom::aom_codec_enc_config_set(&mut *self.ctx, &*self.cfg) };
            if r == aom::AOM_CODEC_OK {
                return self.control(aom::AOME_SET_CPUUSED, speed_for(width, height));
            }
        }
        // Outside the forced maximum, a different thread/tile layout for this size, or libaom
        // refused: start over with room for this size.
        self.max_size = (self.max_size.0.max(width), self.max_size.1.max(height));
        self.init()
    }

    /// The current target bitrate (bits/s) and frame rate.
    pub fn rates(&self) -> Rates {
        Rates {
            bitrate_bps: self.rates.bitrate_bps,
            framerate: self.rates.framerate,
        }
    }
}

impl Drop for AomEncoder {
    fn drop(&mut self) {
        self.destroy();
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
        if self.rates.paused() {
            return Ok(EncodeOutcome::Dropped(DropReason::Paused));
        }
        let mut keyframe = force_keyframe;
        if (frame.width(), frame.height()) != self.size || !self.live {
            self.resize(frame.width(), frame.height())?;
            keyframe = true;
        }
        if self.color != Some(frame.color_space()) {
            if self.color.is_some() {
                keyframe = true;
            }
            self.apply_color(frame.color_space())?;
        }

        // SAFETY: all-zero is a valid aom_image_t; aom_img_wrap fills it for an I420 picture of
        // this size. We then point its planes at the frame's buffers, which outlive the encode
        // call and are only read by libaom.
        let mut img: aom::aom_image_t = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: see above; the data pointer is only used to derive plane pointers we replace.
        let wrapped = unsafe {
            aom::aom_img_wrap(
                &mut img,
                aom::AOM_IMG_FMT_I420,
                frame.width(),
                frame.height(),
                1,
                frame.y().as_ptr().cast_mut(),
            )
        };
        if wrapped.is_null() {
            return Err(Error::Encoder {
                backend: NAME,
                message: "aom_img_wrap refused the frame".into(),
            });
        }
        img.planes = [
            frame.y().as_ptr().cast_mut(),
            frame.u().as_ptr().cast_mut(),
            frame.v().as_ptr().cast_mut(),
        ];
        img.stride = [
            frame.y_stride() as c_int,
            frame.uv_stride() as c_int,
            frame.uv_stride() as c_int,
        ];
        let duration = ((TIMEBASE as f64) / self.rates.framerate).round().max(1.0) as i64;
        let flags: aom::aom_enc_frame_flags_t = if keyframe {
            aom::AOM_EFLAG_FORCE_KF as aom::aom_enc_frame_flags_t
        } else {
            0
        };
        let pts = self.pts;
        self.pts += duration;

        let ctx: *mut aom::aom_codec_ctx_t = &mut *self.ctx;
        let ((result, payload, is_key), encode_time) = timed(|| {
            // SAFETY: ctx is live; img describes readable planes of the right size.
            let r = unsafe { aom::aom_codec_encode(ctx, &img, pts, duration as _, flags) };
            if r != aom::AOM_CODEC_OK {
                return (r, None, false);
            }
            let mut out: Option<BytesMut> = None;
            let mut is_key = false;
            let mut iter: aom::aom_codec_iter_t = std::ptr::null();
            loop {
                // SAFETY: ctx is live; iter is the iterator state libaom expects.
                let pkt = unsafe { aom::aom_codec_get_cx_data(ctx, &mut iter) };
                if pkt.is_null() {
                    break;
                }
                // SAFETY: non-null packets returned by libaom are valid until the next call.
                let pkt = unsafe { &*pkt };
                if pkt.kind != aom::AOM_CODEC_CX_FRAME_PKT {
                    continue;
                }
                // SAFETY: for CX_FRAME packets the `frame` member of the union is active and
                // buf/sz describe readable memory owned by libaom.
                let (data, flags) = unsafe {
                    let f = pkt.data.frame;
                    (
                        std::slice::from_raw_parts(f.buf as *const u8, f.sz),
                        f.flags,
                    )
                };
                is_key |= flags & aom::AOM_FRAME_IS_KEY != 0;
                out.get_or_insert_with(|| BytesMut::with_capacity(data.len()))
                    .extend_from_slice(data);
            }
            (r, out, is_key)
        });
        if result != aom::AOM_CODEC_OK {
            return Err(self.fail("aom_codec_encode", result));
        }
        let Some(payload) = payload else {
            return Ok(EncodeOutcome::Dropped(DropReason::RateControl));
        };
        let mut data: Bytes = payload.freeze();
        let td = leading_temporal_delimiter_len(&data);
        let data = data.split_off(td);
        let mut q: c_int = -1;
        // SAFETY: AOME_GET_LAST_QUANTIZER takes an int pointer.
        let qr = unsafe {
            aom::aom_codec_control(
                &mut *self.ctx,
                aom::AOME_GET_LAST_QUANTIZER as c_int,
                &mut q as *mut c_int,
            )
        };
        Ok(EncodeOutcome::Encoded(EncodedFrame {
            data,
            keyframe: is_key,
            timestamp_us: frame.timestamp_us(),
            width: frame.width(),
            height: frame.height(),
            rotation: frame.rotation(),
            qp: (qr == aom::AOM_CODEC_OK && q >= 0).then_some(q as u32),
            temporal_id: 0,
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
        if kbps != self.cfg.rc_target_bitrate || was_paused {
            self.cfg.rc_target_bitrate = kbps;
            // SAFETY: live context, valid cfg.
            let r = unsafe { aom::aom_codec_enc_config_set(&mut *self.ctx, &*self.cfg) };
            if r != aom::AOM_CODEC_OK {
                return Err(self.fail("aom_codec_enc_config_set", r));
            }
        }
        Ok(())
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
