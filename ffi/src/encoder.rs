//! Encoders: from a factory (software, or a registered hardware encoder with fallback), init,
//! encode I420 or NV12 planes, rates, info.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use rtvc_codec::encoder::ContentKind;
use rtvc_codec::{Frame, FramePool, Rotation};
use rtvc_webrtc::encoder::EncoderInfo;
use rtvc_webrtc::fallback::{FallbackEvent, FallbackReason};
use rtvc_webrtc::format::ScalabilityMode;
use rtvc_webrtc::{
    EncodeResult, EncoderFactory, EncoderSettings, FrameDropReason, RateControlParameters,
    VideoFrameType, WebRtcEncoder,
};

use crate::formats::{format_arg, registry};
use crate::handles::{self, Kind};
use crate::{adapter_error, copy_out, guard, rtvc_result, write_out};

/// Scalability mode: one layer, or 2 or 3 temporal layers.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtvc_scalability_mode {
    /// One layer.
    RTVC_L1T1 = 1,
    /// Two temporal layers.
    RTVC_L1T2 = 2,
    /// Three temporal layers.
    RTVC_L1T3 = 3,
}

/// Encoder settings (libwebrtc's `VideoCodec`; kbps as the iOS SDK passes them).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_encoder_settings {
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Highest frame rate.
    pub max_fps: u32,
    /// Bitrate to start at, kbps.
    pub start_kbps: u32,
    /// Lowest bitrate, kbps.
    pub min_kbps: u32,
    /// Highest bitrate, kbps.
    pub max_kbps: u32,
    /// Cores the encoder may use.
    pub cores: u32,
    /// Temporal layers: an `rtvc_scalability_mode` value (1, 2 or 3).
    pub scalability_mode: u32,
    /// Let rtvc's rate controller skip frames and scale (recommended).
    pub frame_dropping: bool,
    /// Screen content instead of camera.
    pub screen_content: bool,
}

/// A picture to encode: I420 (`u`, `v` planes) or NV12 (`u` = interleaved CbCr, `v` NULL),
/// each plane with its stride in bytes and `stride × rows` bytes long (luma: `height` rows;
/// chroma: `(height + 1) / 2`), as camera pixel buffers are.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Luma plane.
    pub y: *const u8,
    /// Bytes per luma row.
    pub y_stride: usize,
    /// Cb plane (I420) or interleaved CbCr (NV12).
    pub u: *const u8,
    /// Bytes per row of `u`.
    pub u_stride: usize,
    /// Cr plane (I420); NULL for NV12.
    pub v: *const u8,
    /// Bytes per row of `v`.
    pub v_stride: usize,
    /// Capture time, µs; must increase from frame to frame.
    pub capture_time_us: i64,
    /// RTP timestamp, passed through to the encoded image unchanged.
    pub rtp_timestamp: u32,
    /// Rotation in degrees (0, 90, 180, 270), passed through.
    pub rotation: u32,
}

/// An encoded frame, valid during the callback.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_encoded_image {
    /// Payload: AV1 OBUs without temporal delimiters, or H.264 Annex B.
    pub data: *const u8,
    /// Bytes.
    pub len: usize,
    /// A keyframe.
    pub keyframe: bool,
    /// Quantizer in the codec's domain, -1 when unknown.
    pub qp: i32,
    /// Temporal layer id.
    pub temporal_id: u8,
    /// Encoded size.
    pub width: u32,
    /// Encoded size.
    pub height: u32,
    /// The frame's RTP timestamp, unchanged.
    pub rtp_timestamp: u32,
    /// The frame's capture time, µs.
    pub capture_time_us: i64,
    /// The frame's rotation, degrees.
    pub rotation: u32,
}

/// Why a frame produced nothing.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtvc_drop_reason {
    /// The rate is 0 (paused).
    RTVC_DROP_PAUSED = 1,
    /// The rate controller's budget is spent.
    RTVC_DROP_RATE_LIMITED = 2,
    /// The rate controller runs at a lower frame rate.
    RTVC_DROP_FRAME_RATE = 3,
    /// The codec's own rate control dropped it.
    RTVC_DROP_ENCODER = 4,
}

/// Called with each encoded frame.
pub type rtvc_encoded_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, image: *const rtvc_encoded_image)>;
/// Called for each frame that produced nothing.
pub type rtvc_dropped_callback = Option<
    unsafe extern "C" fn(userdata: *mut c_void, rtp_timestamp: u32, reason: rtvc_drop_reason),
>;

/// What a fallback was.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_fallback_event {
    /// The implementation given up (e.g. `VideoToolbox`), NUL-terminated.
    pub from: *const c_char,
    /// The one taking over (e.g. `openh264`).
    pub to: *const c_char,
    /// 1 failed to start, 2 error mid-call, 3 silent, 4 keyframes not decodable.
    pub reason: u32,
    /// The reason in words.
    pub message: *const c_char,
}

/// Called when an encoder switches from hardware to software, on the thread that was
/// encoding (or creating).
pub type rtvc_fallback_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const rtvc_fallback_event)>;

/// Static facts about an encoder.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_encoder_info {
    /// e.g. `libaom`, `openh264`, or the hardware's name; NUL-terminated.
    pub implementation_name: [c_char; 64],
    /// Hardware.
    pub is_hardware_accelerated: bool,
    /// The output follows the target rate closely.
    pub has_trusted_rate_controller: bool,
    /// Quality-scaler thresholds (QP domain of the codec).
    pub qp_low: u32,
    /// Quality-scaler thresholds.
    pub qp_high: u32,
    /// Width and height must be multiples of this.
    pub resolution_alignment: u32,
}

/// An encoder factory: our software encoders, plus hardware encoders the host registers.
pub struct rtvc_encoder_factory {
    pub(crate) factory: EncoderFactory,
}

/// An encoder.
pub struct rtvc_encoder {
    encoder: Box<dyn WebRtcEncoder>,
    on_encoded: rtvc_encoded_callback,
    on_dropped: rtvc_dropped_callback,
    userdata: *mut c_void,
    pool: FramePool,
    initialized: bool,
    framerate: f64,
}

/// The host's pointer, handed back to its callback on the thread that encodes.
#[derive(Clone, Copy)]
struct Userdata(*mut c_void);
// SAFETY: rtvc never dereferences it; the host promises (rtvc.h) that its fallback callback may
// be called from whichever thread uses the encoder.
unsafe impl Send for Userdata {}
// SAFETY: as above; it is only copied.
unsafe impl Sync for Userdata {}

/// A new factory with our software encoders.
///
/// Thread safety: any thread, any time.
///
/// # Safety
/// `out` is valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_factory_new(
    out: *mut *mut rtvc_encoder_factory,
) -> rtvc_result {
    guard(|| {
        if out.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        let f = handles::register(
            Kind::EncoderFactory,
            rtvc_encoder_factory {
                factory: EncoderFactory::new(registry()),
            },
        );
        // SAFETY: checked non-NULL; valid for writing by the caller's promise.
        unsafe { write_out(out, f) }
    })
}

/// Frees a factory (encoders made by it live on). NULL is fine; a second free is refused.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `factory` is NULL or a handle from [`rtvc_encoder_factory_new`], not in use elsewhere.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_factory_free(
    factory: *mut rtvc_encoder_factory,
) -> rtvc_result {
    // SAFETY: the handle table refuses anything that is not a live factory.
    guard(|| unsafe { handles::free(Kind::EncoderFactory, factory) })
}

/// Reports every hardware → software switch of encoders this factory makes from now on.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `factory` is a live handle; `callback` may be called from the thread that encodes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_factory_set_fallback_callback(
    factory: *mut rtvc_encoder_factory,
    callback: rtvc_fallback_callback,
    userdata: *mut c_void,
) -> rtvc_result {
    guard(|| {
        // SAFETY: checked by the handle table; one thread per handle.
        let f = unsafe { handles::get(Kind::EncoderFactory, factory)? };
        let Some(cb) = callback else {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        };
        let ud = Userdata(userdata);
        f.factory
            .set_fallback_listener(Arc::new(move |e: &FallbackEvent| {
                let c = |s: &str| std::ffi::CString::new(s.replace('\0', " ")).unwrap_or_default();
                let (from, to, message) = (c(&e.from), c(&e.to), c(&e.reason.to_string()));
                let reason = match e.reason {
                    FallbackReason::InitFailed(_) => 1,
                    FallbackReason::Error(_) => 2,
                    FallbackReason::Silent(_) => 3,
                    _ => 4,
                };
                let event = rtvc_fallback_event {
                    from: from.as_ptr(),
                    to: to.as_ptr(),
                    reason,
                    message: message.as_ptr(),
                };
                let ud = ud;
                // SAFETY: the host's callback with its own userdata; the strings live until it
                // returns.
                unsafe { cb(ud.0, &event) };
            }));
        Ok(())
    })
}

/// Whether this factory supports `name` + `fmtp` (with `scalability_mode`, NULL: any), and
/// whether it would be power efficient (a registered hardware encoder).
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `factory` is a live handle; strings NULL or NUL-terminated; outputs valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_factory_query(
    factory: *mut rtvc_encoder_factory,
    name: *const c_char,
    fmtp: *const c_char,
    scalability_mode: *const c_char,
    supported: *mut bool,
    power_efficient: *mut bool,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; the caller's strings and outputs, as promised above.
        unsafe {
            let f = handles::get(Kind::EncoderFactory, factory)?;
            crate::formats::query_out(
                &f.factory,
                name,
                fmtp,
                scalability_mode,
                supported,
                power_efficient,
            )
        }
    })
}

fn new_encoder(encoder: Box<dyn WebRtcEncoder>) -> *mut rtvc_encoder {
    handles::register(
        Kind::Encoder,
        rtvc_encoder {
            encoder,
            on_encoded: None,
            on_dropped: None,
            userdata: std::ptr::null_mut(),
            pool: FramePool::new(4),
            initialized: false,
            framerate: 30.0,
        },
    )
}

/// An encoder for `name` + `fmtp` from `factory` (a registered hardware encoder first, ours
/// when it fails).
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `factory` is a live handle; strings NUL-terminated; `out` valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_factory_create(
    factory: *mut rtvc_encoder_factory,
    name: *const c_char,
    fmtp: *const c_char,
    out: *mut *mut rtvc_encoder,
) -> rtvc_result {
    guard(|| {
        if out.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        // SAFETY: handle table; the caller's strings.
        let (f, format) = unsafe {
            (
                handles::get(Kind::EncoderFactory, factory)?,
                format_arg(name, fmtp)?,
            )
        };
        let encoder = f.factory.create(&format).map_err(adapter_error)?;
        // SAFETY: checked non-NULL; the caller's output.
        unsafe { write_out(out, new_encoder(encoder)) }
    })
}

/// Our software encoder for `name` + `fmtp` (e.g. `"AV1"`, `""`; `"H264"`,
/// `"profile-level-id=42e01f;packetization-mode=1"`).
///
/// Thread safety: any thread, any time.
///
/// # Safety
/// Strings NUL-terminated; `out` valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_new(
    name: *const c_char,
    fmtp: *const c_char,
    out: *mut *mut rtvc_encoder,
) -> rtvc_result {
    guard(|| {
        if out.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        // SAFETY: the caller's strings.
        let format = unsafe { format_arg(name, fmtp)? };
        let encoder = EncoderFactory::new(registry())
            .create(&format)
            .map_err(adapter_error)?;
        // SAFETY: checked non-NULL; the caller's output.
        unsafe { write_out(out, new_encoder(encoder)) }
    })
}

/// Frees an encoder. NULL is fine; a second free is refused with `RTVC_INVALID_HANDLE`.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `encoder` is NULL or a handle not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_free(encoder: *mut rtvc_encoder) -> rtvc_result {
    // SAFETY: the handle table refuses anything that is not a live encoder.
    guard(|| unsafe { handles::free(Kind::Encoder, encoder) })
}

/// Where encoded frames (and drops) go; called during `rtvc_encoder_encode`.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `encoder` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_set_callbacks(
    encoder: *mut rtvc_encoder,
    on_encoded: rtvc_encoded_callback,
    on_dropped: rtvc_dropped_callback,
    userdata: *mut c_void,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; one thread per handle.
        let e = unsafe { handles::get(Kind::Encoder, encoder)? };
        if on_encoded.is_none() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        e.on_encoded = on_encoded;
        e.on_dropped = on_dropped;
        e.userdata = userdata;
        Ok(())
    })
}

pub(crate) fn settings_from(s: &rtvc_encoder_settings) -> Result<EncoderSettings, rtvc_result> {
    let bad = Err(rtvc_result::RTVC_INVALID_ARGUMENT);
    if s.width == 0 || s.height == 0 || s.width > 8192 || s.height > 8192 {
        return bad;
    }
    if s.max_fps == 0 || s.max_fps > 240 || s.start_kbps == 0 || s.max_kbps < s.min_kbps {
        return bad;
    }
    let kbps = |k: u32| k.saturating_mul(1000);
    let mut out = EncoderSettings::new(s.width, s.height, f64::from(s.max_fps), kbps(s.start_kbps));
    out.min_bitrate_bps = kbps(s.min_kbps.max(30));
    out.max_bitrate_bps = kbps(s.max_kbps.max(s.start_kbps));
    out.number_of_cores = s.cores.clamp(1, 64);
    out.scalability_mode = match s.scalability_mode {
        1 => ScalabilityMode::L1T1,
        2 => ScalabilityMode::L1T2,
        3 => ScalabilityMode::L1T3,
        _ => return bad,
    };
    out.frame_dropping = s.frame_dropping;
    out.content = if s.screen_content {
        ContentKind::Screen
    } else {
        ContentKind::Camera
    };
    Ok(out)
}

/// Starts (or restarts) the encoder.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `encoder` is a live handle; `settings` valid for reading.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_init(
    encoder: *mut rtvc_encoder,
    settings: *const rtvc_encoder_settings,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; one thread per handle.
        let e = unsafe { handles::get(Kind::Encoder, encoder)? };
        if settings.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        // SAFETY: non-NULL and readable by the caller's promise (plain integers and bools).
        let raw = unsafe { settings.read() };
        let s = settings_from(&raw)?;
        e.encoder.init(&s).map_err(adapter_error)?;
        e.initialized = true;
        e.framerate = f64::from(raw.max_fps);
        Ok(())
    })
}

/// Checks a plane of `rows` rows of `row_bytes` at `stride` and returns it as a slice.
///
/// # Safety
/// `p` is NULL or valid for `stride * rows` bytes of reading.
unsafe fn plane<'a>(
    p: *const u8,
    stride: usize,
    row_bytes: usize,
    rows: usize,
) -> Result<&'a [u8], rtvc_result> {
    if p.is_null() {
        return Err(rtvc_result::RTVC_NULL_PARAMETER);
    }
    if stride < row_bytes || rows == 0 {
        return Err(rtvc_result::RTVC_INVALID_ARGUMENT);
    }
    let len = stride
        .checked_mul(rows)
        .filter(|&l| l <= isize::MAX as usize)
        .ok_or(rtvc_result::RTVC_INVALID_ARGUMENT)?;
    // SAFETY: the caller promises `len` readable bytes at `p` for the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Copies the caller's planes into a pooled frame.
///
/// # Safety
/// The planes of `f` are valid for the sizes their strides and the frame size imply.
pub(crate) unsafe fn import(pool: &FramePool, f: &rtvc_frame) -> Result<Frame, rtvc_result> {
    let (w, h) = (f.width as usize, f.height as usize);
    if w == 0 || h == 0 || w > 8192 || h > 8192 {
        return Err(rtvc_result::RTVC_INVALID_ARGUMENT);
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut frame = pool
        .frame(f.width, f.height)
        .map_err(|_| rtvc_result::RTVC_INVALID_ARGUMENT)?;
    // SAFETY: the caller's planes, bounded by their strides and the frame size.
    let y = unsafe { plane(f.y, f.y_stride, w, h)? };
    if f.v.is_null() {
        // NV12.
        // SAFETY: as above; interleaved CbCr rows are 2 × chroma width bytes.
        let uv = unsafe { plane(f.u, f.u_stride, 2 * cw, ch)? };
        frame
            .import_nv12(&rtvc_codec::convert::Nv12Ref {
                y,
                y_stride: f.y_stride,
                uv,
                uv_stride: f.u_stride,
                width: f.width,
                height: f.height,
                color: Default::default(),
            })
            .map_err(|_| rtvc_result::RTVC_INVALID_ARGUMENT)?;
    } else {
        // SAFETY: as above.
        let (u, v) = unsafe {
            (
                plane(f.u, f.u_stride, cw, ch)?,
                plane(f.v, f.v_stride, cw, ch)?,
            )
        };
        frame
            .import_i420(&rtvc_codec::convert::I420Ref {
                y,
                y_stride: f.y_stride,
                u,
                u_stride: f.u_stride,
                v,
                v_stride: f.v_stride,
                width: f.width,
                height: f.height,
            })
            .map_err(|_| rtvc_result::RTVC_INVALID_ARGUMENT)?;
    }
    frame.set_timestamp_us(f.capture_time_us);
    frame.set_rotation(
        Rotation::from_degrees(f.rotation).ok_or(rtvc_result::RTVC_INVALID_ARGUMENT)?,
    );
    Ok(frame)
}

/// Encodes one frame (I420, or NV12 with `v` NULL); a keyframe when `keyframe`. The encoded
/// image (or the drop) goes to the callbacks before this returns.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `encoder` is a live handle; `frame` and its planes are valid for reading.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_encode(
    encoder: *mut rtvc_encoder,
    frame: *const rtvc_frame,
    keyframe: bool,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; one thread per handle.
        let e = unsafe { handles::get(Kind::Encoder, encoder)? };
        if frame.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        if !e.initialized {
            return Err(rtvc_result::RTVC_WRONG_STATE);
        }
        let Some(on_encoded) = e.on_encoded else {
            return Err(rtvc_result::RTVC_WRONG_STATE);
        };
        // SAFETY: non-NULL, readable by the caller's promise.
        let f = unsafe { frame.read() };
        // SAFETY: the caller's planes.
        let input = unsafe { import(&e.pool, &f)? };
        let types = [if keyframe {
            VideoFrameType::Key
        } else {
            VideoFrameType::Delta
        }];
        match e.encoder.encode(&input, &types).map_err(adapter_error)? {
            EncodeResult::Encoded(img) => {
                let out = rtvc_encoded_image {
                    data: img.data.as_ptr(),
                    len: img.data.len(),
                    keyframe: img.info.keyframe,
                    qp: img.info.qp.map_or(-1, |q| q as i32),
                    temporal_id: img.info.temporal_id,
                    width: img.width,
                    height: img.height,
                    rtp_timestamp: f.rtp_timestamp,
                    capture_time_us: img.capture_time_us,
                    rotation: img.rotation.degrees(),
                };
                // SAFETY: the host's callback; `img` outlives the call.
                unsafe { on_encoded(e.userdata, &out) };
            }
            EncodeResult::Dropped(why) => {
                if let Some(cb) = e.on_dropped {
                    let reason = match why {
                        FrameDropReason::Paused => rtvc_drop_reason::RTVC_DROP_PAUSED,
                        FrameDropReason::RateLimited => rtvc_drop_reason::RTVC_DROP_RATE_LIMITED,
                        FrameDropReason::FrameRateReduced => rtvc_drop_reason::RTVC_DROP_FRAME_RATE,
                        _ => rtvc_drop_reason::RTVC_DROP_ENCODER,
                    };
                    // SAFETY: the host's callback.
                    unsafe { cb(e.userdata, f.rtp_timestamp, reason) };
                }
            }
        }
        Ok(())
    })
}

/// New rates as the iOS SDK passes them (`setBitrate:framerate:`): total kbps and fps. 0 kbps
/// pauses; the first frame after it is a keyframe.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `encoder` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_set_rates(
    encoder: *mut rtvc_encoder,
    kbps: u32,
    fps: u32,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; one thread per handle.
        let e = unsafe { handles::get(Kind::Encoder, encoder)? };
        if !e.initialized {
            return Err(rtvc_result::RTVC_WRONG_STATE);
        }
        if fps == 0 || fps > 240 {
            return Err(rtvc_result::RTVC_INVALID_ARGUMENT);
        }
        e.framerate = f64::from(fps);
        let p = RateControlParameters::new(kbps.saturating_mul(1000), f64::from(fps));
        e.encoder.set_rates(&p).map_err(adapter_error)
    })
}

/// New rates per temporal layer (libwebrtc's allocation): `layers` bitrates in bits/s, lowest
/// layer first, and the frame rate.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `encoder` is a live handle; `bps` valid for `layers` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_set_layer_rates(
    encoder: *mut rtvc_encoder,
    bps: *const u32,
    layers: usize,
    fps: f64,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; one thread per handle.
        let e = unsafe { handles::get(Kind::Encoder, encoder)? };
        if bps.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        if !((1..=3).contains(&layers) && fps.is_finite() && (1.0..=240.0).contains(&fps)) {
            return Err(rtvc_result::RTVC_INVALID_ARGUMENT);
        }
        if !e.initialized {
            return Err(rtvc_result::RTVC_WRONG_STATE);
        }
        // SAFETY: non-NULL, `layers` (≤ 3) readable values by the caller's promise.
        let rates = unsafe { std::slice::from_raw_parts(bps, layers) }.to_vec();
        let mut p = RateControlParameters::new(0, fps);
        p.layer_bitrates_bps = rates;
        e.framerate = fps;
        e.encoder.set_rates(&p).map_err(adapter_error)
    })
}

pub(crate) fn info_out(i: &EncoderInfo, out: &mut rtvc_encoder_info) -> Result<(), rtvc_result> {
    let mut name = i.implementation_name.clone();
    name.truncate(63);
    while !name.is_char_boundary(name.len()) {
        name.pop();
    }
    out.implementation_name = [0; 64];
    // SAFETY: the array is 64 bytes and `name` at most 63.
    unsafe { copy_out(&name, out.implementation_name.as_mut_ptr(), 64)? };
    out.is_hardware_accelerated = i.is_hardware_accelerated;
    out.has_trusted_rate_controller = i.has_trusted_rate_controller;
    out.qp_low = i.qp_thresholds.low;
    out.qp_high = i.qp_thresholds.high;
    out.resolution_alignment = i.resolution_alignment;
    Ok(())
}

/// The encoder's facts (valid before init).
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `encoder` is a live handle; `out` valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_get_info(
    encoder: *mut rtvc_encoder,
    out: *mut rtvc_encoder_info,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; one thread per handle.
        let e = unsafe { handles::get(Kind::Encoder, encoder)? };
        if out.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        let mut info = rtvc_encoder_info {
            implementation_name: [0; 64],
            is_hardware_accelerated: false,
            has_trusted_rate_controller: false,
            qp_low: 0,
            qp_high: 0,
            resolution_alignment: 1,
        };
        info_out(&e.encoder.encoder_info(), &mut info)?;
        // SAFETY: checked non-NULL; the caller's output.
        unsafe { write_out(out, info) }
    })
}

impl std::fmt::Debug for rtvc_encoder_factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("rtvc_encoder_factory")
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for rtvc_encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("rtvc_encoder")
            .field("initialized", &self.initialized)
            .finish_non_exhaustive()
    }
}
