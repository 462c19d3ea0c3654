//! Shared helpers for the codec integration tests.
#![allow(dead_code)]

use rtvc_codec::quality::PsnrAccumulator;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncodedFrame, EncoderConfig, Frame,
    Packet, Rates, VideoDecoder, VideoEncoder,
};

pub fn rates_30fps(bitrate_bps: u32) -> Rates {
    Rates {
        bitrate_bps,
        framerate: 30.0,
    }
}

pub fn registry() -> CodecRegistry {
    CodecRegistry::with_builtin()
}

pub fn encoder(name: &str, codec: CodecKind, w: u32, h: u32, bps: u32) -> Box<dyn VideoEncoder> {
    let mut cfg = EncoderConfig::new(codec, w, h, bps, 30.0);
    cfg.threads = Some(2);
    // Tests count frames: the encoders' own frame dropping is exercised separately.
    cfg.frame_dropping = false;
    registry().create_encoder_named(name, &cfg).unwrap()
}

pub fn decoder(codec: CodecKind) -> Box<dyn VideoDecoder> {
    registry()
        .create_decoder(codec, &DecoderConfig::default())
        .unwrap()
}

/// Encodes `frames` synthetic frames and returns everything that came out, in order, flushing
/// delayed encoders at the end. Also returns the source frames by timestamp.
pub fn encode_scene(
    enc: &mut dyn VideoEncoder,
    w: u32,
    h: u32,
    frames: u64,
    force_key_at: &[u64],
) -> (Vec<EncodedFrame>, Vec<Frame>) {
    let scene = SyntheticScene::new(w, h, 30.0).unwrap();
    let mut out = Vec::new();
    let mut src = Vec::new();
    for n in 0..frames {
        let f = scene.frame(n);
        match enc.encode(&f, force_key_at.contains(&n)).unwrap() {
            EncodeOutcome::Encoded(e) => out.push(e),
            EncodeOutcome::Queued => {}
            other => panic!("frame {n}: unexpected {other:?}"),
        }
        out.extend(enc.take_ready());
        src.push(f);
    }
    out.extend(enc.flush().unwrap());
    (out, src)
}

/// Decodes all packets; returns decoded frames and the PSNR against the matching sources
/// (matched by timestamp).
pub fn decode_all(
    dec: &mut dyn VideoDecoder,
    packets: &[EncodedFrame],
    sources: &[Frame],
) -> (Vec<Frame>, PsnrAccumulator) {
    let mut acc = PsnrAccumulator::new();
    let mut frames = Vec::new();
    for p in packets {
        let f = dec
            .decode(&Packet::from(p))
            .unwrap_or_else(|e| panic!("decode of frame at {} failed: {e}", p.timestamp_us))
            .expect("one frame out per packet");
        let src = sources
            .iter()
            .find(|s| s.timestamp_us() == f.timestamp_us())
            .expect("decoded timestamp matches a source frame");
        acc.add(src, &f).unwrap();
        frames.push(f);
    }
    (frames, acc)
}
