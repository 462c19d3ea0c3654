//! The decoder trait and its errors.
//!
//! One [`Packet`] (a complete AV1 temporal unit or H.264 access unit) in, at most one [`Frame`]
//! out, nothing queued inside: the decoders are configured for zero frame delay (dav1d
//! `max_frame_delay = 1`, openh264 `DecodeFrameNoDelay`).
//!
//! # Errors and recovery
//!
//! Every [`DecodeError`] says what the caller should do ([`DecodeError::action`]):
//!
//! | error | meaning | action |
//! |---|---|---|
//! | [`DecodeError::Corrupt`] | the packet is damaged or not this codec | drop it, request a keyframe |
//! | [`DecodeError::MissingReference`] | a frame it depends on was lost (or no keyframe yet) | request a keyframe |
//! | [`DecodeError::Unsupported`] | valid stream, feature we cannot decode (e.g. 4:4:4, 10-bit) | switch decoder or codec |
//! | [`DecodeError::Backend`] | the library failed (out of memory, internal error) | re-create the decoder |
//!
//! After any error the decoder refuses inter frames (with `MissingReference`) until a keyframe
//! arrives, and decodes that keyframe normally: a decoder always recovers at the next keyframe.
//! Garbage never panics, hangs or grows memory without bound (frame sizes are capped).

use std::fmt;

use crate::encoded::{CodecKind, Packet};
pub use crate::error::{DecodeError, RecoveryAction};
use crate::frame::Frame;

/// Decoder settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderConfig {
    /// Decoder threads; `None` chooses from the core count (at most 4).
    pub threads: Option<u32>,
    /// Largest picture area (pixels) accepted; bigger streams are `Unsupported`. Bounds memory
    /// on hostile input. Default 8192x4352 (8K).
    pub max_pixels: u64,
    /// AV1: apply film grain synthesis (off for calls and for conformance MD5s).
    pub apply_film_grain: bool,
    /// AV1: operating point to decode (scalable streams).
    pub operating_point: u8,
    /// AV1: output every spatial layer instead of only the highest.
    pub all_layers: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            threads: None,
            max_pixels: 8192 * 4352,
            apply_film_grain: false,
            operating_point: 0,
            all_layers: false,
        }
    }
}

impl DecoderConfig {
    /// Checks the values; the error names the field and the valid range.
    pub fn validate(&self) -> Result<(), crate::error::ConfigError> {
        if self.max_pixels == 0 || self.max_pixels > u64::from(u32::MAX) {
            return Err(crate::error::ConfigError::out_of_range(
                "max_pixels",
                self.max_pixels,
                format!("1..={}", u32::MAX),
            ));
        }
        if let Some(t) = self.threads
            && !(1..=64).contains(&t)
        {
            return Err(crate::error::ConfigError::out_of_range(
                "threads", t, "1..=64",
            ));
        }
        if self.operating_point > 31 {
            return Err(crate::error::ConfigError::out_of_range(
                "operating_point",
                self.operating_point,
                "0..=31",
            ));
        }
        Ok(())
    }

    #[cfg_attr(not(feature = "dav1d"), allow(dead_code))]
    pub(crate) fn effective_threads(&self) -> u32 {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1)
                .min(4)
        })
    }
}

/// Static facts about a decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderInfo {
    /// Implementation name, e.g. `dav1d`.
    pub implementation: &'static str,
    /// Codec decoded.
    pub codec: CodecKind,
    /// True only for hardware decoders.
    pub is_hardware_accelerated: bool,
}

/// A video decoder. See the module docs for the contract.
pub trait VideoDecoder: Send {
    /// Static facts.
    fn info(&self) -> DecoderInfo;

    /// Decodes one complete frame's worth of data. `Ok(None)` means the packet was consumed but
    /// shows nothing (parameter sets only, a frame that is not shown).
    fn decode(&mut self, packet: &Packet) -> Result<Option<Frame>, DecodeError>;

    /// Pictures beyond the one `decode` returned. Only multi-output modes produce any (AV1
    /// with [`DecoderConfig::all_layers`] shows every spatial layer of a temporal unit); call
    /// streams never do. Callers using such modes drain this after every `decode`.
    fn take_ready(&mut self) -> Vec<Frame> {
        Vec::new()
    }

    /// End of stream: returns any pictures a stream with reordering still holds (H.264 Main
    /// profile B-frames). Call streams have none. The decoder then expects a keyframe.
    fn flush(&mut self) -> Result<Vec<Frame>, DecodeError>;

    /// Forgets all state; the next packet must be a keyframe.
    fn reset(&mut self);
}

impl fmt::Debug for dyn VideoDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.info();
        f.debug_struct("VideoDecoder")
            .field("implementation", &info.implementation)
            .field("codec", &info.codec)
            .finish()
    }
}
