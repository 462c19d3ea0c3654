//! Shared harness for the adapter's tests: factories over the built-in codecs, frames from the
//! synthetic scene with capture times, and a decoder to check what the encoder produced.
#![allow(dead_code)]

use std::sync::Arc;

use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{CodecRegistry, Frame};
use rtvc_webrtc::format::VideoFormat;
use rtvc_webrtc::{
    DecodeResult, DecoderFactory, DecoderSettings, EncodeResult, EncodedImage, EncoderFactory,
    EncoderSettings, ReceivedImage, WebRtcDecoder, WebRtcEncoder,
};

pub fn registry() -> Arc<CodecRegistry> {
    Arc::new(CodecRegistry::with_builtin())
}

pub fn encoder_factory() -> EncoderFactory {
    EncoderFactory::new(registry())
}

pub fn decoder_factory() -> DecoderFactory {
    DecoderFactory::new(registry())
}

/// The formats a call would negotiate first for each codec.
pub fn av1() -> VideoFormat {
    VideoFormat::av1()
}

pub fn h264(mode: u8) -> VideoFormat {
    VideoFormat::h264("42e01f", mode)
}

/// Frames of the synthetic scene at 30 fps, capture time n / 30 s.
pub struct Camera {
    scene: SyntheticScene,
    pub n: u64,
}

impl Camera {
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            scene: SyntheticScene::new(width, height, 30.0).unwrap(),
            n: 0,
        }
    }

    pub fn next(&mut self) -> Frame {
        let f = self.scene.frame(self.n);
        self.n += 1;
        f
    }
}

/// An initialised encoder for `format`.
pub fn started_encoder(format: &VideoFormat, settings: &EncoderSettings) -> Box<dyn WebRtcEncoder> {
    let mut e = encoder_factory().create(format).unwrap();
    e.init(settings).unwrap();
    e
}

/// A configured decoder for `format`.
pub fn started_decoder(format: &VideoFormat) -> Box<dyn WebRtcDecoder> {
    let mut d = decoder_factory().create(format).unwrap();
    d.configure(&DecoderSettings::new(1280, 720, 2)).unwrap();
    d
}

/// Encodes one frame and expects an image.
pub fn encoded(result: EncodeResult) -> EncodedImage {
    match result {
        EncodeResult::Encoded(e) => e,
        other => panic!("expected an encoded image, got {other:?}"),
    }
}

/// Hands an encoded image to a decoder as the receiver would.
pub fn receive(image: &EncodedImage, missing_frames: bool) -> ReceivedImage {
    ReceivedImage {
        data: image.data.clone(),
        capture_time_us: image.capture_time_us,
        rotation: image.rotation,
        missing_frames,
    }
}

/// Decodes and expects a picture.
pub fn picture(decoder: &mut dyn WebRtcDecoder, image: &EncodedImage) -> Frame {
    match decoder.decode(&receive(image, false)).unwrap() {
        DecodeResult::Picture(f) => f,
        other => panic!("expected a picture, got {other:?}"),
    }
}
pub mod call;
pub mod hardware;
