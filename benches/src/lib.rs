//! Shared helpers for rtvc's benchmarks: loading clips into memory and measuring encoders the
//! same way `rtvc encode` does (time spent inside encode calls, ffmpeg-style PSNR of the decoded
//! output, bitrate over the clip's duration).

pub mod cost;
pub mod heap;
pub mod profile;

use std::path::Path;
use std::time::{Duration, Instant};

use rtvc_codec::quality::PsnrAccumulator;
use rtvc_codec::scale::Scaler;
use rtvc_codec::{
    CodecKind, CodecRegistry, DecoderConfig, EncodeOutcome, EncoderConfig, Frame, Packet,
    VideoDecoder,
};
use serde::Serialize;

/// The arguments the measuring binaries share: `[CLIP] [--reps N] [--json]`. The clip defaults
/// to the shared talking-head clip; when it is missing the process exits with status 2 and says
/// why.
#[derive(Debug, Clone)]
pub struct BenchArgs {
    /// The clip (H.264 Annex B).
    pub clip: std::path::PathBuf,
    /// Repetitions (the median is reported).
    pub reps: usize,
    /// JSON lines as well.
    pub json: bool,
}

impl BenchArgs {
    /// From the command line.
    pub fn from_env() -> Self {
        let mut args = std::env::args().skip(1);
        let (mut clip, mut reps, mut json) = (None, 3, false);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--reps" => reps = args.next().and_then(|v| v.parse().ok()).unwrap_or(3),
                "--json" => json = true,
                other => clip = Some(std::path::PathBuf::from(other)),
            }
        }
        let clip = clip.unwrap_or_else(|| {
            rtvc_testkit::shared::shared_dir()
                .unwrap_or_default()
                .join("clips/talking_head_1280x720_30fps.264")
        });
        if !clip.exists() {
            eprintln!(
                "{} not found (set RTVC_SHARED or pass a clip)",
                clip.display()
            );
            std::process::exit(2);
        }
        Self {
            clip,
            reps: reps.max(1),
            json,
        }
    }
}

/// Decodes an H.264 Annex B clip with our decoder and scales it to `size` (if given).
pub fn load_clip(
    path: &Path,
    size: Option<(u32, u32)>,
    limit: usize,
) -> Result<Vec<Frame>, String> {
    use rtvc_codec::h264::bitstream::AnnexBReader;
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = AnnexBReader::new(std::io::BufReader::new(f));
    let mut dec = CodecRegistry::with_builtin()
        .create_decoder(CodecKind::H264, &DecoderConfig::default())
        .map_err(|e| e.to_string())?;
    let mut scaler = Scaler::new();
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(au) = reader.next_access_unit().map_err(|e| e.to_string())? else {
            break;
        };
        if let Some(f) = dec.decode(&Packet::new(au, 0)).map_err(|e| e.to_string())? {
            let mut f = match size {
                Some((w, h)) if (w, h) != (f.width(), f.height()) => {
                    scaler.scale(&f, w, h).map_err(|e| e.to_string())?
                }
                _ => f,
            };
            f.set_timestamp_us((out.len() as f64 * 1e6 / 30.0).round() as i64);
            out.push(f);
        }
    }
    Ok(out)
}

/// One measured encoder run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// What ran.
    pub name: String,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Frames encoded (not dropped).
    pub frames: usize,
    /// Frames per second of encode-call time.
    pub fps: f64,
    /// Bitrate over the clip duration (30 fps).
    pub kbps: f64,
    /// ffmpeg-style PSNR `y`.
    pub psnr_y: f64,
    /// ffmpeg-style PSNR `average`.
    pub psnr_avg: f64,
    /// Encode-call latency percentiles, ms.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Keyframes produced.
    pub keyframes: usize,
}

/// Collects outputs of any encoder and turns them into a [`Run`].
#[derive(Debug)]
pub struct Measure {
    name: String,
    dec: Box<dyn VideoDecoder>,
    psnr: PsnrAccumulator,
    times: Vec<Duration>,
    bytes: usize,
    frames: usize,
    keyframes: usize,
    size: (u32, u32),
    inputs: usize,
}

impl Measure {
    /// Starts measuring an AV1 or H.264 encoder.
    pub fn new(name: &str, codec: CodecKind, size: (u32, u32)) -> Self {
        Self {
            name: name.to_string(),
            dec: CodecRegistry::with_builtin()
                .create_decoder(codec, &DecoderConfig::default())
                .expect("decoder"),
            psnr: PsnrAccumulator::new(),
            times: Vec::new(),
            bytes: 0,
            frames: 0,
            keyframes: 0,
            size,
            inputs: 0,
        }
    }

    /// Records one encode call's time.
    pub fn time(&mut self, t: Duration) {
        self.times.push(t);
        self.inputs += 1;
    }

    /// Records one output packet for `src`.
    pub fn output(&mut self, src: &Frame, data: &[u8], keyframe: bool) {
        self.bytes += data.len();
        self.frames += 1;
        self.keyframes += usize::from(keyframe);
        let pic = self
            .dec
            .decode(&Packet::new(data.to_vec(), src.timestamp_us()))
            .expect("decodable output")
            .expect("one picture per packet");
        self.psnr.add(src, &pic).expect("same size");
    }

    /// The finished run.
    pub fn finish(mut self) -> Run {
        let total: Duration = self.times.iter().sum();
        self.times.sort();
        let pct = |p: f64| {
            let i = ((p / 100.0) * self.times.len() as f64).ceil() as usize;
            self.times[i.clamp(1, self.times.len()) - 1].as_secs_f64() * 1e3
        };
        let r2 = |v: f64| (v * 100.0).round() / 100.0;
        Run {
            name: self.name,
            width: self.size.0,
            height: self.size.1,
            frames: self.frames,
            fps: r2(self.inputs as f64 / total.as_secs_f64()),
            kbps: r2(self.bytes as f64 * 8.0 / (self.inputs as f64 / 30.0) / 1e3),
            psnr_y: r2(self.psnr.psnr_y().unwrap_or(0.0)),
            psnr_avg: r2(self.psnr.psnr_avg().unwrap_or(0.0)),
            p50_ms: r2(pct(50.0)),
            p99_ms: r2(pct(99.0)),
            keyframes: self.keyframes,
        }
    }
}

/// Encodes `frames` with a registry encoder and measures it like `rtvc encode` does.
pub fn run_registry_encoder(
    name: &str,
    codec: CodecKind,
    frames: &[Frame],
    bps: u32,
    threads: u32,
) -> Run {
    let (w, h) = (frames[0].width(), frames[0].height());
    let mut cfg = EncoderConfig::new(codec, w, h, bps, 30.0);
    cfg.threads = Some(threads);
    let mut enc = CodecRegistry::with_builtin()
        .create_encoder_named(name, &cfg)
        .expect("encoder");
    let mut m = Measure::new(&format!("rtvc {name}"), codec, (w, h));
    for f in frames {
        let t0 = Instant::now();
        let out = enc.encode(f, false).expect("encode");
        m.time(t0.elapsed());
        if let EncodeOutcome::Encoded(e) = out {
            m.output(f, &e.data, e.keyframe);
        }
    }
    m.finish()
}
