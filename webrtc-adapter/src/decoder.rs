//! The decoder side: a factory for negotiated formats and a decoder with libwebrtc's semantics
//! (`api/video_codecs/video_decoder.h`): `Configure`, then `Decode` one encoded image at a time
//! → a picture, nothing, or "request a keyframe".
//!
//! After any error the decoder asks for a keyframe and shows nothing until one arrives, then
//! decodes normally again. `missing_frames` (the jitter buffer saw a gap before this frame)
//! means an inter frame may refer to a picture we never got: it is not decoded (it would show a
//! wrong picture without any error) and a keyframe is requested. Garbage never panics.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, Frame, Packet, RecoveryAction, Rotation, VideoDecoder,
};

use crate::fallback::{FallbackDecoder, FallbackListener, FallbackReason, Side};
use crate::format::VideoFormat;
use crate::{AdapterError, decoder_formats};

/// Creates a hardware decoder for a format (registered with
/// [`DecoderFactory::register_hardware`]).
pub type HardwareDecoderMaker =
    Arc<dyn Fn(&VideoFormat) -> Result<Box<dyn WebRtcDecoder>, AdapterError> + Send + Sync>;

#[derive(Clone)]
struct HardwareDecoder {
    format: VideoFormat,
    make: HardwareDecoderMaker,
}

/// Creates decoders for negotiated formats: registered hardware decoders first (falling back to
/// ours, see [`crate::fallback`]), then ours from a codec registry.
#[derive(Clone)]
pub struct DecoderFactory {
    registry: Arc<CodecRegistry>,
    hardware: Vec<HardwareDecoder>,
    listener: Option<FallbackListener>,
}

impl fmt::Debug for DecoderFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hw: Vec<String> = self.hardware.iter().map(|h| h.format.to_string()).collect();
        f.debug_struct("DecoderFactory")
            .field("hardware", &hw)
            .finish()
    }
}

impl DecoderFactory {
    /// A factory over `registry`.
    pub fn new(registry: Arc<CodecRegistry>) -> Self {
        Self {
            registry,
            hardware: Vec::new(),
            listener: None,
        }
    }

    /// Registers a hardware decoder for `format`, preferred over ours.
    pub fn register_hardware(
        &mut self,
        format: VideoFormat,
        make: impl Fn(&VideoFormat) -> Result<Box<dyn WebRtcDecoder>, AdapterError>
        + Send
        + Sync
        + 'static,
    ) {
        self.hardware.push(HardwareDecoder {
            format,
            make: Arc::new(make),
        });
    }

    /// Who hears about hardware → software switches.
    pub fn set_fallback_listener(&mut self, listener: FallbackListener) {
        self.listener = Some(listener);
    }

    /// The formats we decode, in preference order: registered hardware first, then ours (see
    /// [`crate::decoder_formats`]); a format offered by both is listed once.
    pub fn supported_formats(&self) -> Vec<VideoFormat> {
        crate::preferred_first(
            self.hardware.iter().map(|h| h.format.clone()),
            decoder_formats(&self.registry),
        )
    }

    /// Our software decoder for `format`, if we have one.
    fn software(&self, format: &VideoFormat) -> Option<(CodecKind, Box<dyn WebRtcDecoder>)> {
        let ours = decoder_formats(&self.registry)
            .into_iter()
            .find(|f| f.is_same_codec(format))?;
        let codec = ours.codec()?;
        Some((
            codec,
            Box::new(RtvcDecoder {
                registry: Arc::clone(&self.registry),
                codec,
                decoder: None,
                implementation: String::new(),
                waiting_for_keyframe: true,
            }),
        ))
    }

    /// A decoder for `format`: the registered hardware one wrapped to fall back to ours, or ours.
    pub fn create(&self, format: &VideoFormat) -> Result<Box<dyn WebRtcDecoder>, AdapterError> {
        let unsupported = || AdapterError::UnsupportedFormat {
            format: format.to_string(),
            reason: "not a format we decode (see DecoderFactory::supported_formats)".into(),
        };
        let Some(h) = self
            .hardware
            .iter()
            .find(|h| h.format.is_same_codec(format))
        else {
            return self.software(format).map(|s| s.1).ok_or_else(unsupported);
        };
        let Some((codec, _)) = self.software(format) else {
            // Nothing of ours to fall back to: the hardware as it is.
            return (h.make)(format);
        };
        match (h.make)(format) {
            Ok(hw) => {
                let this = self.clone();
                let negotiated = format.clone();
                Ok(Box::new(FallbackDecoder::new(
                    codec,
                    hw,
                    Box::new(move || {
                        this.software(&negotiated).map(|s| s.1).ok_or_else(|| {
                            AdapterError::UnsupportedFormat {
                                format: negotiated.to_string(),
                                reason: "no software decoder to fall back to".into(),
                            }
                        })
                    }),
                    self.listener.clone(),
                )))
            }
            Err(e) => {
                let (_, sw) = self.software(format).ok_or_else(unsupported)?;
                crate::fallback::report(
                    self.listener.as_ref(),
                    Side::Decoder,
                    codec,
                    h.format.name.clone(),
                    sw.decoder_info().implementation_name,
                    FallbackReason::InitFailed(e.to_string()),
                );
                Ok(sw)
            }
        }
    }
}

/// Decoder settings (libwebrtc `VideoDecoder::Settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderSettings {
    /// Largest picture expected (pictures may be smaller, or change size at keyframes).
    pub max_width: u32,
    /// Largest picture height expected.
    pub max_height: u32,
    /// Cores the decoder may use.
    pub number_of_cores: u32,
}

impl DecoderSettings {
    /// Settings for pictures up to `max_width`x`max_height` on `number_of_cores` cores.
    pub fn new(max_width: u32, max_height: u32, number_of_cores: u32) -> Self {
        Self {
            max_width,
            max_height,
            number_of_cores,
        }
    }
}

/// One encoded frame as received (libwebrtc `EncodedImage`).
#[derive(Clone, PartialEq, Eq)]
pub struct ReceivedImage {
    /// The payload (AV1 OBUs, H.264 Annex B).
    pub data: Bytes,
    /// Capture time, microseconds; copied to the picture.
    pub capture_time_us: i64,
    /// Rotation signalled out of band; copied to the picture.
    pub rotation: Rotation,
    /// The jitter buffer saw frames missing before this one.
    pub missing_frames: bool,
}

impl fmt::Debug for ReceivedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedImage")
            .field("bytes", &self.data.len())
            .field("capture_time_us", &self.capture_time_us)
            .field("missing_frames", &self.missing_frames)
            .finish()
    }
}

/// The result of [`WebRtcDecoder::decode`].
#[derive(Debug, Clone)]
pub enum DecodeResult {
    /// A picture to show.
    Picture(Frame),
    /// The data was used but shows nothing (parameter sets, a frame not shown).
    NoOutput,
    /// Nothing to show: ask the sender for a keyframe (RTCP PLI). Says why.
    RequestKeyframe(String),
}

/// Static facts about a decoder (libwebrtc `DecoderInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderInfo {
    /// Implementation name, e.g. `dav1d`.
    pub implementation_name: String,
    /// False for ours.
    pub is_hardware_accelerated: bool,
}

impl DecoderInfo {
    /// Facts for a decoder we know nothing about.
    pub(crate) fn unknown() -> Self {
        Self {
            implementation_name: "unknown".into(),
            is_hardware_accelerated: false,
        }
    }

    /// Facts for a hardware decoder a host describes.
    pub fn hardware(implementation_name: &str) -> Self {
        Self {
            implementation_name: implementation_name.into(),
            is_hardware_accelerated: true,
        }
    }
}

/// A decoder with libwebrtc's semantics (see the module docs).
pub trait WebRtcDecoder: Send {
    /// Prepares for pictures up to the given size.
    fn configure(&mut self, settings: &DecoderSettings) -> Result<(), AdapterError>;
    /// Decodes one encoded frame.
    fn decode(&mut self, image: &ReceivedImage) -> Result<DecodeResult, AdapterError>;
    /// Static facts.
    fn decoder_info(&self) -> DecoderInfo;
    /// Stops; [`WebRtcDecoder::configure`] may start it again.
    fn release(&mut self);
}

impl fmt::Debug for dyn WebRtcDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebRtcDecoder")
            .field("implementation", &self.decoder_info().implementation_name)
            .finish()
    }
}

/// Our software decoder for one negotiated format.
struct RtvcDecoder {
    registry: Arc<CodecRegistry>,
    codec: CodecKind,
    decoder: Option<Box<dyn VideoDecoder>>,
    implementation: String,
    /// Nothing was decoded yet, or the last error has not been healed by a keyframe.
    waiting_for_keyframe: bool,
}

impl RtvcDecoder {
    fn request(&mut self, why: String) -> DecodeResult {
        self.waiting_for_keyframe = true;
        DecodeResult::RequestKeyframe(why)
    }
}

impl WebRtcDecoder for RtvcDecoder {
    fn configure(&mut self, settings: &DecoderSettings) -> Result<(), AdapterError> {
        if settings.max_width == 0 || settings.max_height == 0 || settings.number_of_cores == 0 {
            return Err(AdapterError::Settings {
                field: "max_width/max_height/number_of_cores",
                value: format!(
                    "{}x{} on {} cores",
                    settings.max_width, settings.max_height, settings.number_of_cores
                ),
                valid: "all at least 1",
            });
        }
        let mut config = DecoderConfig::default();
        config.threads = Some(settings.number_of_cores.clamp(1, 4));
        // Streams may grow at a keyframe (a camera switch to a larger size): allow 4x the
        // configured area, bounded by the default limit.
        let area = u64::from(settings.max_width) * u64::from(settings.max_height);
        config.max_pixels = (area * 4).clamp(1920 * 1088, config.max_pixels);
        let decoder = self.registry.create_decoder(self.codec, &config)?;
        self.implementation = decoder.info().implementation.to_string();
        self.decoder = Some(decoder);
        self.waiting_for_keyframe = true;
        Ok(())
    }

    fn decode(&mut self, image: &ReceivedImage) -> Result<DecodeResult, AdapterError> {
        let decoder = self.decoder.as_mut().ok_or(AdapterError::Uninitialized)?;
        if image.missing_frames && !self.waiting_for_keyframe {
            // An inter frame after a gap may refer to what never came: wait for a keyframe
            // rather than show a wrong picture. (A keyframe in this packet is decoded below.)
            decoder.reset();
        }
        let packet = Packet {
            data: image.data.clone(),
            timestamp_us: image.capture_time_us,
            rotation: image.rotation,
        };
        match decoder.decode(&packet) {
            Ok(Some(frame)) => {
                self.waiting_for_keyframe = false;
                // Call streams show one picture per frame; extra layers are not for display.
                drop(decoder.take_ready());
                Ok(DecodeResult::Picture(frame))
            }
            Ok(None) => Ok(DecodeResult::NoOutput),
            Err(e) => {
                let why = e.to_string();
                match e.action() {
                    RecoveryAction::DropAndRequestKeyframe | RecoveryAction::RequestKeyframe => {
                        Ok(self.request(why))
                    }
                    RecoveryAction::SwitchDecoder => Err(AdapterError::Codec(e.into())),
                    RecoveryAction::RecreateDecoder => {
                        // Re-create it ourselves, then wait for a keyframe.
                        let config = DecoderConfig::default();
                        self.decoder = Some(self.registry.create_decoder(self.codec, &config)?);
                        Ok(self.request(why))
                    }
                }
            }
        }
    }

    fn decoder_info(&self) -> DecoderInfo {
        let name = if self.implementation.is_empty() {
            self.registry
                .decoders(self.codec)
                .first()
                .map_or("rtvc", |d| d.info.implementation)
                .to_string()
        } else {
            self.implementation.clone()
        };
        DecoderInfo {
            implementation_name: name,
            is_hardware_accelerated: false,
        }
    }

    fn release(&mut self) {
        self.decoder = None;
        self.waiting_for_keyframe = true;
    }
}
