//! The host's hardware encoder (VideoToolbox H.264 on iOS) through a table of C functions,
//! registered with an encoder factory at the preferred tier. When it fails to start, returns
//! an error mid-call (VideoToolbox's `kVTInvalidSessionErr` after backgrounding) or produces
//! nothing for 30 frames, rtvc's software encoder takes over with a keyframe at the same rates
//! and the factory's fallback callback hears about it.
//!
//! The hardware delivers its output synchronously: inside `encode` it calls
//! `rtvc_hw_sink_deliver` (zero or one time) before returning. A host whose encoder is
//! asynchronous (VideoToolbox) waits for its output callback (e.g.
//! `VTCompressionSessionCompleteFrames`) before returning.

use std::ffi::{c_char, c_void};
use std::time::Instant;

use bytes::Bytes;
use rtvc_codec::{CodecKind, Frame};
use rtvc_webrtc::encoder::{CodecSpecificInfo, EncoderInfo, LossNotification, QpThresholds};
use rtvc_webrtc::format::VideoFormat;
use rtvc_webrtc::{
    AdapterError, EncodeResult, EncodedImage, EncoderSettings, FrameDropReason,
    RateControlParameters, VideoFrameType, WebRtcEncoder,
};

use crate::encoder::{rtvc_encoder_factory, rtvc_encoder_settings, rtvc_frame};
use crate::formats::format_arg;
use crate::handles::{self, Kind};
use crate::{c_str, guard, rtvc_result};

/// Where the hardware puts its output during `encode`.
pub struct rtvc_hw_sink {
    out: Option<(Vec<u8>, bool, i32)>,
}

/// The hardware encoder's functions. `create` makes a session for the settings (0 = success,
/// anything else an error code of the host's); `encode` encodes one frame (I420 planes,
/// valid during the call) and delivers it through `sink`; `set_rates` takes kbps and fps;
/// `request_keyframe` may be NULL (the `keyframe` flag of `encode` says it too); `destroy` ends
/// a session. All are called on the thread that uses the encoder.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_hw_encoder_vtable {
    /// Passed to `create`.
    pub userdata: *mut c_void,
    /// Name reported as the implementation (e.g. `"VideoToolbox"`), NUL-terminated; copied.
    pub implementation_name: *const c_char,
    /// Makes a session.
    pub create: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            settings: *const rtvc_encoder_settings,
            session: *mut *mut c_void,
        ) -> i32,
    >,
    /// Encodes a frame.
    pub encode: Option<
        unsafe extern "C" fn(
            session: *mut c_void,
            frame: *const rtvc_frame,
            keyframe: bool,
            sink: *mut rtvc_hw_sink,
        ) -> i32,
    >,
    /// New rates.
    pub set_rates: Option<unsafe extern "C" fn(session: *mut c_void, kbps: u32, fps: u32) -> i32>,
    /// Asks for a keyframe next (may be NULL).
    pub request_keyframe: Option<unsafe extern "C" fn(session: *mut c_void) -> i32>,
    /// Ends a session.
    pub destroy: Option<unsafe extern "C" fn(session: *mut c_void)>,
}

/// Gives the encoded frame to rtvc (from inside the vtable's `encode`): `data` is copied.
///
/// Thread safety: only from inside the vtable's `encode`, on the thread running it.
///
/// # Safety
/// `sink` is the pointer `encode` got; `data` valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_hw_sink_deliver(
    sink: *mut rtvc_hw_sink,
    data: *const u8,
    len: usize,
    keyframe: bool,
    qp: i32,
) -> rtvc_result {
    guard(|| {
        if sink.is_null() || data.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        if len == 0 || len > 64 << 20 {
            return Err(rtvc_result::RTVC_INVALID_ARGUMENT);
        }
        // SAFETY: `sink` is the live sink of the `encode` call in progress (the host got it from
        // us); `data` readable for `len` bytes by the host's promise.
        let (sink, bytes) = unsafe { (&mut *sink, std::slice::from_raw_parts(data, len)) };
        sink.out = Some((bytes.to_vec(), keyframe, qp));
        Ok(())
    })
}

#[derive(Clone, Copy)]
struct Vtable(rtvc_hw_encoder_vtable);
// SAFETY: the host promises (rtvc.h) that its functions and userdata may be used from the
// thread that uses the encoder, one at a time; rtvc never shares a session between threads.
unsafe impl Send for Vtable {}
// SAFETY: as above; the table itself is only read.
unsafe impl Sync for Vtable {}

struct HwEncoder {
    vt: Vtable,
    name: String,
    codec: CodecKind,
    packetization_mode: Option<u8>,
    session: Option<SessionPtr>,
}

struct SessionPtr(*mut c_void);
// SAFETY: see `Vtable`.
unsafe impl Send for SessionPtr {}

fn hw_error(what: &str, code: i32) -> AdapterError {
    AdapterError::Codec(rtvc_codec::Error::Encoder {
        backend: "hardware",
        message: format!("{what} returned {code}"),
    })
}

impl HwEncoder {
    fn destroy(&mut self) {
        if let (Some(s), Some(destroy)) = (self.session.take(), self.vt.0.destroy) {
            // SAFETY: a session `create` made and not yet destroyed.
            unsafe { destroy(s.0) };
        }
    }
}

impl Drop for HwEncoder {
    fn drop(&mut self) {
        self.destroy();
    }
}

impl WebRtcEncoder for HwEncoder {
    fn encoder_info(&self) -> EncoderInfo {
        EncoderInfo::hardware(&self.name, QpThresholds { low: 24, high: 37 }, 2)
    }

    fn init(&mut self, s: &EncoderSettings) -> Result<(), AdapterError> {
        self.destroy();
        let create = self
            .vt
            .0
            .create
            .ok_or_else(|| hw_error("create (NULL)", -1))?;
        let settings = rtvc_encoder_settings {
            width: s.width,
            height: s.height,
            max_fps: s.max_framerate.round() as u32,
            start_kbps: s.start_bitrate_bps / 1000,
            min_kbps: s.min_bitrate_bps / 1000,
            max_kbps: s.max_bitrate_bps / 1000,
            cores: s.number_of_cores,
            scalability_mode: u32::from(s.scalability_mode.temporal_layers()),
            frame_dropping: s.frame_dropping,
            screen_content: matches!(s.content, rtvc_codec::encoder::ContentKind::Screen),
        };
        let mut session = std::ptr::null_mut();
        // SAFETY: the host's function with its userdata; `settings` and `session` live for the
        // call.
        let code = unsafe { create(self.vt.0.userdata, &settings, &mut session) };
        if code != 0 {
            return Err(hw_error("create", code));
        }
        self.session = Some(SessionPtr(session));
        Ok(())
    }

    fn encode(
        &mut self,
        frame: &Frame,
        frame_types: &[VideoFrameType],
    ) -> Result<EncodeResult, AdapterError> {
        let session = self.session.as_ref().ok_or(AdapterError::Uninitialized)?.0;
        let encode = self
            .vt
            .0
            .encode
            .ok_or_else(|| hw_error("encode (NULL)", -1))?;
        let keyframe = frame_types.contains(&VideoFrameType::Key);
        if keyframe && let Some(rk) = self.vt.0.request_keyframe {
            // SAFETY: a live session.
            let code = unsafe { rk(session) };
            if code != 0 {
                return Err(hw_error("request_keyframe", code));
            }
        }
        let f = rtvc_frame {
            width: frame.width(),
            height: frame.height(),
            y: frame.y().as_ptr(),
            y_stride: frame.y_stride(),
            u: frame.u().as_ptr(),
            u_stride: frame.uv_stride(),
            v: frame.v().as_ptr(),
            v_stride: frame.uv_stride(),
            capture_time_us: frame.timestamp_us(),
            rtp_timestamp: 0,
            rotation: frame.rotation().degrees(),
        };
        let mut sink = rtvc_hw_sink { out: None };
        let started = Instant::now();
        // SAFETY: a live session; `f`'s planes and `sink` live for the call.
        let code = unsafe { encode(session, &f, keyframe, &mut sink) };
        if code != 0 {
            return Err(hw_error("encode", code));
        }
        let Some((data, key, qp)) = sink.out else {
            return Ok(EncodeResult::Dropped(FrameDropReason::EncoderRateControl));
        };
        Ok(EncodeResult::Encoded(EncodedImage {
            data: Bytes::from(data),
            capture_time_us: frame.timestamp_us(),
            width: frame.width(),
            height: frame.height(),
            rotation: frame.rotation(),
            info: CodecSpecificInfo {
                codec: self.codec,
                keyframe: key,
                qp: u32::try_from(qp).ok(),
                temporal_id: 0,
                h264_packetization_mode: self.packetization_mode,
            },
            encode_time: started.elapsed(),
        }))
    }

    fn set_rates(&mut self, p: &RateControlParameters) -> Result<(), AdapterError> {
        let session = self.session.as_ref().ok_or(AdapterError::Uninitialized)?.0;
        let Some(set) = self.vt.0.set_rates else {
            return Ok(());
        };
        let kbps = (p
            .layer_bitrates_bps
            .iter()
            .map(|&b| u64::from(b))
            .sum::<u64>()
            / 1000)
            .min(u64::from(u32::MAX)) as u32;
        // SAFETY: a live session.
        let code = unsafe { set(session, kbps, p.framerate.round().max(1.0) as u32) };
        if code != 0 {
            return Err(hw_error("set_rates", code));
        }
        Ok(())
    }

    fn on_packet_loss_rate(&mut self, _fraction: f64) {}

    fn on_rtt(&mut self, _rtt: std::time::Duration) {}

    fn on_loss_notification(&mut self, _n: LossNotification) {}

    fn release(&mut self) {
        self.destroy();
    }
}

/// Registers the host's hardware encoder for `name` + `fmtp` (e.g. `"H264"`,
/// `"profile-level-id=42e01f;packetization-mode=1"`) with `factory`, preferred over ours. The
/// table is copied; its functions and userdata must stay valid while encoders made by the
/// factory live.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `factory` is a live handle; strings NUL-terminated; `vtable` readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_factory_register_hardware(
    factory: *mut rtvc_encoder_factory,
    name: *const c_char,
    fmtp: *const c_char,
    vtable: *const rtvc_hw_encoder_vtable,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; the caller's strings.
        let (f, format) = unsafe {
            (
                handles::get(Kind::EncoderFactory, factory)?,
                format_arg(name, fmtp)?,
            )
        };
        if vtable.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        // SAFETY: non-NULL, readable by the caller's promise (pointers and nullable function
        // pointers only).
        let vt = unsafe { vtable.read() };
        if vt.create.is_none() || vt.encode.is_none() || vt.destroy.is_none() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        let impl_name = if vt.implementation_name.is_null() {
            "hardware".to_string()
        } else {
            // SAFETY: non-NULL, NUL-terminated by the caller's promise.
            unsafe { c_str(vt.implementation_name)? }.to_string()
        };
        let codec = format.codec().ok_or(rtvc_result::RTVC_UNSUPPORTED)?;
        let mode = (codec == CodecKind::H264)
            .then(|| format.packetization_mode().ok())
            .flatten();
        let vt = Vtable(vt);
        f.factory
            .register_hardware(format.clone(), move |_f: &VideoFormat| {
                Ok(Box::new(HwEncoder {
                    vt,
                    name: impl_name.clone(),
                    codec,
                    packetization_mode: mode,
                    session: None,
                }) as Box<dyn WebRtcEncoder>)
            });
        Ok(())
    })
}

impl std::fmt::Debug for rtvc_hw_sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("rtvc_hw_sink")
            .field("delivered", &self.out.is_some())
            .finish_non_exhaustive()
    }
}
