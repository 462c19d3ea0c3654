//! The C call layer for openh264: its encoder and decoder instances, driven through their C
//! vtables. Every `unsafe` block of the openh264 backend lives here; the parameters, the order
//! of rate changes, access-unit checks and parameter-set caching are decided in the safe
//! `encoder` and `decoder` modules beside it.
#![allow(unsafe_code)]

use std::os::raw::{c_int, c_uchar, c_void};
use std::ptr;

use openh264_sys2 as sys;
use sys::source::APILoader;

use crate::error::Error;
use crate::frame::Frame;

const NAME: &str = "openh264";

fn err(what: &str, code: c_int) -> Error {
    Error::Encoder {
        backend: NAME,
        message: format!("{what} failed (openh264 error {code})"),
    }
}

/// An openh264 encoder instance.
pub(super) struct Encoder {
    enc: *mut sys::ISVCEncoder,
    initialized: bool,
    /// Output description openh264 fills on every encode (boxed: it is large).
    bs: Box<sys::SFrameBSInfo>,
}

// SAFETY: the openh264 encoder instance has no thread affinity and is only used through
// `&mut self`.
unsafe impl Send for Encoder {}

impl Encoder {
    /// Creates an instance (not yet initialised).
    pub fn new() -> Result<Self, Error> {
        let mut enc: *mut sys::ISVCEncoder = ptr::null_mut();
        // SAFETY: WelsCreateSVCEncoder writes a new instance pointer into `enc`.
        let r = unsafe { APILoader::WelsCreateSVCEncoder(&mut enc) };
        if r != 0 || enc.is_null() {
            return Err(Error::Encoder {
                backend: NAME,
                message: format!("WelsCreateSVCEncoder failed ({r})"),
            });
        }
        Ok(Self {
            enc,
            initialized: false,
            bs: Box::default(),
        })
    }

    fn vtbl(&self) -> sys::ISVCEncoderVtbl {
        // SAFETY: `enc` is a live instance created by WelsCreateSVCEncoder; its first word
        // points at the vtable, which lives as long as the instance.
        unsafe { **self.enc }
    }

    /// True once [`Encoder::initialize`] succeeded.
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    /// openh264's defaults for an extended parameter set.
    pub fn default_params(&mut self) -> Result<sys::SEncParamExt, Error> {
        let f = self
            .vtbl()
            .GetDefaultParams
            .ok_or_else(|| err("vtable", -1))?;
        let mut params = sys::SEncParamExt::default();
        // SAFETY: live instance; params is a valid SEncParamExt.
        let r = unsafe { f(self.enc, &mut params) };
        if r != 0 {
            return Err(err("GetDefaultParams", r));
        }
        Ok(params)
    }

    /// (Re-)initialises with `params` (the instance is uninitialised first if it was live).
    pub fn initialize(&mut self, params: &sys::SEncParamExt) -> Result<(), Error> {
        self.uninitialize();
        let f = self.vtbl().InitializeExt.ok_or_else(|| err("vtable", -1))?;
        // SAFETY: live instance; params is a fully set SEncParamExt.
        let r = unsafe { f(self.enc, params) };
        if r != 0 {
            return Err(err("InitializeExt", r));
        }
        self.initialized = true;
        Ok(())
    }

    fn uninitialize(&mut self) {
        if self.initialized {
            if let Some(f) = self.vtbl().Uninitialize {
                // SAFETY: live, initialised instance.
                unsafe { f(self.enc) };
            }
            self.initialized = false;
        }
    }

    /// `SetOption(id, value)` for an option whose value type is `T`.
    ///
    /// Private: each public setter below pairs an option with its value type.
    fn set_option<T>(
        &mut self,
        id: sys::ENCODER_OPTION,
        value: &mut T,
        what: &str,
    ) -> Result<(), Error> {
        let f = self.vtbl().SetOption.ok_or_else(|| err("vtable", -1))?;
        // SAFETY: live instance; every caller passes the value type openh264 expects for `id`.
        let r = unsafe { f(self.enc, id, (value as *mut T).cast::<c_void>()) };
        if r != 0 {
            return Err(err(what, r));
        }
        Ok(())
    }

    /// Silences openh264's logging.
    pub fn set_quiet(&mut self) -> Result<(), Error> {
        let mut level: c_int = sys::WELS_LOG_QUIET as c_int;
        self.set_option(sys::ENCODER_OPTION_TRACE_LEVEL, &mut level, "trace level")
    }

    /// Input frames are I420.
    pub fn set_i420_input(&mut self) -> Result<(), Error> {
        let mut format: c_int = sys::videoFormatI420 as c_int;
        self.set_option(sys::ENCODER_OPTION_DATAFORMAT, &mut format, "data format")
    }

    /// `ENCODER_OPTION_BITRATE` for all layers.
    pub fn set_target_bitrate(&mut self, bps: c_int) -> Result<(), Error> {
        let mut v = sys::SBitrateInfo {
            iLayer: sys::SPATIAL_LAYER_ALL,
            iBitrate: bps,
        };
        self.set_option(sys::ENCODER_OPTION_BITRATE, &mut v, "bitrate")
    }

    /// `ENCODER_OPTION_MAX_BITRATE` on spatial layer 0.
    pub fn set_max_bitrate(&mut self, bps: c_int) -> Result<(), Error> {
        let mut v = sys::SBitrateInfo {
            iLayer: sys::SPATIAL_LAYER_0,
            iBitrate: bps,
        };
        self.set_option(sys::ENCODER_OPTION_MAX_BITRATE, &mut v, "max bitrate")
    }

    /// `ENCODER_OPTION_FRAME_RATE`.
    pub fn set_frame_rate(&mut self, fps: f32) -> Result<(), Error> {
        let mut v = fps;
        self.set_option(sys::ENCODER_OPTION_FRAME_RATE, &mut v, "frame rate")
    }

    /// The encoder's statistics (for the last frame's QP).
    pub fn statistics(&mut self) -> Result<sys::SEncoderStatistics, Error> {
        let f = self.vtbl().GetOption.ok_or_else(|| err("vtable", -1))?;
        let mut stats = sys::SEncoderStatistics::default();
        // SAFETY: live instance; GET_STATISTICS writes an SEncoderStatistics.
        let r = unsafe {
            f(
                self.enc,
                sys::ENCODER_OPTION_GET_STATISTICS,
                (&mut stats as *mut sys::SEncoderStatistics).cast(),
            )
        };
        if r != 0 {
            return Err(err("GetOption(statistics)", r));
        }
        Ok(stats)
    }

    /// Makes the next frame an IDR.
    pub fn force_idr(&mut self) -> Result<(), Error> {
        // The C vtable entry takes only `bIDR`; the C++ method behind it also has a layer index,
        // which is then undefined. openh264 only reads it for simulcast, which our parameters
        // keep off (`bSimulcastAVC = false`), so the call is well defined for us.
        let f = self
            .vtbl()
            .ForceIntraFrame
            .ok_or_else(|| err("vtable", -1))?;
        // SAFETY: live, initialised instance (checked by the caller's state; a call on an
        // uninitialised instance only returns an error code).
        unsafe { f(self.enc, true) };
        Ok(())
    }

    /// Encodes `frame` (I420, its own strides) and appends every NAL unit that comes out,
    /// Annex B, to `out`. Returns openh264's frame type (`videoFrameTypeSkip` when its rate
    /// control skipped the frame) and the frame's temporal layer.
    pub fn encode(
        &mut self,
        frame: &Frame,
        timestamp_ms: i64,
        out: &mut Vec<u8>,
    ) -> Result<(sys::EVideoFrameType, u8), Error> {
        let pic = sys::SSourcePicture {
            iColorFormat: sys::videoFormatI420 as c_int,
            iStride: [
                frame.y_stride() as c_int,
                frame.uv_stride() as c_int,
                frame.uv_stride() as c_int,
                0,
            ],
            pData: [
                frame.y().as_ptr().cast_mut(),
                frame.u().as_ptr().cast_mut(),
                frame.v().as_ptr().cast_mut(),
                ptr::null_mut(),
            ],
            iPicWidth: frame.width() as c_int,
            iPicHeight: frame.height() as c_int,
            uiTimeStamp: timestamp_ms,
            bPsnrY: false,
            bPsnrU: false,
            bPsnrV: false,
        };
        let f = self.vtbl().EncodeFrame.ok_or_else(|| err("vtable", -1))?;
        // SAFETY: live instance; `pic` points at the frame's planes, which are only read and
        // outlive the call; `bs` is a valid output struct.
        let r = unsafe { f(self.enc, &pic, &mut *self.bs) };
        if r != 0 {
            return Err(err("EncodeFrame", r));
        }
        let info = &*self.bs;
        let layers = (info.iLayerNum.max(0) as usize).min(info.sLayerInfo.len());
        let mut temporal_id = None;
        for layer in &info.sLayerInfo[..layers] {
            let nals = layer.iNalCount.max(0) as usize;
            if nals == 0 || layer.pBsBuf.is_null() || layer.pNalLengthInByte.is_null() {
                continue;
            }
            // The video layer's temporal id (parameter-set layers report 0 too).
            if layer.uiLayerType == sys::VIDEO_CODING_LAYER as u8 {
                temporal_id.get_or_insert(layer.uiTemporalId);
            }
            // SAFETY: openh264 reports `iNalCount` lengths in `pNalLengthInByte`, and the NALs
            // are stored back to back in `pBsBuf`; both stay valid until the next EncodeFrame.
            let bytes = unsafe {
                let lens = std::slice::from_raw_parts(layer.pNalLengthInByte, nals);
                let total: usize = lens.iter().map(|&l| l.max(0) as usize).sum();
                std::slice::from_raw_parts(layer.pBsBuf as *const u8, total)
            };
            out.extend_from_slice(bytes);
        }
        Ok((info.eFrameType, temporal_id.unwrap_or(0)))
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        self.uninitialize();
        // SAFETY: the instance is live and destroyed exactly once.
        unsafe { APILoader::WelsDestroySVCEncoder(self.enc) };
    }
}

/// A decoded picture, borrowed from openh264 until the next call on its decoder.
#[derive(Debug)]
pub(super) struct Picture<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
    pub y_stride: usize,
    pub uv_stride: usize,
    /// The timestamp of the packet the picture came from.
    pub timestamp: u64,
}

/// A failure of the decoder instance itself (not of the data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DecoderFailure(pub String);

/// An openh264 decoder instance.
pub(super) struct Decoder {
    dec: *mut sys::ISVCDecoder,
}

// SAFETY: the openh264 decoder instance has no thread affinity and is only used through
// `&mut self`.
unsafe impl Send for Decoder {}

impl Decoder {
    /// Creates an instance (not yet initialised).
    pub fn new() -> Result<Self, DecoderFailure> {
        let mut dec: *mut sys::ISVCDecoder = ptr::null_mut();
        // SAFETY: WelsCreateDecoder writes a new instance pointer into `dec`.
        let r = unsafe { APILoader::WelsCreateDecoder(&mut dec) };
        if r != 0 || dec.is_null() {
            return Err(DecoderFailure(format!("WelsCreateDecoder failed ({r})")));
        }
        Ok(Self { dec })
    }

    fn vtbl(&self) -> sys::ISVCDecoderVtbl {
        // SAFETY: `dec` is a live instance; its first word points at its vtable.
        unsafe { **self.dec }
    }

    /// `SetOption` for an option that takes an int.
    pub fn set_int_option(
        &mut self,
        id: sys::DECODER_OPTION,
        value: c_int,
    ) -> Result<(), DecoderFailure> {
        let f = self
            .vtbl()
            .SetOption
            .ok_or_else(|| DecoderFailure("vtable".into()))?;
        let mut v = value;
        // SAFETY: live instance; the options the decoder module sets all take an int.
        let r = unsafe { f(self.dec, id, (&mut v as *mut c_int).cast()) };
        if r != 0 {
            return Err(DecoderFailure(format!("SetOption({id}) failed ({r})")));
        }
        Ok(())
    }

    /// `Initialize(param)`.
    pub fn initialize(&mut self, param: &sys::SDecodingParam) -> Result<(), DecoderFailure> {
        let f = self
            .vtbl()
            .Initialize
            .ok_or_else(|| DecoderFailure("vtable".into()))?;
        // SAFETY: live instance; param is a valid SDecodingParam.
        let r = unsafe { f(self.dec, param) };
        if r != 0 {
            return Err(DecoderFailure(format!("Initialize failed ({r})")));
        }
        Ok(())
    }

    /// `Uninitialize()`.
    pub fn uninitialize(&mut self) {
        if let Some(f) = self.vtbl().Uninitialize {
            // SAFETY: live instance (uninitialising twice is harmless in openh264).
            unsafe { f(self.dec) };
        }
    }

    /// The picture openh264 described in `dst`/`info`, if there is one.
    fn picture(
        &self,
        dst: &[*mut c_uchar; 3],
        info: &sys::SBufferInfo,
    ) -> Result<Option<Picture<'_>>, DecoderFailure> {
        if info.iBufferStatus != 1 || dst.iter().any(|p| p.is_null()) {
            return Ok(None);
        }
        // SAFETY: with iBufferStatus == 1 the system-buffer member of the union describes the
        // output picture.
        let sb = unsafe { info.UsrData.sSystemBuffer };
        let (w, h) = (sb.iWidth, sb.iHeight);
        let (ys, uvs) = (sb.iStride[0], sb.iStride[1]);
        if w <= 0 || h <= 0 || ys < w || uvs < (w + 1) / 2 {
            return Err(DecoderFailure(format!(
                "bad output geometry {w}x{h} strides {ys}/{uvs}"
            )));
        }
        let (w, h, ys, uvs) = (w as usize, h as usize, ys as usize, uvs as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        // SAFETY: openh264's output planes hold `rows` rows of `stride` bytes (the last row at
        // least its visible samples); they stay valid until the next call on the decoder, which
        // the borrow of `self` in the returned picture rules out.
        let (y, u, v) = unsafe {
            (
                std::slice::from_raw_parts(dst[0], ys * (h - 1) + w),
                std::slice::from_raw_parts(dst[1], uvs * (ch - 1) + cw),
                std::slice::from_raw_parts(dst[2], uvs * (ch - 1) + cw),
            )
        };
        Ok(Some(Picture {
            width: w,
            height: h,
            y,
            u,
            v,
            y_stride: ys,
            uv_stride: uvs,
            timestamp: info.uiOutYuvTimeStamp,
        }))
    }

    /// `DecodeFrameNoDelay` on one access unit: openh264's decoding state and the picture that
    /// came out, if any.
    pub fn decode(
        &mut self,
        data: &[u8],
        timestamp: u64,
    ) -> Result<(sys::DECODING_STATE, Option<Picture<'_>>), DecoderFailure> {
        let len = c_int::try_from(data.len())
            .map_err(|_| DecoderFailure("packet larger than 2 GiB".into()))?;
        let f = self
            .vtbl()
            .DecodeFrameNoDelay
            .ok_or_else(|| DecoderFailure("vtable".into()))?;
        let mut dst: [*mut c_uchar; 3] = [ptr::null_mut(); 3];
        let mut info = sys::SBufferInfo {
            uiInBsTimeStamp: timestamp,
            ..Default::default()
        };
        // SAFETY: live instance; data/len describe bytes openh264 only reads; dst and info are
        // valid output locations.
        let state = unsafe { f(self.dec, data.as_ptr(), len, dst.as_mut_ptr(), &mut info) };
        Ok((state, self.picture(&dst, &info)?))
    }

    /// Pictures still held for reordering (`DECODER_OPTION_NUM_OF_FRAMES_REMAINING_IN_BUFFER`).
    pub fn frames_remaining(&mut self) -> Result<c_int, DecoderFailure> {
        let f = self
            .vtbl()
            .GetOption
            .ok_or_else(|| DecoderFailure("vtable".into()))?;
        let mut remaining: c_int = 0;
        // SAFETY: live instance; the option writes an int.
        let r = unsafe {
            f(
                self.dec,
                sys::DECODER_OPTION_NUM_OF_FRAMES_REMAINING_IN_BUFFER,
                (&mut remaining as *mut c_int).cast(),
            )
        };
        if r != 0 {
            return Err(DecoderFailure(format!("GetOption(remaining) failed ({r})")));
        }
        Ok(remaining)
    }

    /// `FlushFrame`: the next picture held for reordering, if any.
    pub fn flush_one(&mut self) -> Result<Option<Picture<'_>>, DecoderFailure> {
        let f = self
            .vtbl()
            .FlushFrame
            .ok_or_else(|| DecoderFailure("vtable".into()))?;
        let mut dst: [*mut c_uchar; 3] = [ptr::null_mut(); 3];
        let mut info = sys::SBufferInfo::default();
        // SAFETY: live instance; valid output locations.
        unsafe { f(self.dec, dst.as_mut_ptr(), &mut info) };
        self.picture(&dst, &info)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        self.uninitialize();
        // SAFETY: the instance is live and destroyed exactly once.
        unsafe { APILoader::WelsDestroyDecoder(self.dec) };
    }
}
