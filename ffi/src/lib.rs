//! # rtvc's C ABI (`librtvc.a`, `include/rtvc.h`)
//!
//! A thin skin over `rtvc-webrtc` for C, C++, Objective-C and Swift callers, modelled on
//! rustls-ffi:
//!
//! * opaque handles with `_new` / `_free`; every fallible call returns an [`rtvc_result`]
//!   (`rtvc_result_message` says what it means) and writes its outputs through out-parameters
//!   only on success;
//! * every body runs inside a panic boundary (a panic becomes `RTVC_PANIC`, never an unwind into
//!   C); every pointer is checked for NULL and every length and size for sense;
//! * handles are tracked while alive: a freed, foreign or NULL handle gives
//!   `RTVC_INVALID_HANDLE` instead of undefined behaviour (as far as an address can tell), and a
//!   double free is refused;
//! * callbacks take a `void *userdata` and are called on the caller's thread, before the call
//!   that produced them returns; the data they get is valid only during the callback.
//!
//! Thread safety: one handle is used by one thread at a time (a WebRTC encoder or decoder is);
//! different handles may be used from different threads at once. Functions without a handle
//! may be called from any thread.
//!
//! The module `hardware` lets the host register its hardware encoder (VideoToolbox on iOS)
//! through a table of C function pointers; when it fails, rtvc falls back to software.

#![allow(unsafe_code)] // The C ABI: every `unsafe` block says why it is sound.
#![allow(non_camel_case_types)] // C names.

mod decoder;
mod encoder;
mod formats;
mod handles;
mod hardware;
mod policy;

use std::ffi::{CStr, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use decoder::*;
pub use encoder::*;
pub use formats::*;
pub use hardware::*;
pub use policy::*;

/// What a call did. `RTVC_OK` is 0; every other value is an error, except
/// `RTVC_REQUEST_KEYFRAME`, which a decoder returns to say "ask the sender for a keyframe".
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtvc_result {
    /// Success.
    RTVC_OK = 0,
    /// A required pointer was NULL.
    RTVC_NULL_PARAMETER = 1,
    /// rtvc panicked inside the call (a bug: please report it); the handle may be unusable.
    RTVC_PANIC = 2,
    /// The handle is not a live handle of this kind (NULL, freed, or something else).
    RTVC_INVALID_HANDLE = 3,
    /// An argument is out of range (a size, a stride, a rate, a string that is not UTF-8).
    RTVC_INVALID_ARGUMENT = 4,
    /// The format, codec or scalability mode is not supported by this build.
    RTVC_UNSUPPORTED = 5,
    /// The call is not allowed now (e.g. encode before init).
    RTVC_WRONG_STATE = 6,
    /// An output buffer is too small.
    RTVC_BUFFER_TOO_SMALL = 7,
    /// The codec failed.
    RTVC_CODEC_ERROR = 8,
    /// Nothing to show: ask the sender for a keyframe (RTCP PLI), then go on decoding.
    RTVC_REQUEST_KEYFRAME = 9,
    /// A frame timestamp did not increase.
    RTVC_TIMESTAMP_NOT_INCREASING = 10,
}

/// A static, NUL-terminated English message for a result code (any value: unknown codes get
/// "unknown result code").
///
/// Thread safety: any thread, any time.
#[unsafe(no_mangle)]
pub extern "C" fn rtvc_result_message(result: u32) -> *const c_char {
    use rtvc_result::*;
    let known = [
        RTVC_OK,
        RTVC_NULL_PARAMETER,
        RTVC_PANIC,
        RTVC_INVALID_HANDLE,
        RTVC_INVALID_ARGUMENT,
        RTVC_UNSUPPORTED,
        RTVC_WRONG_STATE,
        RTVC_BUFFER_TOO_SMALL,
        RTVC_CODEC_ERROR,
        RTVC_REQUEST_KEYFRAME,
        RTVC_TIMESTAMP_NOT_INCREASING,
    ];
    let Some(&result) = known.iter().find(|r| **r as u32 == result) else {
        return c"unknown result code".as_ptr();
    };
    let s: &'static CStr = match result {
        rtvc_result::RTVC_OK => c"ok",
        rtvc_result::RTVC_NULL_PARAMETER => c"a required pointer was NULL",
        rtvc_result::RTVC_PANIC => c"rtvc panicked inside the call (a bug)",
        rtvc_result::RTVC_INVALID_HANDLE => {
            c"not a live handle of this kind (NULL, freed or foreign)"
        }
        rtvc_result::RTVC_INVALID_ARGUMENT => c"an argument is out of range",
        rtvc_result::RTVC_UNSUPPORTED => c"not supported by this build",
        rtvc_result::RTVC_WRONG_STATE => c"not allowed in this state (e.g. encode before init)",
        rtvc_result::RTVC_BUFFER_TOO_SMALL => c"the output buffer is too small",
        rtvc_result::RTVC_CODEC_ERROR => c"the codec failed",
        rtvc_result::RTVC_REQUEST_KEYFRAME => {
            c"nothing to show: request a keyframe from the sender"
        }
        rtvc_result::RTVC_TIMESTAMP_NOT_INCREASING => c"the frame's timestamp did not increase",
    };
    s.as_ptr()
}

/// rtvc's version, e.g. `"0.1.0"` (static, NUL-terminated).
///
/// Thread safety: any thread, any time.
#[unsafe(no_mangle)]
pub extern "C" fn rtvc_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Runs `f` inside the panic boundary.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), rtvc_result>) -> rtvc_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => rtvc_result::RTVC_OK,
        Ok(Err(e)) => e,
        Err(_) => rtvc_result::RTVC_PANIC,
    }
}

/// A C string argument as `&str` (NULL → `RTVC_NULL_PARAMETER`, not UTF-8 or longer than 4 KiB
/// → `RTVC_INVALID_ARGUMENT`).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn c_str<'a>(p: *const c_char) -> Result<&'a str, rtvc_result> {
    if p.is_null() {
        return Err(rtvc_result::RTVC_NULL_PARAMETER);
    }
    // SAFETY: the caller promises a NUL-terminated string; we read at most up to its NUL.
    let s = unsafe { CStr::from_ptr(p) };
    if s.to_bytes().len() > 4096 {
        return Err(rtvc_result::RTVC_INVALID_ARGUMENT);
    }
    s.to_str().map_err(|_| rtvc_result::RTVC_INVALID_ARGUMENT)
}

/// Copies `s` into the caller's buffer `buf` of `len` bytes, NUL-terminated.
///
/// # Safety
/// `buf` is NULL or valid for `len` bytes of writing.
pub(crate) unsafe fn copy_out(s: &str, buf: *mut c_char, len: usize) -> Result<(), rtvc_result> {
    if buf.is_null() {
        return Err(rtvc_result::RTVC_NULL_PARAMETER);
    }
    let bytes = s.as_bytes();
    if bytes.len() + 1 > len {
        return Err(rtvc_result::RTVC_BUFFER_TOO_SMALL);
    }
    // SAFETY: `buf` is valid for `len` ≥ bytes.len() + 1 bytes (checked above) and does not
    // overlap `s` (a Rust string the caller cannot see).
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
        *buf.add(bytes.len()) = 0;
    }
    Ok(())
}

/// Writes `v` through an out-parameter.
///
/// # Safety
/// `out` is NULL or valid for writing a `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, v: T) -> Result<(), rtvc_result> {
    if out.is_null() {
        return Err(rtvc_result::RTVC_NULL_PARAMETER);
    }
    // SAFETY: non-NULL and, as the caller promises, valid for a write of `T`.
    unsafe { out.write(v) };
    Ok(())
}

/// Maps adapter errors to result codes.
pub(crate) fn adapter_error(e: rtvc_webrtc::AdapterError) -> rtvc_result {
    use rtvc_webrtc::AdapterError as E;
    match e {
        E::Uninitialized => rtvc_result::RTVC_WRONG_STATE,
        E::UnsupportedFormat { .. } => rtvc_result::RTVC_UNSUPPORTED,
        E::Settings { .. } | E::Format(_) => rtvc_result::RTVC_INVALID_ARGUMENT,
        E::Frame(rtvc_codec::FrameError::TimestampNotIncreasing { .. }) => {
            rtvc_result::RTVC_TIMESTAMP_NOT_INCREASING
        }
        E::Frame(_) => rtvc_result::RTVC_INVALID_ARGUMENT,
        _ => rtvc_result::RTVC_CODEC_ERROR,
    }
}
