//! The C call layer for libaom's encoder: one context, its configuration struct, and the calls
//! [`super::AomEncoder`] needs. Every `unsafe` block of the libaom backend lives here; the
//! choices (which settings, when to re-create, what a timestamp becomes) are made in safe code
//! in the parent module.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::c_int;

use libaom_sys as aom;

use crate::error::Error;
use crate::frame::Frame;

pub(super) use aom::aom_codec_enc_cfg_t as Config;
pub(super) use aom::aome_enc_control_id as ControlId;

const NAME: &str = "libaom";

/// What one `aom_codec_encode` call produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Output {
    /// At least one frame packet came out (its bytes were appended to the output buffer).
    pub produced: bool,
    /// libaom flagged the frame as a key frame.
    pub keyframe: bool,
}

/// A libaom encoder context and the configuration it was (or will be) initialised with.
pub(super) struct Context {
    ctx: Box<aom::aom_codec_ctx_t>,
    cfg: Box<aom::aom_codec_enc_cfg_t>,
    live: bool,
}

// SAFETY: the libaom context is plain heap state with no thread affinity; `Context` only touches
// it through `&mut self`, so it is never used from two threads at once.
unsafe impl Send for Context {}

impl Context {
    /// A context with libaom's realtime defaults in its configuration, not yet initialised.
    pub fn with_realtime_defaults() -> Result<Self, Error> {
        let mut c = Context {
            // SAFETY: both are plain C structs for which all-zero bytes are a valid value; they
            // are filled by libaom before use.
            ctx: Box::new(unsafe { MaybeUninit::zeroed().assume_init() }),
            // SAFETY: as above.
            cfg: Box::new(unsafe { MaybeUninit::zeroed().assume_init() }),
            live: false,
        };
        // SAFETY: aom_codec_av1_cx returns a static interface; cfg is a valid, writable struct.
        let r = unsafe {
            aom::aom_codec_enc_config_default(
                aom::aom_codec_av1_cx(),
                &mut *c.cfg,
                aom::AOM_USAGE_REALTIME,
            )
        };
        if r != aom::AOM_CODEC_OK {
            return Err(c.fail("aom_codec_enc_config_default", r));
        }
        Ok(c)
    }

    /// The configuration: edit it, then [`Context::init`] or [`Context::apply_config`].
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The configuration, for editing.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.cfg
    }

    /// True once [`Context::init`] succeeded.
    pub fn is_live(&self) -> bool {
        self.live
    }

    fn fail(&self, what: &str, err: aom::aom_codec_err_t) -> Error {
        // SAFETY: aom_codec_err_to_string returns a static NUL-terminated string for any value;
        // the detail pointer is either NULL or a NUL-terminated string owned by the context
        // (libaom keeps the detail of a failed init in the context too).
        let message = unsafe {
            let base = CStr::from_ptr(aom::aom_codec_err_to_string(err)).to_string_lossy();
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

    /// (Re-)initialises the encoder with the current configuration.
    pub fn init(&mut self) -> Result<(), Error> {
        self.destroy();
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
        Ok(())
    }

    /// Applies the edited configuration to the live encoder (`aom_codec_enc_config_set`).
    pub fn apply_config(&mut self) -> Result<(), Error> {
        self.require_live("aom_codec_enc_config_set")?;
        // SAFETY: live context, valid cfg.
        let r = unsafe { aom::aom_codec_enc_config_set(&mut *self.ctx, &*self.cfg) };
        if r != aom::AOM_CODEC_OK {
            return Err(self.fail("aom_codec_enc_config_set", r));
        }
        Ok(())
    }

    /// Sets an integer control.
    pub fn control(&mut self, id: ControlId, value: c_int) -> Result<(), Error> {
        self.require_live("aom_codec_control")?;
        // SAFETY: live context; the controls the parent module passes here all take an int.
        let r = unsafe { aom::aom_codec_control(&mut *self.ctx, id as c_int, value) };
        if r != aom::AOM_CODEC_OK {
            return Err(self.fail("aom_codec_control", r));
        }
        Ok(())
    }

    /// `AV1E_SET_SVC_PARAMS`: one spatial layer, `framerate_factors.len()` temporal layers
    /// with these cumulative target bitrates (kbps) and quantizer range.
    pub fn set_temporal_layers(
        &mut self,
        framerate_factors: &[c_int],
        cumulative_kbps: &[c_int],
        quantizers: (c_int, c_int),
    ) -> Result<(), Error> {
        self.require_live("AV1E_SET_SVC_PARAMS")?;
        // SAFETY: all-zero is a valid aom_svc_params_t (every field is a number).
        let mut p: aom::aom_svc_params_t = unsafe { MaybeUninit::zeroed().assume_init() };
        let layers = framerate_factors.len().min(cumulative_kbps.len()).min(8);
        p.number_spatial_layers = 1;
        p.number_temporal_layers = layers as c_int;
        p.scaling_factor_num[0] = 1;
        p.scaling_factor_den[0] = 1;
        for tl in 0..layers {
            p.min_quantizers[tl] = quantizers.0;
            p.max_quantizers[tl] = quantizers.1;
            p.layer_target_bitrate[tl] = cumulative_kbps[tl];
            p.framerate_factor[tl] = framerate_factors[tl];
        }
        // SAFETY: live context; AV1E_SET_SVC_PARAMS takes a pointer to aom_svc_params_t, which
        // libaom copies during the call.
        let r = unsafe {
            aom::aom_codec_control(
                &mut *self.ctx,
                aom::AV1E_SET_SVC_PARAMS as c_int,
                &mut p as *mut aom::aom_svc_params_t,
            )
        };
        if r != aom::AOM_CODEC_OK {
            return Err(self.fail("AV1E_SET_SVC_PARAMS", r));
        }
        Ok(())
    }

    /// The next frame's temporal layer and reference structure: it reads the buffer slots in
    /// `reads` (as LAST, LAST2, … in order) and refreshes the slots in `refreshes`.
    pub fn set_frame_layer(
        &mut self,
        temporal_layer_id: c_int,
        reads: &[c_int],
        refreshes: &[usize],
    ) -> Result<(), Error> {
        self.require_live("AV1E_SET_SVC_LAYER_ID")?;
        let mut id = aom::aom_svc_layer_id_t {
            spatial_layer_id: 0,
            temporal_layer_id,
        };
        // SAFETY: live context; the control takes a pointer to aom_svc_layer_id_t, copied.
        let r = unsafe {
            aom::aom_codec_control(
                &mut *self.ctx,
                aom::AV1E_SET_SVC_LAYER_ID as c_int,
                &mut id as *mut aom::aom_svc_layer_id_t,
            )
        };
        if r != aom::AOM_CODEC_OK {
            return Err(self.fail("AV1E_SET_SVC_LAYER_ID", r));
        }
        // Every reference type points at some slot (libaom requires valid indices); only the
        // ones in `reads` are used.
        let mut refs = aom::aom_svc_ref_frame_config_t {
            reference: [0; 7],
            ref_idx: [0, 1, 2, 3, 4, 5, 6],
            refresh: [0; 8],
        };
        for (i, &slot) in reads.iter().enumerate().take(7) {
            refs.reference[i] = 1;
            refs.ref_idx[i] = slot;
        }
        for &slot in refreshes.iter().filter(|&&s| s < 8) {
            refs.refresh[slot] = 1;
        }
        // SAFETY: live context; the control takes a pointer to aom_svc_ref_frame_config_t,
        // copied during the call.
        let r = unsafe {
            aom::aom_codec_control(
                &mut *self.ctx,
                aom::AV1E_SET_SVC_REF_FRAME_CONFIG as c_int,
                &mut refs as *mut aom::aom_svc_ref_frame_config_t,
            )
        };
        if r != aom::AOM_CODEC_OK {
            return Err(self.fail("AV1E_SET_SVC_REF_FRAME_CONFIG", r));
        }
        Ok(())
    }

    /// The qindex (0..=255) of the last encoded frame, if libaom reports one.
    pub fn last_quantizer(&mut self) -> Option<u32> {
        if !self.live {
            return None;
        }
        let mut q: c_int = -1;
        // SAFETY: live context; AOME_GET_LAST_QUANTIZER writes one int.
        let r = unsafe {
            aom::aom_codec_control(
                &mut *self.ctx,
                aom::AOME_GET_LAST_QUANTIZER as c_int,
                &mut q as *mut c_int,
            )
        };
        (r == aom::AOM_CODEC_OK && q >= 0).then_some(q as u32)
    }

    fn require_live(&self, what: &str) -> Result<(), Error> {
        if self.live {
            Ok(())
        } else {
            Err(Error::Encoder {
                backend: NAME,
                message: format!("{what}: encoder not initialised"),
            })
        }
    }

    /// Encodes `frame` at `pts` (in the configured timebase) and appends the bytes of every
    /// frame packet that comes out to `out`.
    pub fn encode(
        &mut self,
        frame: &Frame,
        pts: i64,
        duration: u64,
        keyframe: bool,
        out: &mut Vec<u8>,
    ) -> Result<Output, Error> {
        self.require_live("aom_codec_encode")?;
        // SAFETY: all-zero is a valid aom_image_t; aom_img_wrap fills it for an I420 picture of
        // this size. The plane pointers are then replaced by the frame's own planes, which
        // outlive the encode call and which libaom only reads.
        let mut img: aom::aom_image_t = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: see above; the data pointer only seeds plane pointers that we replace.
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
        let flags: aom::aom_enc_frame_flags_t = if keyframe {
            aom::AOM_EFLAG_FORCE_KF as aom::aom_enc_frame_flags_t
        } else {
            0
        };
        // SAFETY: live context; img describes readable planes of the right size.
        let r = unsafe { aom::aom_codec_encode(&mut *self.ctx, &img, pts, duration as _, flags) };
        if r != aom::AOM_CODEC_OK {
            return Err(self.fail("aom_codec_encode", r));
        }
        let mut output = Output {
            produced: false,
            keyframe: false,
        };
        let mut iter: aom::aom_codec_iter_t = std::ptr::null();
        loop {
            // SAFETY: live context; iter is the iterator state libaom expects.
            let pkt = unsafe { aom::aom_codec_get_cx_data(&mut *self.ctx, &mut iter) };
            if pkt.is_null() {
                break;
            }
            // SAFETY: non-null packets returned by libaom stay valid until the next call on
            // the context.
            let pkt = unsafe { &*pkt };
            if pkt.kind != aom::AOM_CODEC_CX_FRAME_PKT {
                continue;
            }
            // SAFETY: for CX_FRAME packets the `frame` member of the union is active and buf/sz
            // describe readable memory owned by libaom.
            let (data, flags) = unsafe {
                let f = pkt.data.frame;
                (
                    std::slice::from_raw_parts(f.buf as *const u8, f.sz),
                    f.flags,
                )
            };
            output.produced = true;
            output.keyframe |= flags & aom::AOM_FRAME_IS_KEY != 0;
            out.extend_from_slice(data);
        }
        Ok(output)
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
}

impl Drop for Context {
    fn drop(&mut self) {
        self.destroy();
    }
}
