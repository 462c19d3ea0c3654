//! Wrapper overhead check: the same frames through a *direct* libaom realtime call and through
//! rtvc's `AomEncoder`, in one run, alternating, measured identically.
//!
//! ```text
//! cargo run --release -p rtvc-benches --bin aom-direct [-- CLIP] [--reps N] [--json]
//! ```
//!
//! The direct call is the plain configuration the performance targets were measured with:
//! `AOM_USAGE_REALTIME` defaults plus the speed `AomEncoder` picks at the size (8 at 360p, 10
//! at 720p), CBR, `g_lag_in_frames = 0`, aq-mode 3 and 2 threads. Both sides get the same
//! decoded (and for 360p, scaled) frames from memory; time is counted inside the encode calls
//! only; PSNR is ffmpeg-style against the encoder input; bitrate is over the clip's duration at
//! 30 fps.
//!
//! This binary is a direct C call by design, so `unsafe` is allowed here (each block says why).
#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::os::raw::c_int;
use std::time::Instant;

use libaom_sys as aom;
use rtvc_benches::{BenchArgs, Measure, Run, load_clip, run_registry_encoder};
use rtvc_codec::{CodecKind, Frame};

/// Encodes `frames` with plain libaom realtime settings, straight through the C API.
fn direct(frames: &[Frame], kbps: u32, threads: u32) -> Run {
    let (w, h) = (frames[0].width(), frames[0].height());
    let mut m = Measure::new("direct libaom", CodecKind::Av1, (w, h));
    // SAFETY: plain C structs, zero is valid; libaom fills them.
    let mut cfg: aom::aom_codec_enc_cfg_t = unsafe { MaybeUninit::zeroed().assume_init() };
    // SAFETY: as above.
    let mut ctx: aom::aom_codec_ctx_t = unsafe { MaybeUninit::zeroed().assume_init() };
    // SAFETY: valid interface and output struct.
    let r = unsafe {
        aom::aom_codec_enc_config_default(
            aom::aom_codec_av1_cx(),
            &mut cfg,
            aom::AOM_USAGE_REALTIME,
        )
    };
    assert_eq!(r, aom::AOM_CODEC_OK);
    cfg.g_w = w;
    cfg.g_h = h;
    cfg.g_threads = threads;
    cfg.g_timebase = aom::aom_rational { num: 1, den: 30 };
    cfg.g_lag_in_frames = 0;
    cfg.g_pass = aom::AOM_RC_ONE_PASS;
    cfg.rc_end_usage = aom::AOM_CBR;
    cfg.rc_target_bitrate = kbps;
    // SAFETY: ctx/cfg valid; ABI version from the same headers.
    let r = unsafe {
        aom::aom_codec_enc_init_ver(
            &mut ctx,
            aom::aom_codec_av1_cx(),
            &cfg,
            0,
            aom::AOM_ENCODER_ABI_VERSION as c_int,
        )
    };
    assert_eq!(r, aom::AOM_CODEC_OK);
    // The speed `AomEncoder` picks at this size.
    let speed = if w * h <= 640 * 360 { 8 } else { 10 };
    for (id, v) in [(aom::AOME_SET_CPUUSED, speed), (aom::AV1E_SET_AQ_MODE, 3)] {
        // SAFETY: live context; int controls.
        let r = unsafe { aom::aom_codec_control(&mut ctx, id as c_int, v as c_int) };
        assert_eq!(r, aom::AOM_CODEC_OK);
    }
    for (i, f) in frames.iter().enumerate() {
        // SAFETY: zeroed image, then wrapped and pointed at the frame's planes (read-only use).
        let mut img: aom::aom_image_t = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: see above.
        unsafe {
            aom::aom_img_wrap(
                &mut img,
                aom::AOM_IMG_FMT_I420,
                w,
                h,
                1,
                f.y().as_ptr().cast_mut(),
            )
        };
        img.planes = [
            f.y().as_ptr().cast_mut(),
            f.u().as_ptr().cast_mut(),
            f.v().as_ptr().cast_mut(),
        ];
        img.stride = [
            f.y_stride() as c_int,
            f.uv_stride() as c_int,
            f.uv_stride() as c_int,
        ];
        let t0 = Instant::now();
        // SAFETY: live context; img describes valid planes.
        let r = unsafe { aom::aom_codec_encode(&mut ctx, &img, i as i64, 1, 0) };
        assert_eq!(r, aom::AOM_CODEC_OK);
        let mut out: Vec<u8> = Vec::new();
        let mut key = false;
        let mut iter: aom::aom_codec_iter_t = std::ptr::null();
        loop {
            // SAFETY: live context.
            let pkt = unsafe { aom::aom_codec_get_cx_data(&mut ctx, &mut iter) };
            if pkt.is_null() {
                break;
            }
            // SAFETY: valid packet until the next call.
            let pkt = unsafe { &*pkt };
            if pkt.kind == aom::AOM_CODEC_CX_FRAME_PKT {
                // SAFETY: frame member is active for CX_FRAME packets.
                let fr = unsafe { pkt.data.frame };
                // SAFETY: buf/sz describe libaom-owned readable memory.
                out.extend_from_slice(unsafe {
                    std::slice::from_raw_parts(fr.buf as *const u8, fr.sz)
                });
                key |= fr.flags & aom::AOM_FRAME_IS_KEY != 0;
            }
        }
        m.time(t0.elapsed());
        if !out.is_empty() {
            m.output(f, &out, key);
        }
    }
    // SAFETY: live context, destroyed once.
    unsafe { aom::aom_codec_destroy(&mut ctx) };
    m.finish()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let BenchArgs { clip, reps, json } = BenchArgs::from_env();
    for (size, kbps) in [((1280, 720), 1200u32), ((640, 360), 400u32)] {
        let frames = load_clip(&clip, Some(size), 10_000).expect("clip");
        let mut runs: Vec<Run> = Vec::new();
        for _ in 0..reps {
            runs.push(direct(&frames, kbps, 2));
            runs.push(run_registry_encoder(
                "libaom",
                CodecKind::Av1,
                &frames,
                kbps * 1000,
                2,
            ));
        }
        for r in &runs {
            if json {
                println!("{}", serde_json::to_string(r).expect("json"));
            }
        }
        let pick = |name: &str| -> Vec<&Run> { runs.iter().filter(|r| r.name == name).collect() };
        let (d, o) = (pick("direct libaom"), pick("rtvc libaom"));
        let mut dfps: Vec<f64> = d.iter().map(|r| r.fps).collect();
        let mut ofps: Vec<f64> = o.iter().map(|r| r.fps).collect();
        let (dm, om) = (median(&mut dfps), median(&mut ofps));
        println!(
            "{}x{} @ {} kbps, {} frames, {} reps (median fps):",
            size.0,
            size.1,
            kbps,
            frames.len(),
            reps
        );
        for (label, r, fps) in [("direct libaom", d[0], dm), ("rtvc AomEncoder", o[0], om)] {
            println!(
                "  {label:16} {fps:7.1} fps  {:7.1} kbps ({:+.1} %)  PSNR y {:.2} avg {:.2} dB  p99 {:.1} ms  keyframes {}",
                r.kbps,
                100.0 * (r.kbps / kbps as f64 - 1.0),
                r.psnr_y,
                r.psnr_avg,
                r.p99_ms,
                r.keyframes
            );
        }
        println!(
            "  wrapper vs direct: speed {:+.1} %, PSNR avg {:+.2} dB",
            100.0 * (om / dm - 1.0),
            o[0].psnr_avg - d[0].psnr_avg
        );
    }
}
