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
//! | rate control | `RC_BITRATE_MODE`, frame skipping when [`crate::EncoderConfig::frame_dropping`], QP 12..42 (openh264 clamps outside that silently) |
//! | frame rate | always set (`fMaxFrameRate` = 0 makes openh264 assume 1 fps and overshoot ~10×) |
//! | keyframes | only on request (`uiIntraPeriod = 0`); SPS and PPS precede every IDR |
//! | scene-change detection | off (it inserts unrequested I-frames and bitrate spikes) |
//! | bitrate change | live `SetOption`: raising sets `ENCODER_OPTION_MAX_BITRATE` first, lowering sets `ENCODER_OPTION_BITRATE` first (openh264 silently keeps the old rate otherwise) |
//! | resolution change | re-initialisation inside the encoder; the frame comes out as an IDR at the new size |
//!
//! Width and height must be even: H.264 4:2:0 crops in units of two samples, so an odd size
//! cannot be signalled and is refused with a [`crate::ConfigError`] instead of being silently changed.
//!
//! # Decoder
//!
//! `DecodeFrameNoDelay` (one access unit in, its picture out), error concealment off so that a
//! damaged frame is reported instead of shown. The access unit is checked first: until an IDR
//! arrives (at the start and after any error) other frames are refused with
//! [`crate::DecodeError::MissingReference`], and an SPS larger than [`crate::DecoderConfig::max_pixels`] is
//! refused before openh264 allocates for it. openh264 is conformant for Constrained Baseline and
//! Baseline; it does not decode every Main-profile stream (see the conformance report).
//!
//! # Code layout
//!
//! The calls into openh264 are in the private `raw` module (the only `unsafe` code of this
//! backend); `encoder` and `decoder` make the choices in safe code. The encoder copies its
//! output into one exact-size payload per frame. The decoder copies each picture out of
//! openh264's own buffers (it has no allocator hook) into a pooled frame, and updates its
//! parameter-set cache in place: no allocation per frame once warmed up.

mod decoder;
mod encoder;
mod raw;

pub use decoder::OpenH264Decoder;
pub use encoder::{OpenH264Encoder, encoder_info};
