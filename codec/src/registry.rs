//! Which encoders and decoders exist, in what order of preference.
//!
//! A [`CodecRegistry`] is a value the application builds and owns — nothing global. Each entry
//! has a [`Tier`]; lookups walk `Preferred`, then `Standard`, then `Fallback`, in registration
//! order within a tier, and take the first backend that can be created. That is exactly the shape
//! "hardware encoder first, our software encoder if it fails": register VideoToolbox as
//! `Preferred` and the built-in software codecs stay below it.
//!
//! [`CodecRegistry::with_builtin`] registers:
//!
//! | codec | role | backend | tier | frame delay | cargo feature |
//! |---|---|---|---|---|---|
//! | AV1 | encode | libaom (realtime) | standard | 0 | `aom` |
//! | AV1 | encode | rav1e | fallback | 4 — never chosen for calls | `rav1e` |
//! | AV1 | decode | dav1d | standard | 0 | `dav1d` |
//! | H.264 | encode | openh264 | standard | 0 | `openh264` |
//! | H.264 | decode | openh264 | standard | 0 | `openh264` |
//!
//! A backend whose feature is off is simply not registered: asking for it is
//! [`Error::NoCodec`], as for any codec the registry lacks.
//!
//! ```
//! use rtvc_codec::{CodecKind, CodecRegistry, EncoderConfig};
//!
//! let registry = CodecRegistry::with_builtin();
//! let config = EncoderConfig::new(CodecKind::Av1, 320, 180, 300_000, 30.0);
//! let encoder = registry.create_call_encoder(&config).unwrap();
//! assert_eq!(encoder.info().implementation, "libaom");
//! ```

use std::fmt;

use crate::decoder::{DecodeError, DecoderConfig, DecoderInfo, VideoDecoder};
use crate::encoded::CodecKind;
use crate::encoder::{EncoderConfig, EncoderInfo, VideoEncoder};
use crate::error::Error;

/// Preference class of a registered backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Tried first (e.g. a hardware encoder).
    Preferred,
    /// The normal choice (our software codecs).
    Standard,
    /// Only when nothing else works.
    Fallback,
}

/// Creates an encoder from a configuration.
pub type EncoderFactory =
    Box<dyn Fn(&EncoderConfig) -> Result<Box<dyn VideoEncoder>, Error> + Send + Sync>;
/// Creates a decoder from a configuration.
pub type DecoderFactory =
    Box<dyn Fn(&DecoderConfig) -> Result<Box<dyn VideoDecoder>, DecodeError> + Send + Sync>;

/// A registered encoder backend.
pub struct EncoderEntry {
    /// Backend name (`libaom`, `rav1e`, `openh264`, ...), unique per codec.
    pub name: &'static str,
    /// Tier.
    pub tier: Tier,
    /// Static facts (codec, delay, hardware or not).
    pub info: EncoderInfo,
    factory: EncoderFactory,
}

impl fmt::Debug for EncoderEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncoderEntry")
            .field("name", &self.name)
            .field("tier", &self.tier)
            .field("info", &self.info)
            .finish()
    }
}

/// A registered decoder backend.
pub struct DecoderEntry {
    /// Backend name.
    pub name: &'static str,
    /// Tier.
    pub tier: Tier,
    /// Static facts.
    pub info: DecoderInfo,
    factory: DecoderFactory,
}

impl fmt::Debug for DecoderEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecoderEntry")
            .field("name", &self.name)
            .field("tier", &self.tier)
            .field("info", &self.info)
            .finish()
    }
}

/// The set of available codecs, by tier.
#[derive(Debug, Default)]
pub struct CodecRegistry {
    encoders: Vec<EncoderEntry>,
    decoders: Vec<DecoderEntry>,
}

impl CodecRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in software codecs (see the module table) that this build has: each is behind
    /// the cargo feature of its name (`aom`, `rav1e`, `dav1d`, `openh264`, all on by default).
    pub fn with_builtin() -> Self {
        #[cfg_attr(
            not(any(
                feature = "aom",
                feature = "rav1e",
                feature = "dav1d",
                feature = "openh264"
            )),
            allow(unused_mut)
        )]
        let mut r = Self::new();
        #[cfg(feature = "aom")]
        {
            use crate::av1::aom;
            r.register_encoder("libaom", Tier::Standard, aom::info(), |c| {
                Ok(Box::new(aom::AomEncoder::new(c)?))
            });
        }
        #[cfg(feature = "rav1e")]
        {
            use crate::av1::rav1e;
            r.register_encoder("rav1e", Tier::Fallback, rav1e::info(), |c| {
                Ok(Box::new(rav1e::Rav1eEncoder::new(c)?))
            });
        }
        #[cfg(feature = "openh264")]
        {
            use crate::h264::openh264;
            r.register_encoder("openh264", Tier::Standard, openh264::encoder_info(), |c| {
                Ok(Box::new(openh264::OpenH264Encoder::new(c)?))
            });
        }
        #[cfg(feature = "dav1d")]
        r.register_decoder(
            "dav1d",
            Tier::Standard,
            DecoderInfo {
                implementation: "dav1d",
                codec: CodecKind::Av1,
                is_hardware_accelerated: false,
            },
            |c| Ok(Box::new(crate::av1::dav1d::Dav1dDecoder::new(c)?)),
        );
        #[cfg(feature = "openh264")]
        r.register_decoder(
            "openh264",
            Tier::Standard,
            DecoderInfo {
                implementation: "openh264",
                codec: CodecKind::H264,
                is_hardware_accelerated: false,
            },
            |c| Ok(Box::new(crate::h264::openh264::OpenH264Decoder::new(c)?)),
        );
        r
    }

    /// Adds an encoder backend.
    pub fn register_encoder(
        &mut self,
        name: &'static str,
        tier: Tier,
        info: EncoderInfo,
        factory: impl Fn(&EncoderConfig) -> Result<Box<dyn VideoEncoder>, Error> + Send + Sync + 'static,
    ) {
        self.encoders.push(EncoderEntry {
            name,
            tier,
            info,
            factory: Box::new(factory),
        });
    }

    /// Adds a decoder backend.
    pub fn register_decoder(
        &mut self,
        name: &'static str,
        tier: Tier,
        info: DecoderInfo,
        factory: impl Fn(&DecoderConfig) -> Result<Box<dyn VideoDecoder>, DecodeError>
        + Send
        + Sync
        + 'static,
    ) {
        self.decoders.push(DecoderEntry {
            name,
            tier,
            info,
            factory: Box::new(factory),
        });
    }

    /// Encoders for `codec`, most preferred first.
    pub fn encoders(&self, codec: CodecKind) -> Vec<&EncoderEntry> {
        let mut v: Vec<_> = self
            .encoders
            .iter()
            .filter(|e| e.info.codec == codec)
            .collect();
        v.sort_by_key(|e| e.tier); // stable: registration order within a tier
        v
    }

    /// Decoders for `codec`, most preferred first.
    pub fn decoders(&self, codec: CodecKind) -> Vec<&DecoderEntry> {
        let mut v: Vec<_> = self
            .decoders
            .iter()
            .filter(|e| e.info.codec == codec)
            .collect();
        v.sort_by_key(|e| e.tier);
        v
    }

    /// The most preferred encoder for `config.codec` that keeps the zero-delay contract and can
    /// be created with `config` (a backend that fails to start is skipped: that is the
    /// hardware → software fallback). Configuration errors are returned as they are, since every
    /// backend would reject them.
    pub fn create_call_encoder(
        &self,
        config: &EncoderConfig,
    ) -> Result<Box<dyn VideoEncoder>, Error> {
        config.validate()?;
        let mut failures = Vec::new();
        for e in self.encoders(config.codec) {
            if e.info.frame_delay > 0 {
                continue;
            }
            match (e.factory)(config) {
                Ok(enc) => return Ok(enc),
                Err(err) => failures.push(format!("{}: {err}", e.name)),
            }
        }
        Err(Error::NoCodec {
            codec: config.codec.name(),
            role: "zero-delay encoder",
            detail: if failures.is_empty() {
                String::new()
            } else {
                format!(": {}", failures.join("; "))
            },
        })
    }

    /// A specific encoder backend by name (any delay).
    pub fn create_encoder_named(
        &self,
        name: &str,
        config: &EncoderConfig,
    ) -> Result<Box<dyn VideoEncoder>, Error> {
        let e = self
            .encoders(config.codec)
            .into_iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::NoCodec {
                codec: config.codec.name(),
                role: "encoder",
                detail: format!(
                    ": no backend named {name:?} (have: {})",
                    self.encoders(config.codec)
                        .iter()
                        .map(|e| e.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        (e.factory)(config)
    }

    /// The most preferred decoder for `codec` that can be created.
    pub fn create_decoder(
        &self,
        codec: CodecKind,
        config: &DecoderConfig,
    ) -> Result<Box<dyn VideoDecoder>, Error> {
        config.validate()?;
        let mut failures = Vec::new();
        for d in self.decoders(codec) {
            match (d.factory)(config) {
                Ok(dec) => return Ok(dec),
                Err(err) => failures.push(format!("{}: {err}", d.name)),
            }
        }
        Err(Error::NoCodec {
            codec: codec.name(),
            role: "decoder",
            detail: if failures.is_empty() {
                String::new()
            } else {
                format!(": {}", failures.join("; "))
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(feature = "aom", feature = "rav1e"))]
    fn tiers_order_and_fallback() {
        let mut r = CodecRegistry::with_builtin();
        let mut hw = crate::av1::aom::info();
        hw.implementation = "fake-hw";
        hw.is_hardware_accelerated = true;
        r.register_encoder("fake-hw", Tier::Preferred, hw, |_| {
            Err(Error::Encoder {
                backend: "fake-hw",
                message: "no hardware session".into(),
            })
        });
        let names: Vec<_> = r.encoders(CodecKind::Av1).iter().map(|e| e.name).collect();
        assert_eq!(names, ["fake-hw", "libaom", "rav1e"]);
        // The preferred one fails to start, so the call falls back to libaom.
        let cfg = EncoderConfig::new(CodecKind::Av1, 64, 64, 100_000, 30.0);
        let enc = r.create_call_encoder(&cfg).unwrap();
        assert_eq!(enc.info().implementation, "libaom");
        // rav1e is there, but never for calls.
        assert_eq!(
            r.create_encoder_named("rav1e", &cfg)
                .unwrap()
                .info()
                .frame_delay,
            4
        );
    }

    #[test]
    #[cfg(feature = "openh264")]
    fn config_errors_are_not_hidden_by_fallback() {
        let r = CodecRegistry::with_builtin();
        let cfg = EncoderConfig::new(CodecKind::H264, 640, 360, 1, 30.0);
        assert!(matches!(r.create_call_encoder(&cfg), Err(Error::Config(_))));
        let odd = EncoderConfig::new(CodecKind::H264, 641, 360, 500_000, 30.0);
        match r.create_call_encoder(&odd) {
            Err(Error::NoCodec { detail, .. }) => assert!(detail.contains("even"), "{detail}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_registry_says_so() {
        let r = CodecRegistry::new();
        let cfg = EncoderConfig::new(CodecKind::Av1, 64, 64, 100_000, 30.0);
        assert!(matches!(
            r.create_call_encoder(&cfg),
            Err(Error::NoCodec { .. })
        ));
        assert!(matches!(
            r.create_decoder(CodecKind::H264, &DecoderConfig::default()),
            Err(Error::NoCodec { .. })
        ));
    }
}
