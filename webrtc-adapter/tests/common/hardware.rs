//! A "hardware" encoder for tests: ours underneath (real output), reporting itself as hardware,
//! breaking as told — the ways VideoToolbox fails.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtvc_codec::Frame;
use rtvc_webrtc::encoder::{EncoderInfo, LossNotification, QpThresholds};
use rtvc_webrtc::fallback::FallbackEvent;
use rtvc_webrtc::format::VideoFormat;
use rtvc_webrtc::{
    AdapterError, EncodeResult, EncoderFactory, EncoderSettings, FrameDropReason,
    RateControlParameters, VideoFrameType, WebRtcEncoder,
};

use super::{encoder_factory, h264};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Breaks {
    Never,
    AtInit,
    /// Errors from this frame on.
    ErrorsFrom(u32),
    /// Produces nothing from this frame on.
    SilentFrom(u32),
}

pub fn hw_error() -> AdapterError {
    AdapterError::Codec(rtvc_codec::Error::Encoder {
        backend: "FakeVT",
        message: "kVTInvalidSessionErr (-12903)".into(),
    })
}

/// Our encoder dressed up as a hardware one that breaks as told.
pub struct FakeHardwareEncoder {
    inner: Box<dyn WebRtcEncoder>,
    breaks: Breaks,
    frames: u32,
}

impl WebRtcEncoder for FakeHardwareEncoder {
    fn encoder_info(&self) -> EncoderInfo {
        EncoderInfo::hardware("FakeVT", QpThresholds { low: 24, high: 37 }, 2)
    }
    fn init(&mut self, s: &EncoderSettings) -> Result<(), AdapterError> {
        if self.breaks == Breaks::AtInit {
            return Err(hw_error());
        }
        self.inner.init(s)
    }
    fn encode(&mut self, f: &Frame, t: &[VideoFrameType]) -> Result<EncodeResult, AdapterError> {
        self.frames += 1;
        match self.breaks {
            Breaks::ErrorsFrom(n) if self.frames > n => Err(hw_error()),
            Breaks::SilentFrom(n) if self.frames > n => {
                Ok(EncodeResult::Dropped(FrameDropReason::EncoderRateControl))
            }
            _ => self.inner.encode(f, t),
        }
    }
    fn set_rates(&mut self, p: &RateControlParameters) -> Result<(), AdapterError> {
        self.inner.set_rates(p)
    }
    fn on_packet_loss_rate(&mut self, f: f64) {
        self.inner.on_packet_loss_rate(f)
    }
    fn on_rtt(&mut self, rtt: Duration) {
        self.inner.on_rtt(rtt)
    }
    fn on_loss_notification(&mut self, n: LossNotification) {
        self.inner.on_loss_notification(n)
    }
    fn release(&mut self) {
        self.inner.release()
    }
}

pub type Events = Arc<Mutex<Vec<FallbackEvent>>>;

/// An encoder factory with the fake hardware registered for H.264 mode 1.
pub fn factory_with_hardware(breaks: Breaks, create_fails: bool) -> (EncoderFactory, Events) {
    let mut f = encoder_factory();
    f.register_hardware(h264(1), move |format: &VideoFormat| {
        if create_fails {
            return Err(hw_error());
        }
        Ok(Box::new(FakeHardwareEncoder {
            inner: encoder_factory().create(format)?,
            breaks,
            frames: 0,
        }) as Box<dyn WebRtcEncoder>)
    });
    let events: Events = Arc::default();
    let sink = Arc::clone(&events);
    f.set_fallback_listener(Arc::new(move |e: &FallbackEvent| {
        sink.lock().unwrap().push(e.clone())
    }));
    (f, events)
}
