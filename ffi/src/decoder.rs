//! Decoders: decode → picture (I420 or NV12 planes) through a callback, or "request a keyframe".

use std::ffi::{c_char, c_void};

use bytes::Bytes;
use rtvc_codec::Frame;
use rtvc_webrtc::{DecodeResult, DecoderFactory, DecoderSettings, ReceivedImage, WebRtcDecoder};

use crate::formats::{format_arg, registry};
use crate::handles::{self, Kind};
use crate::{adapter_error, guard, rtvc_result, write_out};

/// Pixel layout of decoded pictures.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtvc_pixel_format {
    /// Three planes: Y, Cb, Cr (4:2:0).
    RTVC_PIXEL_I420 = 1,
    /// Two planes: Y, interleaved CbCr (what iOS pixel buffers use).
    RTVC_PIXEL_NV12 = 2,
}

/// A decoded picture, valid during the callback. NV12: `u` is the interleaved CbCr plane and
/// `v` is NULL.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_picture {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// An `rtvc_pixel_format` value.
    pub format: u32,
    /// Luma.
    pub y: *const u8,
    /// Bytes per luma row.
    pub y_stride: usize,
    /// Cb (I420) or CbCr (NV12).
    pub u: *const u8,
    /// Bytes per row of `u`.
    pub u_stride: usize,
    /// Cr (I420) or NULL.
    pub v: *const u8,
    /// Bytes per row of `v`.
    pub v_stride: usize,
    /// RTP timestamp of the frame, unchanged.
    pub rtp_timestamp: u32,
    /// Capture time of the frame, µs, as passed to decode.
    pub capture_time_us: i64,
    /// Rotation, degrees.
    pub rotation: u32,
}

/// Called with each decoded picture.
pub type rtvc_picture_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, picture: *const rtvc_picture)>;

/// A decoder.
pub struct rtvc_decoder {
    decoder: Box<dyn WebRtcDecoder>,
    on_picture: rtvc_picture_callback,
    userdata: *mut c_void,
    nv12: bool,
    /// NV12 output planes, reused.
    y: Vec<u8>,
    uv: Vec<u8>,
}

/// Our decoder for `name` + `fmtp`, for pictures up to 1920x1080 on 2 cores (see
/// [`rtvc_decoder_configure`]), giving I420.
///
/// Thread safety: any thread, any time.
///
/// # Safety
/// Strings NUL-terminated; `out` valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_decoder_new(
    name: *const c_char,
    fmtp: *const c_char,
    out: *mut *mut rtvc_decoder,
) -> rtvc_result {
    guard(|| {
        if out.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        // SAFETY: the caller's strings.
        let format = unsafe { format_arg(name, fmtp)? };
        let mut decoder = DecoderFactory::new(registry())
            .create(&format)
            .map_err(adapter_error)?;
        decoder
            .configure(&DecoderSettings::new(1920, 1080, 2))
            .map_err(adapter_error)?;
        let d = handles::register(
            Kind::Decoder,
            rtvc_decoder {
                decoder,
                on_picture: None,
                userdata: std::ptr::null_mut(),
                nv12: false,
                y: Vec::new(),
                uv: Vec::new(),
            },
        );
        // SAFETY: checked non-NULL; the caller's output.
        unsafe { write_out(out, d) }
    })
}

/// Frees a decoder. NULL is fine; a second free is refused with `RTVC_INVALID_HANDLE`.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `decoder` is NULL or a handle not in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_decoder_free(decoder: *mut rtvc_decoder) -> rtvc_result {
    // SAFETY: the handle table refuses anything that is not a live decoder.
    guard(|| unsafe { handles::free(Kind::Decoder, decoder) })
}

/// Reconfigures for pictures up to `max_width`x`max_height` on `cores` cores.
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `decoder` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_decoder_configure(
    decoder: *mut rtvc_decoder,
    max_width: u32,
    max_height: u32,
    cores: u32,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; one thread per handle.
        let d = unsafe { handles::get(Kind::Decoder, decoder)? };
        if max_width == 0 || max_height == 0 || max_width > 8192 || max_height > 8192 {
            return Err(rtvc_result::RTVC_INVALID_ARGUMENT);
        }
        d.decoder
            .configure(&DecoderSettings::new(
                max_width,
                max_height,
                cores.clamp(1, 64),
            ))
            .map_err(adapter_error)
    })
}

/// Where pictures go, and in which layout (an `rtvc_pixel_format` value).
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `decoder` is a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_decoder_set_callback(
    decoder: *mut rtvc_decoder,
    format: u32,
    on_picture: rtvc_picture_callback,
    userdata: *mut c_void,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; one thread per handle.
        let d = unsafe { handles::get(Kind::Decoder, decoder)? };
        if on_picture.is_none() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        d.nv12 = match format {
            1 => false,
            2 => true,
            _ => return Err(rtvc_result::RTVC_INVALID_ARGUMENT),
        };
        d.on_picture = on_picture;
        d.userdata = userdata;
        Ok(())
    })
}

fn deliver(d: &mut rtvc_decoder, pic: &Frame, rtp_timestamp: u32) -> Result<(), rtvc_result> {
    let Some(cb) = d.on_picture else {
        return Err(rtvc_result::RTVC_WRONG_STATE);
    };
    let mut out = rtvc_picture {
        width: pic.width(),
        height: pic.height(),
        format: 1,
        y: pic.y().as_ptr(),
        y_stride: pic.y_stride(),
        u: pic.u().as_ptr(),
        u_stride: pic.uv_stride(),
        v: pic.v().as_ptr(),
        v_stride: pic.uv_stride(),
        rtp_timestamp,
        capture_time_us: pic.timestamp_us(),
        rotation: pic.rotation().degrees(),
    };
    if d.nv12 {
        let (w, h) = (pic.width() as usize, pic.height() as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        d.y.resize(w * h, 0);
        d.uv.resize(2 * cw * ch, 0);
        pic.export_nv12(&mut d.y, w, &mut d.uv, 2 * cw)
            .map_err(|_| rtvc_result::RTVC_CODEC_ERROR)?;
        out.format = 2;
        out.y = d.y.as_ptr();
        out.y_stride = w;
        out.u = d.uv.as_ptr();
        out.u_stride = 2 * cw;
        out.v = std::ptr::null();
        out.v_stride = 0;
    }
    // SAFETY: the host's callback; the planes live until it returns.
    unsafe { cb(d.userdata, &out) };
    Ok(())
}

/// Decodes one complete frame (`len` bytes: AV1 OBUs or H.264 Annex B). `missing_frames`: frames
/// were lost before this one. A picture goes to the callback before this returns;
/// `RTVC_REQUEST_KEYFRAME` says nothing can be shown until a keyframe (send a PLI).
///
/// Thread safety: one thread at a time for this handle; other handles are independent.
///
/// # Safety
/// `decoder` is a live handle; `data` valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_decoder_decode(
    decoder: *mut rtvc_decoder,
    data: *const u8,
    len: usize,
    rtp_timestamp: u32,
    capture_time_us: i64,
    missing_frames: bool,
) -> rtvc_result {
    guard(|| {
        // SAFETY: handle table; one thread per handle.
        let d = unsafe { handles::get(Kind::Decoder, decoder)? };
        if data.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        if len == 0 || len > 64 << 20 {
            return Err(rtvc_result::RTVC_INVALID_ARGUMENT);
        }
        if d.on_picture.is_none() {
            return Err(rtvc_result::RTVC_WRONG_STATE);
        }
        // SAFETY: readable for `len` bytes by the caller's promise; copied at once.
        let bytes = Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(data, len) });
        let image = ReceivedImage {
            data: bytes,
            capture_time_us,
            rotation: Default::default(),
            missing_frames,
        };
        match d.decoder.decode(&image).map_err(adapter_error)? {
            DecodeResult::Picture(pic) => deliver(d, &pic, rtp_timestamp),
            DecodeResult::NoOutput => Ok(()),
            DecodeResult::RequestKeyframe(_) => Err(rtvc_result::RTVC_REQUEST_KEYFRAME),
        }
    })
}

impl std::fmt::Debug for rtvc_decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("rtvc_decoder")
            .field("nv12", &self.nv12)
            .finish_non_exhaustive()
    }
}
