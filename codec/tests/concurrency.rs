//! Many encoders and decoders at once (a 4-party mesh call runs 1 encoder + 3 decoders per
//! codec; we run 8 of each): every stream must come out exactly as when it runs alone, which
//! catches shared state in the libraries or in our wrappers.

use std::sync::{Arc, Barrier};

use rtvc_codec::quality::FrameMd5;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncodedFrame, EncoderConfig, Packet,
};

#[derive(Debug, Clone, Copy)]
struct Job {
    encoder: &'static str,
    codec: CodecKind,
    w: u32,
    h: u32,
    bps: u32,
}

const JOBS: [Job; 8] = [
    Job {
        encoder: "libaom",
        codec: CodecKind::Av1,
        w: 176,
        h: 144,
        bps: 200_000,
    },
    Job {
        encoder: "libaom",
        codec: CodecKind::Av1,
        w: 320,
        h: 180,
        bps: 400_000,
    },
    Job {
        encoder: "libaom",
        codec: CodecKind::Av1,
        w: 161,
        h: 97,
        bps: 150_000,
    },
    Job {
        encoder: "libaom",
        codec: CodecKind::Av1,
        w: 240,
        h: 136,
        bps: 300_000,
    },
    Job {
        encoder: "openh264",
        codec: CodecKind::H264,
        w: 176,
        h: 144,
        bps: 200_000,
    },
    Job {
        encoder: "openh264",
        codec: CodecKind::H264,
        w: 320,
        h: 180,
        bps: 400_000,
    },
    Job {
        encoder: "openh264",
        codec: CodecKind::H264,
        w: 162,
        h: 98,
        bps: 150_000,
    },
    Job {
        encoder: "openh264",
        codec: CodecKind::H264,
        w: 240,
        h: 136,
        bps: 300_000,
    },
];

const FRAMES: u64 = 20;

/// Encodes a job's stream (deterministic: one thread, no frame dropping).
fn encode(job: Job, barrier: Option<&Barrier>) -> Vec<EncodedFrame> {
    let mut cfg = EncoderConfig::new(job.codec, job.w, job.h, job.bps, 30.0);
    cfg.threads = Some(1);
    cfg.frame_dropping = false;
    let mut enc = CodecRegistry::with_builtin()
        .create_encoder_named(job.encoder, &cfg)
        .unwrap();
    let scene = SyntheticScene::new(job.w, job.h, 30.0).unwrap();
    if let Some(b) = barrier {
        b.wait();
    }
    (0..FRAMES)
        .map(|n| match enc.encode(&scene.frame(n), n == 10).unwrap() {
            EncodeOutcome::Encoded(e) => e,
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Decodes a stream; MD5 of the pictures.
fn decode(codec: CodecKind, packets: &[EncodedFrame], barrier: Option<&Barrier>) -> String {
    let mut cfg = DecoderConfig::default();
    cfg.threads = Some(1);
    let mut dec = CodecRegistry::with_builtin()
        .create_decoder(codec, &cfg)
        .unwrap();
    if let Some(b) = barrier {
        b.wait();
    }
    let mut md5 = FrameMd5::new();
    for p in packets {
        md5.add(&dec.decode(&Packet::from(p)).unwrap().unwrap());
    }
    assert_eq!(md5.frames(), FRAMES);
    md5.hex()
}

#[test]
fn eight_encoders_and_eight_decoders_at_once() {
    // Alone, one after the other.
    let alone: Vec<Vec<EncodedFrame>> = JOBS.iter().map(|&j| encode(j, None)).collect();
    let alone_md5: Vec<String> = JOBS
        .iter()
        .zip(&alone)
        .map(|(j, p)| decode(j.codec, p, None))
        .collect();

    // All at once: 8 encoders re-encoding and 8 decoders decoding the reference streams,
    // released together by a barrier.
    let barrier = Arc::new(Barrier::new(2 * JOBS.len()));
    let alone = Arc::new(alone);
    let mut encoders = Vec::new();
    let mut decoders = Vec::new();
    for (i, &job) in JOBS.iter().enumerate() {
        let b = Arc::clone(&barrier);
        encoders.push(std::thread::spawn(move || encode(job, Some(&b))));
        let b = Arc::clone(&barrier);
        let streams = Arc::clone(&alone);
        decoders.push(std::thread::spawn(move || {
            decode(job.codec, &streams[i], Some(&b))
        }));
    }
    for (i, (e, d)) in encoders.into_iter().zip(decoders).enumerate() {
        let together = e.join().expect("encoder thread panicked");
        let payloads = |v: &[EncodedFrame]| v.iter().map(|f| f.data.clone()).collect::<Vec<_>>();
        assert!(
            payloads(&together) == payloads(&alone[i]),
            "{:?}: concurrent encode differs from the same encode alone",
            JOBS[i]
        );
        assert_eq!(
            d.join().expect("decoder thread panicked"),
            alone_md5[i],
            "{:?}: concurrent decode differs",
            JOBS[i]
        );
    }
}
