//! What the criterion benchmarks share: the frame sizes and thread counts, bench ids that
//! `scripts/bench-table` can read, camera frames (the shared talking-head clip, or the synthetic
//! scene when the clip is missing, said loudly), and streams encoded from them.
//!
//! Bench ids are `<group>/<what>/<size>/t<threads>`, e.g. `encode/av1-libaom/720p/t2`: the size
//! is the frame height with a `p` (16:9 frames), `t1` / `t2` the threads the codec was given.

// Each bench binary uses part of this module.
#![allow(dead_code)]

use std::rc::Rc;
use std::sync::Once;
use std::time::Duration;

use rtvc_benches::load_clip;
use rtvc_codec::synthetic::SyntheticScene;
use rtvc_codec::{
    CodecKind, CodecRegistry, EncodeOutcome, EncodedFrame, EncoderConfig, Frame, Packet,
};

/// A frame size the benchmarks run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Size {
    /// 640x360.
    pub const P360: Size = Size::new(640, 360);
    /// 960x540.
    pub const P540: Size = Size::new(960, 540);
    /// 1280x720.
    pub const P720: Size = Size::new(1280, 720);
    /// 1920x1080.
    pub const P1080: Size = Size::new(1920, 1080);

    const fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }

    /// `720p`.
    pub fn label(self) -> String {
        format!("{}p", self.height)
    }

    /// Pixels per frame.
    pub fn pixels(self) -> usize {
        self.width as usize * self.height as usize
    }

    /// The bitrate a call sends at this size, bits/s: 400 kbps at 360p and 1.2 Mbps at 720p
    /// (the README's figures), 700 kbps at 540p, 2.5 Mbps at 1080p.
    pub fn call_bitrate(self) -> u32 {
        match self.height {
            0..=360 => 400_000,
            361..=540 => 700_000,
            541..=720 => 1_200_000,
            _ => 2_500_000,
        }
    }
}

/// The sizes the issue asks for.
pub const SIZES: [Size; 4] = [Size::P360, Size::P540, Size::P720, Size::P1080];

/// Thread counts for the codecs that use threads (libaom, rav1e, dav1d).
pub const THREADS: [u32; 2] = [1, 2];

/// The id of one benchmark inside its group: `av1-libaom/720p/t2`.
pub fn bench_id(what: &str, size: Size, threads: u32) -> String {
    format!("{what}/{}/t{threads}", size.label())
}

/// Distinct camera frames per size (played forwards and backwards, see [`ping_pong`]).
pub const CAMERA_FRAMES: usize = 60;

/// Frames in the streams the decode benchmarks cycle through: 8 s at 30 fps, one keyframe (the
/// first) and 239 inter frames.
pub const STREAM_FRAMES: usize = 240;

/// The frame of a sequence of `len` frames shown `n`-th when it is played forwards, then
/// backwards, and so on (0 1 … len-1 len-2 … 1 0 1 …): the motion reverses but never jumps, so
/// every frame after the first is an ordinary inter frame for an encoder.
pub fn ping_pong(n: u64, len: usize) -> usize {
    if len < 2 {
        return 0;
    }
    let period = 2 * (len as u64 - 1);
    let k = n % period;
    (if k < len as u64 { k } else { period - k }) as usize
}

/// Capture time of the `n`-th frame at 30 frames/s, microseconds.
pub fn timestamp_us(n: u64) -> i64 {
    (n as f64 * 1e6 / 30.0).round() as i64
}

/// The shared clip the camera frames come from, if it is there: the 1080p talking head (scaled
/// down for the smaller sizes), else its 720p version.
fn clip() -> Option<std::path::PathBuf> {
    let dir = rtvc_testkit::shared::shared_dir()?.join("clips");
    [
        "talking_head_1920x1080_30fps.264",
        "talking_head_1280x720_30fps.264",
    ]
    .into_iter()
    .map(|name| dir.join(name))
    .find(|path| path.is_file())
}

/// [`CAMERA_FRAMES`] camera frames of `size`: the talking-head clip, or the synthetic scene when
/// the clip is missing (which is printed, once, on stderr: encode costs then differ from a
/// camera's).
pub fn camera_frames(size: Size) -> Vec<Frame> {
    static SOURCE: Once = Once::new();
    if let Some(path) = clip() {
        match load_clip(&path, Some((size.width, size.height)), CAMERA_FRAMES) {
            Ok(frames) if frames.len() == CAMERA_FRAMES => {
                SOURCE.call_once(|| {
                    eprintln!(
                        "camera frames: {} ({CAMERA_FRAMES} frames, scaled to each size)",
                        path.display()
                    );
                });
                return frames;
            }
            Ok(frames) => eprintln!(
                "{}: only {} frames decoded, {CAMERA_FRAMES} needed",
                path.display(),
                frames.len()
            ),
            Err(e) => eprintln!("{}: {e}", path.display()),
        }
    }
    SOURCE.call_once(|| {
        eprintln!(
            "\n*** The talking-head clip was not found (set RTVC_SHARED to the shared data folder):\n\
             *** benchmarking the SYNTHETIC scene instead. Encode and decode costs differ from a\n\
             *** camera's; do not compare these figures with runs on the clip.\n"
        );
    });
    let scene = SyntheticScene::new(size.width, size.height, 30.0).expect("benchmark size");
    (0..CAMERA_FRAMES as u64).map(|n| scene.frame(n)).collect()
}

/// Camera frames of one size, loaded on first use and kept until another size is asked for
/// (60 frames of 1080p are 190 MB; the benchmarks go through the sizes in order). Loading only
/// when a benchmark runs keeps a filtered run (`cargo bench ... -- encode/av1-libaom/360p`) short.
#[derive(Debug, Default)]
pub struct CameraCache {
    frames: Option<(Size, Rc<Vec<Frame>>)>,
}

impl CameraCache {
    /// The frames of `size`.
    pub fn get(&mut self, size: Size) -> Rc<Vec<Frame>> {
        match &self.frames {
            Some((s, frames)) if *s == size => Rc::clone(frames),
            _ => {
                self.frames = None;
                let frames = Rc::new(camera_frames(size));
                self.frames = Some((size, Rc::clone(&frames)));
                frames
            }
        }
    }
}

/// A camera delivering the cached frames forwards and backwards ([`ping_pong`]) with capture
/// times 1/30 s apart, without end.
#[derive(Debug)]
pub struct Camera {
    frames: Rc<Vec<Frame>>,
    n: u64,
}

impl Camera {
    /// Starts at frame `start` of the ping-pong order.
    pub fn new(frames: Rc<Vec<Frame>>, start: u64) -> Self {
        Self { frames, n: start }
    }

    /// The next frame (a clone: it shares the pixels, only the timestamp is its own).
    pub fn next_frame(&mut self) -> Frame {
        let mut f = self.frames[ping_pong(self.n, self.frames.len())].clone();
        f.set_timestamp_us(timestamp_us(self.n));
        self.n += 1;
        f
    }
}

/// The encoder configuration of the benchmarks: a call's bitrate for the size, the given
/// threads, frame dropping off (every frame is encoded, so every frame costs the same kind of
/// work).
pub fn encoder_config(codec: CodecKind, size: Size, threads: u32) -> EncoderConfig {
    let mut cfg = EncoderConfig::new(codec, size.width, size.height, size.call_bitrate(), 30.0);
    cfg.threads = Some(threads);
    cfg.frame_dropping = false;
    cfg
}

/// What a peer sends: `count` frames of the camera (starting at `start` in ping-pong order)
/// encoded by `backend` with 2 threads (libaom: 2 tile columns), beginning with a keyframe.
pub fn encode_stream(
    backend: &str,
    codec: CodecKind,
    frames: Rc<Vec<Frame>>,
    start: u64,
    count: usize,
) -> Vec<EncodedFrame> {
    let size = Size::new(frames[0].width(), frames[0].height());
    let mut enc = CodecRegistry::with_builtin()
        .create_encoder_named(backend, &encoder_config(codec, size, 2))
        .expect("encoder");
    let mut camera = Camera::new(frames, start);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        match enc.encode(&camera.next_frame(), false).expect("encode") {
            EncodeOutcome::Encoded(e) => out.push(e),
            other => panic!("{backend}: a call encoder returned {other:?}"),
        }
    }
    assert!(
        out[0].keyframe,
        "{backend}: the stream must start with a keyframe"
    );
    out
}

/// A received stream played in a loop, with capture times that keep increasing.
#[derive(Debug)]
pub struct Incoming {
    frames: Rc<Vec<EncodedFrame>>,
    n: u64,
}

impl Incoming {
    /// From the start of `frames` (which begin with a keyframe).
    pub fn new(frames: Rc<Vec<EncodedFrame>>) -> Self {
        Self { frames, n: 0 }
    }

    /// The next packet.
    pub fn next_packet(&mut self) -> Packet {
        let e = &self.frames[(self.n % self.frames.len() as u64) as usize];
        let mut p = Packet::from(e);
        p.timestamp_us = timestamp_us(self.n);
        self.n += 1;
        p
    }
}

/// Criterion's settings for a bench file: `samples` samples, 1 s of warm-up, `measure` of
/// measurement per benchmark (`--warm-up-time` / `--measurement-time` on the command line
/// override them).
pub fn criterion(samples: usize, measure: Duration) -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(samples)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measure)
}
