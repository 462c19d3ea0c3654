//! H.264 encoding and decoding with Cisco's openh264 (built from source by `openh264-sys2`).
//!
//! We drive openh264's C++ vtables directly rather than through the `openh264` crate's wrapper,
//! because calls need things that wrapper hides: `InitializeExt` with our own parameters, live
//! `SetOption` bitrate/frame-rate changes in the right order, the per-frame QP from the encoder's
//! statistics, and the decoder's error state flags.
//!
//! # Encoder (libwebrtc `H264EncoderImpl` semantics)
//!
//! | setting | value |
//! |---|---|
//! | profile | Constrained Baseline, CAVLC, one slice per picture, Annex B, one thread |
//! | rate control | `RC_BITRATE_MODE`, frame skipping when [`EncoderConfig::frame_dropping`], QP 12..42 (openh264 clamps outside that silently) |
//! | frame rate | always set (`fMaxFrameRate` = 0 makes openh264 assume 1 fps and overshoot ~10×) |
//! | keyframes | only on request (`uiIntraPeriod = 0`); SPS and PPS precede every IDR |
//! | scene-change detection | off (it inserts unrequested I-frames and bitrate spikes) |
//! | bitrate change | live `SetOption`: raising sets `ENCODER_OPTION_MAX_BITRATE` first, lowering sets `ENCODER_OPTION_BITRATE` first (openh264 silently keeps the old rate otherwise) |
//! | resolution change | re-initialisation inside the encoder; the frame comes out as an IDR at the new size |
//!
//! Width and height must be even: H.264 4:2:0 crops in units of two samples, so an odd size
//! cannot be signalled and is refused with a [`ConfigError`] instead of being silently changed.
//!
//! # Decoder
//!
//! `DecodeFrameNoDelay` (one access unit in, its picture out), error concealment off so that a
//! damaged frame is reported instead of shown. The access unit is checked first: until an IDR
//! arrives (at the start and after any error) other frames are refused with
//! [`DecodeError::MissingReference`], and an SPS larger than [`DecoderConfig::max_pixels`] is
//! refused before openh264 allocates for it. openh264 is conformant for Constrained Baseline and
//! Baseline; it does not decode every Main-profile stream (see the conformance report).

use std::fmt;
use std::os::raw::{c_int, c_uchar, c_void};
use std::ptr;

use bytes::BytesMut;
use openh264_sys2 as sys;
use sys::source::APILoader;

use crate::decoder::{DecodeError, DecoderConfig, DecoderInfo, VideoDecoder};
use crate::encoded::{CodecKind, EncodedFrame, Packet};
use crate::encoder::{
    ContentKind, DropReason, EncodeOutcome, EncoderConfig, EncoderInfo, LiveBitrate, RateState,
    Rates, VideoEncoder, timed,
};
use crate::error::{ConfigError, Error};
use crate::frame::{ColorSpace, Frame, FramePool, Matrix, Range, Rotation};
use crate::h264::bitstream::{
    NAL_IDR_SLICE, NAL_PPS, NAL_SLICE, NAL_SPS, nal_type, nal_units, parse_pps, parse_sps,
};

const ENC_NAME: &str = "openh264";
/// openh264 refuses larger access units (`MAX_ACCESS_UNIT_CAPACITY`) and then reports
/// "out of memory"; we refuse them first, as corrupt.
const MAX_ACCESS_UNIT_BYTES: usize = 7_077_888;
const DEC_NAME: &str = "openh264";
/// openh264's QP window for real-time use.
const QP_RANGE: (c_int, c_int) = (12, 42);

fn check_even(width: u32, height: u32) -> Result<(), ConfigError> {
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(ConfigError::Unsupported {
            field: "size",
            value: format!("{width}x{height}"),
            backend: ENC_NAME,
            reason: "H.264 4:2:0 needs an even width and height",
        });
    }
    // openh264 supports up to level 5.2: 3840x2160 in either orientation.
    if width.max(height) > 3840 || width.min(height) > 2160 {
        return Err(ConfigError::out_of_range(
            "size",
            format!("{width}x{height}"),
            "up to 3840x2160 (either orientation)",
        ));
    }
    Ok(())
}

/// The openh264 H.264 encoder.
pub struct OpenH264Encoder {
    enc: *mut sys::ISVCEncoder,
    initialized: bool,
    params: Box<sys::SEncParamExt>,
    bs: Box<sys::SFrameBSInfo>,
    config: EncoderConfig,
    rates: RateState,
    /// The rate openh264 currently runs at (differs from `rates` while paused).
    applied_bps: u32,
    size: (u32, u32),
    color: Option<ColorSpace>,
}

// SAFETY: the openh264 encoder instance has no thread affinity and is only used through
// `&mut self`.
unsafe impl Send for OpenH264Encoder {}

impl fmt::Debug for OpenH264Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenH264Encoder")
            .field("size", &self.size)
            .field("bitrate_bps", &self.rates.bitrate_bps)
            .field("framerate", &self.rates.framerate)
            .finish()
    }
}

/// Encoder facts shared by every openh264 encoder.
pub fn encoder_info() -> EncoderInfo {
    EncoderInfo {
        implementation: ENC_NAME,
        codec: CodecKind::H264,
        is_hardware_accelerated: false,
        frame_delay: 0,
        has_trusted_rate_controller: false,
        live_bitrate: LiveBitrate::Immediate,
        qp_thresholds: (24, 37),
        resolution_alignment: 2,
    }
}

impl OpenH264Encoder {
    /// Creates the encoder; the openh264 instance is initialised now.
    pub fn new(config: &EncoderConfig) -> Result<Self, Error> {
        config.validate()?;
        if config.codec != CodecKind::H264 {
            return Err(ConfigError::Unsupported {
                field: "codec",
                value: config.codec.to_string(),
                backend: ENC_NAME,
                reason: "openh264 encodes H.264 only",
            }
            .into());
        }
        check_even(config.width, config.height)?;
        let mut enc: *mut sys::ISVCEncoder = ptr::null_mut();
        // SAFETY: WelsCreateSVCEncoder writes a new instance pointer into `enc`.
        let r = unsafe { APILoader::WelsCreateSVCEncoder(&mut enc) };
        if r != 0 || enc.is_null() {
            return Err(Error::Encoder {
                backend: ENC_NAME,
                message: format!("WelsCreateSVCEncoder failed ({r})"),
            });
        }
        let mut e = OpenH264Encoder {
            enc,
            initialized: false,
            params: Box::default(),
            bs: Box::default(),
            config: config.clone(),
            rates: RateState {
                bitrate_bps: config.bitrate_bps,
                framerate: config.framerate,
            },
            applied_bps: config.bitrate_bps,
            size: (config.width, config.height),
            color: None,
        };
        e.init(ColorSpace::default())?;
        Ok(e)
    }

    fn vtbl(&self) -> &sys::ISVCEncoderVtbl {
        // SAFETY: `enc` is a live instance created by WelsCreateSVCEncoder; its first word points
        // at the vtable, which lives as long as the instance.
        unsafe { &**self.enc }
    }

    fn err(what: &str, code: c_int) -> Error {
        Error::Encoder {
            backend: ENC_NAME,
            message: format!("{what} failed (openh264 error {code})"),
        }
    }

    fn set_option<T>(
        &mut self,
        id: sys::ENCODER_OPTION,
        value: &mut T,
        what: &str,
    ) -> Result<(), Error> {
        let f = self
            .vtbl()
            .SetOption
            .ok_or_else(|| Self::err("SetOption missing", -1))?;
        // SAFETY: live instance; `value` is the type openh264 expects for option `id`.
        let r = unsafe { f(self.enc, id, (value as *mut T).cast::<c_void>()) };
        if r != 0 {
            return Err(Self::err(what, r));
        }
        Ok(())
    }

    fn init(&mut self, color: ColorSpace) -> Result<(), Error> {
        let v = *self.vtbl();
        if self.initialized {
            if let Some(uninit) = v.Uninitialize {
                // SAFETY: live, initialised instance.
                unsafe { uninit(self.enc) };
            }
            self.initialized = false;
        }
        let (w, h) = self.size;
        let get_defaults = v.GetDefaultParams.ok_or_else(|| Self::err("vtable", -1))?;
        // SAFETY: live instance; params is a valid SEncParamExt.
        let r = unsafe { get_defaults(self.enc, &mut *self.params) };
        if r != 0 {
            return Err(Self::err("GetDefaultParams", r));
        }
        let bps = self.applied_bps as c_int;
        let fps = self.rates.framerate as f32;
        let p = &mut *self.params;
        p.iUsageType = match self.config.content {
            ContentKind::Camera => sys::CAMERA_VIDEO_REAL_TIME,
            ContentKind::Screen => sys::SCREEN_CONTENT_REAL_TIME,
        };
        p.iPicWidth = w as c_int;
        p.iPicHeight = h as c_int;
        p.iTargetBitrate = bps;
        p.iMaxBitrate = bps;
        p.iRCMode = sys::RC_BITRATE_MODE;
        p.fMaxFrameRate = fps;
        p.bEnableFrameSkip = self.config.frame_dropping;
        p.uiIntraPeriod = 0;
        p.iNumRefFrame = 1;
        p.eSpsPpsIdStrategy = sys::CONSTANT_ID;
        p.bPrefixNalAddingCtrl = false;
        p.bSimulcastAVC = false;
        p.iPaddingFlag = 0;
        p.iEntropyCodingModeFlag = 0;
        p.iMinQp = QP_RANGE.0;
        p.iMaxQp = QP_RANGE.1;
        p.uiMaxNalSize = 0;
        p.iMultipleThreadIdc = 1;
        p.bEnableDenoise = false;
        p.bEnableBackgroundDetection = true;
        p.bEnableAdaptiveQuant = true;
        p.bEnableFrameCroppingFlag = true;
        p.bEnableSceneChangeDetect = false;
        p.bEnableLongTermReference = false;
        p.iLoopFilterDisableIdc = 0;
        p.iTemporalLayerNum = 1;
        p.iSpatialLayerNum = 1;
        let l = &mut p.sSpatialLayers[0];
        l.iVideoWidth = w as c_int;
        l.iVideoHeight = h as c_int;
        l.fFrameRate = fps;
        l.iSpatialBitrate = bps;
        l.iMaxSpatialBitrate = bps;
        l.uiProfileIdc = sys::PRO_BASELINE;
        l.uiLevelIdc = 0;
        l.sSliceArgument.uiSliceMode = sys::SM_SINGLE_SLICE;
        l.sSliceArgument.uiSliceNum = 1;
        l.bVideoSignalTypePresent = true;
        l.uiVideoFormat = 5; // unspecified
        l.bFullRange = color.range == Range::Full;
        l.bColorDescriptionPresent = true;
        let code = match color.matrix {
            Matrix::Bt709 => 1,
            Matrix::Bt601 => 6,
        };
        l.uiColorPrimaries = code;
        l.uiTransferCharacteristics = code;
        l.uiColorMatrix = code;

        let mut quiet: c_int = sys::WELS_LOG_QUIET as c_int;
        self.set_option(sys::ENCODER_OPTION_TRACE_LEVEL, &mut quiet, "trace level")?;
        let init_ext = v.InitializeExt.ok_or_else(|| Self::err("vtable", -1))?;
        // SAFETY: live instance; params fully set above.
        let r = unsafe { init_ext(self.enc, &*self.params) };
        if r != 0 {
            return Err(Self::err("InitializeExt", r));
        }
        self.initialized = true;
        self.set_option(sys::ENCODER_OPTION_TRACE_LEVEL, &mut quiet, "trace level")?;
        let mut format: c_int = sys::videoFormatI420 as c_int;
        self.set_option(sys::ENCODER_OPTION_DATAFORMAT, &mut format, "data format")?;
        self.color = Some(color);
        Ok(())
    }

    fn apply_bitrate(&mut self, bps: u32) -> Result<(), Error> {
        let raising = bps > self.applied_bps;
        let mut max = sys::SBitrateInfo {
            iLayer: sys::SPATIAL_LAYER_0,
            iBitrate: bps as c_int,
        };
        let mut target = sys::SBitrateInfo {
            iLayer: sys::SPATIAL_LAYER_ALL,
            iBitrate: bps as c_int,
        };
        if raising {
            self.set_option(sys::ENCODER_OPTION_MAX_BITRATE, &mut max, "max bitrate")?;
            self.set_option(sys::ENCODER_OPTION_BITRATE, &mut target, "bitrate")?;
        } else {
            self.set_option(sys::ENCODER_OPTION_BITRATE, &mut target, "bitrate")?;
            self.set_option(sys::ENCODER_OPTION_MAX_BITRATE, &mut max, "max bitrate")?;
        }
        self.applied_bps = bps;
        Ok(())
    }

    fn last_qp(&mut self) -> Option<u32> {
        let mut stats = sys::SEncoderStatistics::default();
        self.set_option_get(&mut stats).ok()?;
        Some(stats.uiAverageFrameQP)
    }

    fn set_option_get(&mut self, stats: &mut sys::SEncoderStatistics) -> Result<(), Error> {
        let f = self
            .vtbl()
            .GetOption
            .ok_or_else(|| Self::err("vtable", -1))?;
        // SAFETY: live instance; GET_STATISTICS writes an SEncoderStatistics.
        let r = unsafe {
            f(
                self.enc,
                sys::ENCODER_OPTION_GET_STATISTICS,
                (stats as *mut sys::SEncoderStatistics).cast(),
            )
        };
        if r != 0 {
            return Err(Self::err("GetOption(statistics)", r));
        }
        Ok(())
    }
}

impl Drop for OpenH264Encoder {
    fn drop(&mut self) {
        let v = *self.vtbl();
        // SAFETY: the instance is live; it is uninitialised (if initialised) and destroyed once.
        unsafe {
            if self.initialized
                && let Some(uninit) = v.Uninitialize
            {
                uninit(self.enc);
            }
            APILoader::WelsDestroySVCEncoder(self.enc);
        }
    }
}

impl VideoEncoder for OpenH264Encoder {
    fn info(&self) -> EncoderInfo {
        encoder_info()
    }

    fn encode(&mut self, frame: &Frame, force_keyframe: bool) -> Result<EncodeOutcome, Error> {
        if self.rates.paused() {
            return Ok(EncodeOutcome::Dropped(DropReason::Paused));
        }
        let mut keyframe = force_keyframe;
        let new_size = (frame.width(), frame.height());
        if new_size != self.size || self.color != Some(frame.color_space()) || !self.initialized {
            check_even(new_size.0, new_size.1)?;
            self.size = new_size;
            self.init(frame.color_space())?;
            keyframe = true;
        }
        let v = *self.vtbl();
        if keyframe {
            // The C vtable entry takes only `bIDR`; the C++ method behind it also has a layer
            // index, which is then undefined. openh264 only reads it for simulcast, which stays
            // off (`bSimulcastAVC = false` above), so the call is well defined for us.
            let force = v.ForceIntraFrame.ok_or_else(|| Self::err("vtable", -1))?;
            // SAFETY: live, initialised instance.
            unsafe { force(self.enc, true) };
        }
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
            uiTimeStamp: frame.timestamp_us().div_euclid(1000),
            bPsnrY: false,
            bPsnrU: false,
            bPsnrV: false,
        };
        let encode = v.EncodeFrame.ok_or_else(|| Self::err("vtable", -1))?;
        let enc = self.enc;
        let bs: *mut sys::SFrameBSInfo = &mut *self.bs;
        // SAFETY: live instance; `pic` points at the frame's planes, which are only read and
        // outlive the call; `bs` is a valid output struct.
        let (r, encode_time) = timed(|| unsafe { encode(enc, &pic, bs) });
        if r != 0 {
            return Err(Self::err("EncodeFrame", r));
        }
        let info = &*self.bs;
        match info.eFrameType {
            sys::videoFrameTypeSkip => return Ok(EncodeOutcome::Dropped(DropReason::RateControl)),
            sys::videoFrameTypeInvalid => {
                return Err(Self::err("EncodeFrame (invalid frame type)", -1));
            }
            _ => {}
        }
        let mut out = BytesMut::with_capacity(info.iFrameSizeInBytes.max(0) as usize);
        let layers = (info.iLayerNum.max(0) as usize).min(info.sLayerInfo.len());
        for layer in &info.sLayerInfo[..layers] {
            let nals = layer.iNalCount.max(0) as usize;
            if nals == 0 || layer.pBsBuf.is_null() || layer.pNalLengthInByte.is_null() {
                continue;
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
        let keyframe = info.eFrameType == sys::videoFrameTypeIDR;
        let qp = self.last_qp();
        Ok(EncodeOutcome::Encoded(EncodedFrame {
            data: out.freeze(),
            keyframe,
            timestamp_us: frame.timestamp_us(),
            width: frame.width(),
            height: frame.height(),
            rotation: frame.rotation(),
            qp,
            temporal_id: 0,
            codec: CodecKind::H264,
            encode_time,
        }))
    }

    fn set_rates(&mut self, rates: Rates) -> Result<(), Error> {
        rates.validate()?;
        if rates.framerate != self.rates.framerate {
            let mut fps = rates.framerate as f32;
            self.set_option(sys::ENCODER_OPTION_FRAME_RATE, &mut fps, "frame rate")?;
        }
        self.rates = RateState {
            bitrate_bps: rates.bitrate_bps,
            framerate: rates.framerate,
        };
        if rates.bitrate_bps != 0 && rates.bitrate_bps != self.applied_bps {
            self.apply_bitrate(rates.bitrate_bps)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<Vec<EncodedFrame>, Error> {
        Ok(Vec::new())
    }
}

/// The openh264 H.264 decoder.
pub struct OpenH264Decoder {
    dec: *mut sys::ISVCDecoder,
    config: DecoderConfig,
    pool: FramePool,
    need_keyframe: bool,
    /// Latest SPS/PPS NAL units by (type, id), replayed after a reset: many streams send them
    /// only once, at the start.
    param_sets: std::collections::BTreeMap<(u8, u32), Vec<u8>>,
    /// The instance was reset; the cached parameter sets must go in before the next IDR.
    replay_param_sets: bool,
    /// Profile of the latest SPS: Baseline streams (66) never reorder, so a complete access unit
    /// that yields no picture was damaged.
    baseline: bool,
    /// Rotation of recent packets by timestamp: streams with reordering (Main/High) output a
    /// picture one or more calls after its packet, under its own timestamp.
    pending: std::collections::VecDeque<(i64, Rotation)>,
}

// SAFETY: the openh264 decoder instance has no thread affinity and is only used through
// `&mut self`.
unsafe impl Send for OpenH264Decoder {}

impl fmt::Debug for OpenH264Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenH264Decoder")
            .field("need_keyframe", &self.need_keyframe)
            .finish()
    }
}

fn backend(detail: impl Into<String>) -> DecodeError {
    DecodeError::Backend {
        backend: DEC_NAME,
        detail: detail.into(),
    }
}

impl OpenH264Decoder {
    /// Creates a decoder.
    pub fn new(config: &DecoderConfig) -> Result<Self, DecodeError> {
        config.validate().map_err(|e| DecodeError::Unsupported {
            backend: DEC_NAME,
            what: e.to_string(),
        })?;
        let mut dec: *mut sys::ISVCDecoder = ptr::null_mut();
        // SAFETY: WelsCreateDecoder writes a new instance pointer into `dec`.
        let r = unsafe { APILoader::WelsCreateDecoder(&mut dec) };
        if r != 0 || dec.is_null() {
            return Err(backend(format!("WelsCreateDecoder failed ({r})")));
        }
        let mut d = OpenH264Decoder {
            dec,
            config: config.clone(),
            pool: FramePool::new(4),
            need_keyframe: true,
            param_sets: Default::default(),
            replay_param_sets: false,
            baseline: true,
            pending: Default::default(),
        };
        d.init()?;
        Ok(d)
    }

    fn vtbl(&self) -> sys::ISVCDecoderVtbl {
        // SAFETY: `dec` is a live instance; its first word points at its vtable.
        unsafe { **self.dec }
    }

    fn set_option(&self, id: sys::DECODER_OPTION, value: c_int) -> Result<(), DecodeError> {
        let f = self.vtbl().SetOption.ok_or_else(|| backend("vtable"))?;
        let mut v = value;
        // SAFETY: live instance; these options take an int.
        let r = unsafe { f(self.dec, id, (&mut v as *mut c_int).cast()) };
        if r != 0 {
            return Err(backend(format!("SetOption({id}) failed ({r})")));
        }
        Ok(())
    }

    fn init(&mut self) -> Result<(), DecodeError> {
        let v = self.vtbl();
        let param = sys::SDecodingParam {
            uiTargetDqLayer: u8::MAX,
            eEcActiveIdc: sys::ERROR_CON_DISABLE,
            sVideoProperty: sys::SVideoProperty {
                size: std::mem::size_of::<sys::SVideoProperty>() as u32,
                eVideoBsType: sys::VIDEO_BITSTREAM_AVC,
            },
            ..Default::default()
        };
        self.set_option(
            sys::DECODER_OPTION_TRACE_LEVEL,
            sys::WELS_LOG_QUIET as c_int,
        )
        .ok();
        let init = v.Initialize.ok_or_else(|| backend("vtable"))?;
        // SAFETY: live instance; param is a valid SDecodingParam.
        let r = unsafe { init(self.dec, &param) };
        if r != 0 {
            return Err(backend(format!("Initialize failed ({r})")));
        }
        self.set_option(
            sys::DECODER_OPTION_TRACE_LEVEL,
            sys::WELS_LOG_QUIET as c_int,
        )?;
        self.set_option(
            sys::DECODER_OPTION_ERROR_CON_IDC,
            sys::ERROR_CON_DISABLE as c_int,
        )?;
        Ok(())
    }

    fn uninit(&mut self) {
        if let Some(f) = self.vtbl().Uninitialize {
            // SAFETY: live, initialised instance.
            unsafe { f(self.dec) };
        }
    }

    /// After an error: a fresh openh264 instance (so no half-decoded state leaks into the next
    /// picture), waiting for an IDR, with the known parameter sets to be replayed before it.
    fn fail(&mut self, e: DecodeError) -> DecodeError {
        self.need_keyframe = true;
        self.replay_param_sets = true;
        self.pending.clear();
        self.uninit();
        match self.init() {
            Ok(()) => e,
            Err(init_err) => init_err,
        }
    }

    fn copy_out(
        &self,
        dst: &[*mut c_uchar; 3],
        info: &sys::SBufferInfo,
        packet: &Packet,
    ) -> Result<Option<Frame>, DecodeError> {
        if info.iBufferStatus != 1 || dst.iter().any(|p| p.is_null()) {
            return Ok(None);
        }
        // SAFETY: with iBufferStatus == 1 the system-buffer member of the union describes the
        // output picture.
        let sb = unsafe { info.UsrData.sSystemBuffer };
        let (w, h) = (sb.iWidth, sb.iHeight);
        let (ys, uvs) = (sb.iStride[0], sb.iStride[1]);
        if w <= 0 || h <= 0 || ys < w || uvs < (w + 1) / 2 {
            return Err(backend(format!(
                "bad output geometry {w}x{h} strides {ys}/{uvs}"
            )));
        }
        let mut frame = self
            .pool
            .frame(w as u32, h as u32)
            .map_err(|e| backend(e.to_string()))?;
        let (fys, fuvs) = (frame.y_stride(), frame.uv_stride());
        let (cw, ch) = (
            frame.chroma_width() as usize,
            frame.chroma_height() as usize,
        );
        let (py, pu, pv) = frame.planes_mut();
        let copy = |d: &mut [u8], ds: usize, s: *const u8, ss: usize, row: usize, rows: usize| {
            for r in 0..rows {
                // SAFETY: openh264's output plane has `rows` rows of `ss` bytes, each holding at
                // least `row` visible samples; it stays valid until the next decode call.
                let src = unsafe { std::slice::from_raw_parts(s.add(r * ss), row) };
                d[r * ds..r * ds + row].copy_from_slice(src);
            }
        };
        copy(py, fys, dst[0], ys as usize, w as usize, h as usize);
        copy(pu, fuvs, dst[1], uvs as usize, cw, ch);
        copy(pv, fuvs, dst[2], uvs as usize, cw, ch);
        // openh264 returns the timestamp of the packet the picture came from.
        let ts = info.uiOutYuvTimeStamp as i64;
        let rotation = self
            .pending
            .iter()
            .find(|(t, _)| *t == ts)
            .map_or(packet.rotation, |&(_, r)| r);
        frame.set_timestamp_us(ts);
        frame.set_rotation(rotation);
        Ok(Some(frame))
    }

    /// Looks at the access unit before openh264 does: records parameter sets, refuses oversized
    /// streams, and gates inter frames while waiting for an IDR. Returns whether it holds slices.
    fn check_access_unit(&mut self, data: &[u8]) -> Result<bool, DecodeError> {
        let mut has_idr = false;
        let mut has_slice = false;
        let mut any = false;
        for nal in nal_units(data) {
            any = true;
            match nal_type(nal) {
                Some(NAL_IDR_SLICE) => {
                    has_idr = true;
                    has_slice = true;
                }
                Some(NAL_SLICE..=4) => has_slice = true,
                Some(NAL_SPS) => {
                    let sps = parse_sps(nal).map_err(|e| DecodeError::Corrupt {
                        backend: DEC_NAME,
                        detail: format!("unreadable SPS: {e}"),
                    })?;
                    {
                        let px = u64::from(sps.width()) * u64::from(sps.height());
                        if px > self.config.max_pixels {
                            return Err(DecodeError::Unsupported {
                                backend: DEC_NAME,
                                what: format!(
                                    "{}x{} exceeds the {}-pixel limit",
                                    sps.width(),
                                    sps.height(),
                                    self.config.max_pixels
                                ),
                            });
                        }
                        self.baseline = sps.profile_idc == 66;
                        self.param_sets.insert((NAL_SPS, sps.sps_id), nal.to_vec());
                    }
                }
                Some(NAL_PPS) => {
                    if let Ok(pps) = parse_pps(nal) {
                        self.param_sets.insert((NAL_PPS, pps.pps_id), nal.to_vec());
                    }
                }
                _ => {}
            }
        }
        if !any {
            return Err(DecodeError::Corrupt {
                backend: DEC_NAME,
                detail: "no NAL unit (missing Annex B start code)".into(),
            });
        }
        if has_idr {
            self.need_keyframe = false;
        } else if self.need_keyframe && has_slice {
            return Err(DecodeError::MissingReference { backend: DEC_NAME });
        }
        Ok(has_slice)
    }

    fn decode_bytes(
        &mut self,
        data: &[u8],
        info: &mut sys::SBufferInfo,
        dst: &mut [*mut c_uchar; 3],
    ) -> Result<sys::DECODING_STATE, DecodeError> {
        let len = c_int::try_from(data.len()).map_err(|_| DecodeError::Corrupt {
            backend: DEC_NAME,
            detail: "packet larger than 2 GiB".into(),
        })?;
        let f = self
            .vtbl()
            .DecodeFrameNoDelay
            .ok_or_else(|| backend("vtable"))?;
        // SAFETY: live instance; data/len describe bytes openh264 only reads; dst and info are
        // valid output locations.
        Ok(unsafe { f(self.dec, data.as_ptr(), len, dst.as_mut_ptr(), info) })
    }
}

impl Drop for OpenH264Decoder {
    fn drop(&mut self) {
        self.uninit();
        // SAFETY: the instance is live and destroyed exactly once.
        unsafe { APILoader::WelsDestroyDecoder(self.dec) };
    }
}

impl VideoDecoder for OpenH264Decoder {
    fn info(&self) -> DecoderInfo {
        DecoderInfo {
            implementation: DEC_NAME,
            codec: CodecKind::H264,
            is_hardware_accelerated: false,
        }
    }

    fn decode(&mut self, packet: &Packet) -> Result<Option<Frame>, DecodeError> {
        let has_slice = match self.check_access_unit(&packet.data) {
            Ok(s) => s,
            Err(e @ DecodeError::MissingReference { .. }) => return Err(e),
            Err(e) => return Err(self.fail(e)),
        };
        if packet.data.len() > MAX_ACCESS_UNIT_BYTES {
            return Err(self.fail(DecodeError::Corrupt {
                backend: DEC_NAME,
                detail: format!(
                    "access unit of {} bytes exceeds openh264's {MAX_ACCESS_UNIT_BYTES}-byte limit",
                    packet.data.len()
                ),
            }));
        }
        self.pending
            .push_back((packet.timestamp_us, packet.rotation));
        if self.pending.len() > 32 {
            self.pending.pop_front();
        }
        let mut dst: [*mut c_uchar; 3] = [ptr::null_mut(); 3];
        let mut info = sys::SBufferInfo {
            uiInBsTimeStamp: packet.timestamp_us as u64,
            ..Default::default()
        };
        let state = if self.replay_param_sets && has_slice {
            // Parameter sets first (they produce no picture), then the access unit.
            let mut ps = Vec::new();
            for nal in self.param_sets.values() {
                ps.extend_from_slice(&[0, 0, 0, 1]);
                ps.extend_from_slice(nal);
            }
            self.replay_param_sets = false;
            let mut ps_info = sys::SBufferInfo::default();
            let mut ps_dst: [*mut c_uchar; 3] = [ptr::null_mut(); 3];
            if !ps.is_empty() {
                self.decode_bytes(&ps, &mut ps_info, &mut ps_dst)?;
            }
            self.decode_bytes(&packet.data, &mut info, &mut dst)?
        } else {
            self.decode_bytes(&packet.data, &mut info, &mut dst)?
        };
        if state & sys::dsOutOfMemory != 0 {
            return Err(self.fail(backend("out of memory")));
        }
        if state & (sys::dsNoParamSets | sys::dsRefLost | sys::dsRefListNullPtrs) != 0 {
            return Err(self.fail(DecodeError::MissingReference { backend: DEC_NAME }));
        }
        if state
            & (sys::dsBitstreamError
                | sys::dsInvalidArgument
                | sys::dsDepLayerLost
                | sys::dsDataErrorConcealed)
            != 0
        {
            return Err(self.fail(DecodeError::Corrupt {
                backend: DEC_NAME,
                detail: format!("decoding state {state:#x}"),
            }));
        }
        if state & !sys::dsFramePending != 0 {
            // dsInitialOptExpected or a state this wrapper does not know: the instance is not
            // usable as it is.
            return Err(self.fail(backend(format!("unexpected decoding state {state:#x}"))));
        }
        let frame = self.copy_out(&dst, &info, packet)?;
        if frame.is_none() && has_slice && self.baseline {
            // A complete Baseline access unit always yields its picture: openh264 gave up on it
            // without saying so (e.g. a truncated slice).
            return Err(self.fail(DecodeError::Corrupt {
                backend: DEC_NAME,
                detail: "slice data ended early; no picture".into(),
            }));
        }
        Ok(frame)
    }

    fn flush(&mut self) -> Result<Vec<Frame>, DecodeError> {
        let mut out = Vec::new();
        let v = self.vtbl();
        let (Some(get), Some(flush)) = (v.GetOption, v.FlushFrame) else {
            return Err(backend("vtable"));
        };
        for _ in 0..64 {
            let mut remaining: c_int = 0;
            // SAFETY: live instance; the option writes an int.
            let r = unsafe {
                get(
                    self.dec,
                    sys::DECODER_OPTION_NUM_OF_FRAMES_REMAINING_IN_BUFFER,
                    (&mut remaining as *mut c_int).cast(),
                )
            };
            if r != 0 || remaining <= 0 {
                break;
            }
            let mut dst: [*mut c_uchar; 3] = [ptr::null_mut(); 3];
            let mut info = sys::SBufferInfo::default();
            // SAFETY: live instance; valid output locations.
            unsafe { flush(self.dec, dst.as_mut_ptr(), &mut info) };
            let ts = info.uiOutYuvTimeStamp as i64;
            match self.copy_out(&dst, &info, &Packet::new(bytes::Bytes::new(), ts))? {
                Some(f) => out.push(f),
                None => break,
            }
        }
        self.need_keyframe = true;
        Ok(out)
    }

    fn reset(&mut self) {
        self.uninit();
        // If re-initialising fails the next decode reports openh264's error.
        let _ = self.init();
        self.need_keyframe = true;
        self.param_sets.clear();
        self.replay_param_sets = false;
        self.baseline = true;
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::SyntheticScene;

    #[test]
    fn steady_state_decoding_reuses_frame_buffers() {
        let mut cfg = EncoderConfig::new(CodecKind::H264, 160, 90, 200_000, 30.0);
        cfg.frame_dropping = false;
        let mut enc = OpenH264Encoder::new(&cfg).unwrap();
        let mut dec = OpenH264Decoder::new(&DecoderConfig::default()).unwrap();
        let scene = SyntheticScene::new(160, 90, 30.0).unwrap();
        for n in 0..40 {
            let EncodeOutcome::Encoded(e) = enc.encode(&scene.frame(n), false).unwrap() else {
                panic!("frame {n} not encoded");
            };
            let f = dec.decode(&Packet::from(&e)).unwrap().unwrap();
            drop(f);
        }
        assert_eq!(
            dec.pool.allocations(),
            1,
            "one buffer, reused for every frame"
        );
    }

    #[test]
    fn odd_sizes_are_refused_with_the_reason() {
        let cfg = EncoderConfig::new(CodecKind::H264, 161, 90, 200_000, 30.0);
        match OpenH264Encoder::new(&cfg) {
            Err(Error::Config(ConfigError::Unsupported { field: "size", .. })) => {}
            other => panic!("unexpected {other:?}"),
        }
        let mut ok =
            OpenH264Encoder::new(&EncoderConfig::new(CodecKind::H264, 160, 90, 200_000, 30.0))
                .unwrap();
        let odd = Frame::new(161, 91).unwrap();
        assert!(matches!(ok.encode(&odd, false), Err(Error::Config(_))));
    }
}
