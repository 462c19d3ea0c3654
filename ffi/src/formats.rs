//! Supported formats (codec name + `fmtp`, in preference order) and the codec-support query.

use std::ffi::c_char;
use std::sync::{Arc, OnceLock};

use rtvc_codec::CodecRegistry;
use rtvc_webrtc::EncoderFactory;
use rtvc_webrtc::format::VideoFormat;

use crate::{c_str, copy_out, guard, rtvc_result, write_out};

/// The codecs this build has (shared by every handle).
pub(crate) fn registry() -> Arc<CodecRegistry> {
    static REGISTRY: OnceLock<Arc<CodecRegistry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| Arc::new(CodecRegistry::with_builtin()))
        .clone()
}

/// `name` + `fmtp` as a format.
///
/// # Safety
/// Both are NULL or NUL-terminated strings.
pub(crate) unsafe fn format_arg(
    name: *const c_char,
    fmtp: *const c_char,
) -> Result<VideoFormat, rtvc_result> {
    // SAFETY: passed on from the caller's promise.
    let (name, fmtp) = unsafe { (c_str(name)?, c_str(fmtp)?) };
    VideoFormat::parse(name, fmtp).map_err(|_| rtvc_result::RTVC_INVALID_ARGUMENT)
}

/// Copies format `index` of `formats` (name, fmtp) into the caller's buffers.
///
/// # Safety
/// `name` and `fmtp` are valid for `name_len` and `fmtp_len` bytes of writing.
unsafe fn format_out(
    formats: &[VideoFormat],
    index: usize,
    name: *mut c_char,
    name_len: usize,
    fmtp: *mut c_char,
    fmtp_len: usize,
) -> Result<(), rtvc_result> {
    let f = formats
        .get(index)
        .ok_or(rtvc_result::RTVC_INVALID_ARGUMENT)?;
    // SAFETY: the caller's buffers, with their lengths.
    unsafe {
        copy_out(&f.name, name, name_len)?;
        copy_out(&f.fmtp(), fmtp, fmtp_len)
    }
}

/// How many formats this build can encode.
///
/// Thread safety: any thread, any time.
#[unsafe(no_mangle)]
pub extern "C" fn rtvc_encoder_format_count() -> usize {
    std::panic::catch_unwind(|| rtvc_webrtc::encoder_formats(&registry()).len()).unwrap_or(0)
}

/// How many formats this build can decode.
///
/// Thread safety: any thread, any time.
#[unsafe(no_mangle)]
pub extern "C" fn rtvc_decoder_format_count() -> usize {
    std::panic::catch_unwind(|| rtvc_webrtc::decoder_formats(&registry()).len()).unwrap_or(0)
}

/// Encoder format `index` (0 = most preferred): its SDP codec name (e.g. `AV1`, `H264`) into
/// `name` (`name_len` bytes) and its `fmtp` line into `fmtp` (`fmtp_len` bytes), NUL-terminated.
/// 64 bytes hold any name, 256 any fmtp.
///
/// Thread safety: any thread, any time.
///
/// # Safety
/// `name` and `fmtp` are valid for `name_len` and `fmtp_len` bytes of writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_encoder_format(
    index: usize,
    name: *mut c_char,
    name_len: usize,
    fmtp: *mut c_char,
    fmtp_len: usize,
) -> rtvc_result {
    guard(|| {
        let formats = rtvc_webrtc::encoder_formats(&registry());
        // SAFETY: the caller's buffers, with their lengths.
        unsafe { format_out(&formats, index, name, name_len, fmtp, fmtp_len) }
    })
}

/// Decoder format `index`, as [`rtvc_encoder_format`].
///
/// Thread safety: any thread, any time.
///
/// # Safety
/// As [`rtvc_encoder_format`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_decoder_format(
    index: usize,
    name: *mut c_char,
    name_len: usize,
    fmtp: *mut c_char,
    fmtp_len: usize,
) -> rtvc_result {
    guard(|| {
        let formats = rtvc_webrtc::decoder_formats(&registry());
        // SAFETY: the caller's buffers, with their lengths.
        unsafe { format_out(&formats, index, name, name_len, fmtp, fmtp_len) }
    })
}

/// Whether our software encoders support `name` + `fmtp` with `scalability_mode` (`"L1T1"`,
/// `"L1T2"`, `"L1T3"`; NULL: any); `power_efficient` is false for software (see the encoder
/// factory for hardware).
///
/// Thread safety: any thread, any time.
///
/// # Safety
/// Strings are NULL or NUL-terminated; outputs valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_query_codec_support(
    name: *const c_char,
    fmtp: *const c_char,
    scalability_mode: *const c_char,
    supported: *mut bool,
    power_efficient: *mut bool,
) -> rtvc_result {
    guard(|| {
        let factory = EncoderFactory::new(registry());
        // SAFETY: the caller's strings and outputs, as promised above.
        unsafe {
            query_out(
                &factory,
                name,
                fmtp,
                scalability_mode,
                supported,
                power_efficient,
            )
        }
    })
}

/// `factory.query_codec_support` for C arguments: NULL outputs refused, the strings read
/// (`scalability_mode` NULL: any), both answers written.
///
/// # Safety
/// Strings NULL or NUL-terminated; outputs NULL or valid for writing.
pub(crate) unsafe fn query_out(
    factory: &EncoderFactory,
    name: *const c_char,
    fmtp: *const c_char,
    scalability_mode: *const c_char,
    supported: *mut bool,
    power_efficient: *mut bool,
) -> Result<(), rtvc_result> {
    if supported.is_null() || power_efficient.is_null() {
        return Err(rtvc_result::RTVC_NULL_PARAMETER);
    }
    // SAFETY: the caller's strings.
    let format = unsafe { format_arg(name, fmtp)? };
    let mode = if scalability_mode.is_null() {
        None
    } else {
        // SAFETY: non-NULL, NUL-terminated by the caller's promise.
        Some(unsafe { c_str(scalability_mode)? })
    };
    let s = factory.query_codec_support(&format, mode);
    // SAFETY: checked non-NULL above; valid for writing by the caller's promise.
    unsafe {
        write_out(supported, s.is_supported)?;
        write_out(power_efficient, s.is_power_efficient)
    }
}
