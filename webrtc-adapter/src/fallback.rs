//! Hardware first, software when it fails — without dropping the call.
//!
//! A host registers its hardware encoders and decoders with the factories (on iOS:
//! VideoToolbox, through the C ABI). A format that has one gets a fallback wrapper: it starts on
//! the hardware; when that fails at init, returns an error mid-call (VideoToolbox answers
//! `kVTInvalidSessionErr` after the app was backgrounded), or silently produces nothing for
//! [`MAX_SILENT_FRAMES`] frames in a row while it should, our software encoder takes over — with
//! the settings and the rates the hardware had, and a keyframe — and encodes the very frame the
//! hardware failed on, so no frame is lost beyond the switch. The switch is reported to the
//! factory's listener ([`FallbackEvent`]). The WebRTC iOS SDK has no such fallback of its own.
//!
//! Decoders likewise: a hardware decoder that fails to configure, returns an error, or cannot
//! decode [`MAX_FAILED_KEYFRAMES`] keyframes in a row is replaced by ours, which then asks for a
//! keyframe.
//!
//! libwebrtc's `VideoEncoderSoftwareFallbackWrapper` is the model; unlike it, the switch here is
//! one-way for the rest of the stream (a hardware session that broke once tends to break again).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rtvc_codec::CodecKind;
use rtvc_codec::av1::obu::inspect_temporal_unit;
use rtvc_codec::h264::bitstream::is_idr_access_unit;

use crate::AdapterError;
use crate::decoder::{DecodeResult, DecoderInfo, DecoderSettings, ReceivedImage, WebRtcDecoder};
use crate::encoder::{
    EncodeResult, EncoderInfo, EncoderSettings, FrameDropReason, LossNotification,
    RateControlParameters, VideoFrameType, WebRtcEncoder,
};

/// Frames in a row a hardware encoder may drop (for its own rate control) while not paused
/// before it is considered broken: one second at 30 fps.
pub const MAX_SILENT_FRAMES: u32 = 30;

/// Keyframes in a row a hardware decoder may fail to decode before it is replaced.
pub const MAX_FAILED_KEYFRAMES: u32 = 3;

/// Which side of a codec switched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// An encoder.
    Encoder,
    /// A decoder.
    Decoder,
}

/// Why the hardware was given up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackReason {
    /// It failed to start (init / configure); the error in words.
    InitFailed(String),
    /// It returned an error mid-call; the error in words.
    Error(String),
    /// It produced nothing for this many frames in a row.
    Silent(u32),
    /// It could not decode this many keyframes in a row.
    KeyframesFailed(u32),
}

impl fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InitFailed(e) => write!(f, "failed to start: {e}"),
            Self::Error(e) => write!(f, "failed mid-call: {e}"),
            Self::Silent(n) => write!(f, "produced nothing for {n} frames in a row"),
            Self::KeyframesFailed(n) => write!(f, "could not decode {n} keyframes in a row"),
        }
    }
}

/// A switch from hardware to software.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackEvent {
    /// Encoder or decoder.
    pub side: Side,
    /// Codec of the stream.
    pub codec: CodecKind,
    /// Implementation given up (e.g. `VideoToolbox`).
    pub from: String,
    /// Implementation taking over (e.g. `openh264`).
    pub to: String,
    /// Why.
    pub reason: FallbackReason,
}

impl fmt::Display for FallbackEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = match self.side {
            Side::Encoder => "encoder",
            Side::Decoder => "decoder",
        };
        write!(
            f,
            "{} {side}: {} {}; switched to {}",
            self.codec, self.from, self.reason, self.to
        )
    }
}

/// Receives [`FallbackEvent`]s (from any thread).
pub type FallbackListener = Arc<dyn Fn(&FallbackEvent) + Send + Sync>;

/// Tells `listener` (if any) that `side` of a `codec` stream switched from `from` to `to`.
pub(crate) fn report(
    listener: Option<&FallbackListener>,
    side: Side,
    codec: CodecKind,
    from: String,
    to: String,
    reason: FallbackReason,
) {
    if let Some(l) = listener {
        l(&FallbackEvent {
            side,
            codec,
            from,
            to,
            reason,
        });
    }
}

/// Makes the software encoder to fall back to.
pub(crate) type SoftwareEncoderMaker =
    Box<dyn Fn() -> Result<Box<dyn WebRtcEncoder>, AdapterError> + Send>;

/// Makes the software decoder to fall back to.
pub(crate) type SoftwareDecoderMaker =
    Box<dyn Fn() -> Result<Box<dyn WebRtcDecoder>, AdapterError> + Send>;

/// An encoder that starts on hardware and falls back to software (see the module docs).
pub struct FallbackEncoder {
    codec: CodecKind,
    hardware: Option<Box<dyn WebRtcEncoder>>,
    software: Option<Box<dyn WebRtcEncoder>>,
    make_software: SoftwareEncoderMaker,
    listener: Option<FallbackListener>,
    settings: Option<EncoderSettings>,
    rates: Option<RateControlParameters>,
    paused: bool,
    silent: u32,
}

impl fmt::Debug for FallbackEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackEncoder")
            .field("codec", &self.codec)
            .field("on_hardware", &self.hardware.is_some())
            .finish()
    }
}

impl FallbackEncoder {
    pub(crate) fn new(
        codec: CodecKind,
        hardware: Box<dyn WebRtcEncoder>,
        make_software: SoftwareEncoderMaker,
        listener: Option<FallbackListener>,
    ) -> Self {
        Self {
            codec,
            hardware: Some(hardware),
            software: None,
            make_software,
            listener,
            settings: None,
            rates: None,
            paused: false,
            silent: 0,
        }
    }

    /// True while the hardware encoder is in use.
    pub fn on_hardware(&self) -> bool {
        self.hardware.is_some()
    }

    fn active(&mut self) -> Result<&mut Box<dyn WebRtcEncoder>, AdapterError> {
        match (self.hardware.as_mut(), self.software.as_mut()) {
            (Some(h), _) => Ok(h),
            (None, Some(s)) => Ok(s),
            (None, None) => Err(AdapterError::Uninitialized),
        }
    }

    /// Gives the hardware up: starts software with the same settings and rates.
    fn switch(&mut self, reason: FallbackReason) -> Result<(), AdapterError> {
        let from = self
            .hardware
            .take()
            .map(|mut h| {
                let name = h.encoder_info().implementation_name;
                h.release();
                name
            })
            .unwrap_or_default();
        let mut software = (self.make_software)()?;
        if let Some(s) = &self.settings {
            software.init(s)?;
            if let Some(r) = &self.rates {
                software.set_rates(r)?;
            }
        }
        let to = software.encoder_info().implementation_name;
        self.software = Some(software);
        self.silent = 0;
        report(
            self.listener.as_ref(),
            Side::Encoder,
            self.codec,
            from,
            to,
            reason,
        );
        Ok(())
    }
}

impl WebRtcEncoder for FallbackEncoder {
    fn encoder_info(&self) -> EncoderInfo {
        match (&self.hardware, &self.software) {
            (Some(h), _) => h.encoder_info(),
            (None, Some(s)) => s.encoder_info(),
            // Only after a failed switch: report the software side's facts as best we can.
            (None, None) => match (self.make_software)() {
                Ok(s) => s.encoder_info(),
                Err(_) => EncoderInfo::unknown(),
            },
        }
    }

    fn init(&mut self, settings: &EncoderSettings) -> Result<(), AdapterError> {
        self.settings = Some(settings.clone());
        self.rates = None;
        self.paused = false;
        self.silent = 0;
        if let Some(h) = self.hardware.as_mut() {
            match h.init(settings) {
                Ok(()) => return Ok(()),
                // Our own settings check failed: software would refuse them too.
                Err(e @ AdapterError::Settings { .. }) => return Err(e),
                Err(e) => return self.switch(FallbackReason::InitFailed(e.to_string())),
            }
        }
        self.active()?.init(settings)
    }

    fn encode(
        &mut self,
        frame: &rtvc_codec::Frame,
        frame_types: &[VideoFrameType],
    ) -> Result<EncodeResult, AdapterError> {
        if let Some(h) = self.hardware.as_mut() {
            let reason = match h.encode(frame, frame_types) {
                Ok(EncodeResult::Dropped(FrameDropReason::EncoderRateControl)) if !self.paused => {
                    self.silent += 1;
                    if self.silent < MAX_SILENT_FRAMES {
                        return Ok(EncodeResult::Dropped(FrameDropReason::EncoderRateControl));
                    }
                    FallbackReason::Silent(self.silent)
                }
                Ok(r) => {
                    if matches!(r, EncodeResult::Encoded(_)) {
                        self.silent = 0;
                    }
                    return Ok(r);
                }
                // Frames out of order are the caller's fault, not the hardware's.
                Err(e @ (AdapterError::Frame(_) | AdapterError::Uninitialized)) => return Err(e),
                Err(e) => FallbackReason::Error(e.to_string()),
            };
            self.switch(reason)?;
            // The frame the hardware failed on, as the software's first: a keyframe.
            return self.active()?.encode(frame, &[VideoFrameType::Key]);
        }
        self.active()?.encode(frame, frame_types)
    }

    fn set_rates(&mut self, parameters: &RateControlParameters) -> Result<(), AdapterError> {
        self.paused = parameters.layer_bitrates_bps.iter().all(|&b| b == 0);
        self.rates = Some(parameters.clone());
        match self.hardware.as_mut().map(|h| h.set_rates(parameters)) {
            Some(Ok(())) => Ok(()),
            Some(Err(e @ (AdapterError::Settings { .. } | AdapterError::Uninitialized))) => Err(e),
            Some(Err(e)) => self.switch(FallbackReason::Error(e.to_string())),
            None => self.active()?.set_rates(parameters),
        }
    }

    fn on_packet_loss_rate(&mut self, fraction: f64) {
        if let Ok(a) = self.active() {
            a.on_packet_loss_rate(fraction);
        }
    }

    fn on_rtt(&mut self, rtt: Duration) {
        if let Ok(a) = self.active() {
            a.on_rtt(rtt);
        }
    }

    fn on_loss_notification(&mut self, notification: LossNotification) {
        if let Ok(a) = self.active() {
            a.on_loss_notification(notification);
        }
    }

    fn release(&mut self) {
        if let Some(h) = self.hardware.as_mut() {
            h.release();
        }
        if let Some(s) = self.software.as_mut() {
            s.release();
        }
        self.settings = None;
    }
}

/// Whether `data` can start decoding (an AV1 temporal unit with a sequence header and a key
/// frame; an H.264 access unit with an IDR).
fn is_keyframe(codec: CodecKind, data: &[u8]) -> bool {
    match codec {
        CodecKind::Av1 => inspect_temporal_unit(data).is_ok_and(|t| t.is_random_access_point()),
        CodecKind::H264 => is_idr_access_unit(data),
    }
}

/// A decoder that starts on hardware and falls back to software (see the module docs).
pub struct FallbackDecoder {
    codec: CodecKind,
    hardware: Option<Box<dyn WebRtcDecoder>>,
    software: Option<Box<dyn WebRtcDecoder>>,
    make_software: SoftwareDecoderMaker,
    listener: Option<FallbackListener>,
    settings: Option<DecoderSettings>,
    failed_keyframes: u32,
}

impl fmt::Debug for FallbackDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackDecoder")
            .field("codec", &self.codec)
            .field("on_hardware", &self.hardware.is_some())
            .finish()
    }
}

impl FallbackDecoder {
    pub(crate) fn new(
        codec: CodecKind,
        hardware: Box<dyn WebRtcDecoder>,
        make_software: SoftwareDecoderMaker,
        listener: Option<FallbackListener>,
    ) -> Self {
        Self {
            codec,
            hardware: Some(hardware),
            software: None,
            make_software,
            listener,
            settings: None,
            failed_keyframes: 0,
        }
    }

    /// True while the hardware decoder is in use.
    pub fn on_hardware(&self) -> bool {
        self.hardware.is_some()
    }

    fn switch(&mut self, reason: FallbackReason) -> Result<(), AdapterError> {
        let from = self
            .hardware
            .take()
            .map(|mut h| {
                let name = h.decoder_info().implementation_name;
                h.release();
                name
            })
            .unwrap_or_default();
        let mut software = (self.make_software)()?;
        if let Some(s) = &self.settings {
            software.configure(s)?;
        }
        let to = software.decoder_info().implementation_name;
        self.software = Some(software);
        report(
            self.listener.as_ref(),
            Side::Decoder,
            self.codec,
            from,
            to,
            reason,
        );
        Ok(())
    }
}

impl WebRtcDecoder for FallbackDecoder {
    fn configure(&mut self, settings: &DecoderSettings) -> Result<(), AdapterError> {
        self.settings = Some(*settings);
        self.failed_keyframes = 0;
        if let Some(h) = self.hardware.as_mut() {
            match h.configure(settings) {
                Ok(()) => return Ok(()),
                Err(e @ AdapterError::Settings { .. }) => return Err(e),
                Err(e) => return self.switch(FallbackReason::InitFailed(e.to_string())),
            }
        }
        match self.software.as_mut() {
            Some(s) => s.configure(settings),
            None => Err(AdapterError::Uninitialized),
        }
    }

    fn decode(&mut self, image: &ReceivedImage) -> Result<DecodeResult, AdapterError> {
        if let Some(h) = self.hardware.as_mut() {
            let reason = match h.decode(image) {
                Ok(r @ DecodeResult::RequestKeyframe(_))
                    if is_keyframe(self.codec, &image.data) =>
                {
                    self.failed_keyframes += 1;
                    if self.failed_keyframes < MAX_FAILED_KEYFRAMES {
                        return Ok(r);
                    }
                    FallbackReason::KeyframesFailed(self.failed_keyframes)
                }
                Ok(r) => {
                    if matches!(r, DecodeResult::Picture(_)) {
                        self.failed_keyframes = 0;
                    }
                    return Ok(r);
                }
                Err(e @ AdapterError::Uninitialized) => return Err(e),
                Err(e) => FallbackReason::Error(e.to_string()),
            };
            self.switch(reason)?;
            // Software starts from a keyframe: this one, if it is.
            return match self.software.as_mut() {
                Some(s) => s.decode(image),
                None => Err(AdapterError::Uninitialized),
            };
        }
        match self.software.as_mut() {
            Some(s) => s.decode(image),
            None => Err(AdapterError::Uninitialized),
        }
    }

    fn decoder_info(&self) -> DecoderInfo {
        match (&self.hardware, &self.software) {
            (Some(h), _) => h.decoder_info(),
            (None, Some(s)) => s.decoder_info(),
            (None, None) => match (self.make_software)() {
                Ok(s) => s.decoder_info(),
                Err(_) => DecoderInfo::unknown(),
            },
        }
    }

    fn release(&mut self) {
        if let Some(h) = self.hardware.as_mut() {
            h.release();
        }
        if let Some(s) = self.software.as_mut() {
            s.release();
        }
    }
}
