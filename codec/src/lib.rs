//! # rtvc-codec
//!
//! The codec layer of rtvc: frames and colour conversion, scaling, and zero-delay AV1 and H.264
//! encoders and decoders for real-time calls.
//!
//! | area | module | what |
//! |---|---|---|
//! | frames | [`frame`], [`convert`], [`scale`] | I420 frames with strides/timestamp/rotation, a buffer pool, NV12/BGRA/RGBA import, NV12/BGRA export (`yuv` crate), SIMD scaling (`pic-scale`) |
//! | encoding | [`encoder`], [`av1::aom`], [`av1::rav1e`], [`h264::openh264`] | the zero-delay contract, live bitrate/keyframe/resolution control |
//! | decoding | [`decoder`], [`av1::dav1d`], [`h264::openh264`] | one packet in, at most one frame out, typed errors that say what to do |
//! | choosing | [`registry`] | a tiered registry value: preferred (hardware) → standard → fallback |
//! | files | [`container`] | IVF, Y4M, H.264 Annex B, AV1 Section 5 / Annex B |
//! | measuring | [`quality`], [`bd`], [`synthetic`] | ffmpeg-compatible PSNR, conformance MD5, Bjøntegaard deltas (PCHIP), a built-in test scene |
//!
//! Backends are cargo features (`aom`, `rav1e`, `dav1d`, `openh264`, all on by default); the
//! registry offers what is compiled in. Tools that are not codec — the conformance runner, a
//! seeded RNG for simulations, the shared-data lookup for tests — live in the `rtvc-testkit`
//! crate.
//!
//! ```
//! use rtvc_codec::{CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncoderConfig, Packet};
//! use rtvc_codec::synthetic::SyntheticScene;
//!
//! let registry = CodecRegistry::with_builtin();
//! let mut enc = registry
//!     .create_call_encoder(&EncoderConfig::new(CodecKind::Av1, 320, 180, 300_000, 30.0))
//!     .unwrap();
//! let mut dec = registry.create_decoder(CodecKind::Av1, &DecoderConfig::default()).unwrap();
//! let scene = SyntheticScene::new(320, 180, 30.0).unwrap();
//! for n in 0..3 {
//!     let frame = scene.frame(n);
//!     match enc.encode(&frame, false).unwrap() {
//!         EncodeOutcome::Encoded(out) => {
//!             let picture = dec.decode(&Packet::from(&out)).unwrap().expect("one frame out");
//!             assert_eq!(picture.width(), 320);
//!         }
//!         other => panic!("zero-delay encoder returned {other:?}"),
//!     }
//! }
//! ```

#![deny(missing_docs)]

pub mod av1;
pub mod bd;
pub mod container;
pub mod convert;
pub mod decoder;
pub mod encoded;
pub mod encoder;
pub mod error;
pub mod frame;
pub mod h264;
pub mod quality;
pub mod rate;
pub mod registry;
pub mod scale;
pub mod synthetic;

pub use decoder::{DecodeError, DecoderConfig, RecoveryAction, VideoDecoder};
pub use encoded::{CodecKind, EncodedFrame, Packet};
pub use encoder::{
    DropReason, EncodeOutcome, EncoderConfig, EncoderInfo, FrameSizeCaps, FrameTiming, RateBuffer,
    Rates, VideoEncoder,
};
pub use error::{ConfigError, Error, FrameError, Result};
pub use frame::{ColorSpace, Frame, FramePool, Rotation};
pub use registry::{CodecRegistry, Tier};
