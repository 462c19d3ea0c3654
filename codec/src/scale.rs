//! Frame scaling (camera 1080p → 720p, and the lower rungs rate control steps down to).
//!
//! We use [`pic-scale`](https://crates.io/crates/pic-scale): it is maintained, pure Rust with
//! AVX2/SSE4.1/NEON kernels for 8-bit planar images, and it separates *planning* (computing the
//! filter weights for a source → destination size) from *running* the plan with a caller-owned
//! scratch buffer. A [`Scaler`] keeps the plans and the scratch buffer for the last size pair,
//! so scaling a stream of same-sized frames allocates nothing per frame.
//! (`fast_image_resize` was the other candidate; it is as fast, but recomputes its filter
//! coefficients per call and its image views want contiguous rows.)
//!
//! Luma and both chroma planes are resampled independently with a bilinear (triangle) filter
//! whose support widens with the downscale ratio, i.e. it averages over the source area instead of
//! skipping pixels: good enough for video and far cheaper than Lanczos.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use pic_scale::{
    BufferStore, ImageSize, ImageStore, ImageStoreMut, Resampling, ResamplingFunction,
    Scaler as Planner,
};

use crate::error::FrameError;
use crate::frame::{Frame, FramePool};

struct Plans {
    src: (u32, u32),
    dst: (u32, u32),
    luma: Arc<Resampling<u8, 1>>,
    chroma: Arc<Resampling<u8, 1>>,
}

/// Scales I420 frames, caching the filter plans for the last source/destination sizes.
pub struct Scaler {
    planner: Planner,
    plans: Option<Plans>,
    scratch: Vec<u8>,
    pool: FramePool,
}

impl fmt::Debug for Scaler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scaler")
            .field("src", &self.plans.as_ref().map(|p| p.src))
            .field("dst", &self.plans.as_ref().map(|p| p.dst))
            .finish()
    }
}

impl Default for Scaler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scaler {
    /// A scaler with its own small output pool.
    pub fn new() -> Self {
        Self {
            planner: Planner::new(ResamplingFunction::Bilinear),
            plans: None,
            scratch: Vec::new(),
            pool: FramePool::new(3),
        }
    }

    fn plans_for(&mut self, src: (u32, u32), dst: (u32, u32)) -> Result<&Plans, FrameError> {
        let fresh = match &self.plans {
            Some(p) => p.src != src || p.dst != dst,
            None => true,
        };
        if fresh {
            let size = |w: u32, h: u32| ImageSize::new(w as usize, h as usize);
            let err = |e: pic_scale::PicScaleError| FrameError::Scaling(e.to_string());
            let luma = self
                .planner
                .plan_planar_resampling(size(src.0, src.1), size(dst.0, dst.1))
                .map_err(err)?;
            let chroma = self
                .planner
                .plan_planar_resampling(
                    size(src.0.div_ceil(2), src.1.div_ceil(2)),
                    size(dst.0.div_ceil(2), dst.1.div_ceil(2)),
                )
                .map_err(err)?;
            let need = luma.scratch_size().max(chroma.scratch_size());
            if self.scratch.len() < need {
                self.scratch.resize(need, 0);
            }
            self.plans = Some(Plans {
                src,
                dst,
                luma,
                chroma,
            });
        }
        Ok(self.plans.as_ref().expect("plans were just set"))
    }

    /// Scales `src` into `dst` (any sizes, including up-scaling). Timestamp, rotation and colour
    /// space are copied.
    pub fn scale_into(&mut self, src: &Frame, dst: &mut Frame) -> Result<(), FrameError> {
        dst.copy_metadata_from(src);
        if src.width() == dst.width() && src.height() == dst.height() {
            let (ys, uvs) = (dst.y_stride(), dst.uv_stride());
            let (w, cw) = (src.width() as usize, src.chroma_width() as usize);
            let (y, u, v) = dst.planes_mut();
            for r in 0..src.height() as usize {
                y[r * ys..r * ys + w].copy_from_slice(src.y_row(r));
            }
            for r in 0..src.chroma_height() as usize {
                u[r * uvs..r * uvs + cw].copy_from_slice(src.u_row(r));
                v[r * uvs..r * uvs + cw].copy_from_slice(src.v_row(r));
            }
            return Ok(());
        }
        let src_size = (src.width(), src.height());
        let dst_size = (dst.width(), dst.height());
        self.plans_for(src_size, dst_size)?;
        let plans = self.plans.as_ref().expect("plans exist");
        let scratch = &mut self.scratch;
        let (dys, duvs) = (dst.y_stride(), dst.uv_stride());
        let (dcw, dch) = (dst.chroma_width() as usize, dst.chroma_height() as usize);
        let (dw, dh) = (dst.width() as usize, dst.height() as usize);
        let (scw, sch) = (src.chroma_width() as usize, src.chroma_height() as usize);
        let (sw, sh) = (src.width() as usize, src.height() as usize);
        let (dy, du, dv) = dst.planes_mut();
        let run = |plan: &Arc<Resampling<u8, 1>>,
                   s: &[u8],
                   s_stride: usize,
                   sw: usize,
                   sh: usize,
                   d: &mut [u8],
                   d_stride: usize,
                   dw: usize,
                   dh: usize,
                   scratch: &mut [u8]|
         -> Result<(), FrameError> {
            if (sw, sh) == (dw, dh) {
                // pic-scale's plan for equal sizes does nothing at all: copy the rows.
                for r in 0..sh {
                    d[r * d_stride..r * d_stride + sw]
                        .copy_from_slice(&s[r * s_stride..r * s_stride + sw]);
                }
                return Ok(());
            }
            let store = ImageStore::<u8, 1> {
                buffer: Cow::Borrowed(s),
                channels: 1,
                width: sw,
                height: sh,
                stride: s_stride,
                bit_depth: 8,
            };
            let mut out = ImageStoreMut::<u8, 1> {
                buffer: BufferStore::Borrowed(d),
                channels: 1,
                width: dw,
                height: dh,
                stride: d_stride,
                bit_depth: 8,
            };
            plan.resample_with_scratch(&store, &mut out, scratch)
                .map_err(|e| FrameError::Scaling(e.to_string()))
        };
        run(
            &plans.luma,
            src.y(),
            src.y_stride(),
            sw,
            sh,
            dy,
            dys,
            dw,
            dh,
            scratch,
        )?;
        run(
            &plans.chroma,
            src.u(),
            src.uv_stride(),
            scw,
            sch,
            du,
            duvs,
            dcw,
            dch,
            scratch,
        )?;
        run(
            &plans.chroma,
            src.v(),
            src.uv_stride(),
            scw,
            sch,
            dv,
            duvs,
            dcw,
            dch,
            scratch,
        )?;
        Ok(())
    }

    /// Scales `src` to `width`x`height` into a frame from the scaler's pool.
    pub fn scale(&mut self, src: &Frame, width: u32, height: u32) -> Result<Frame, FrameError> {
        let mut dst = self.pool.frame(width, height)?;
        self.scale_into(src, &mut dst)?;
        Ok(dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gradient(w: u32, h: u32) -> Frame {
        let mut f = Frame::new(w, h).unwrap();
        let (ys, uvs) = (f.y_stride(), f.uv_stride());
        let (cw, ch) = (f.chroma_width() as usize, f.chroma_height() as usize);
        let (y, u, v) = f.planes_mut();
        for r in 0..h as usize {
            for c in 0..w as usize {
                y[r * ys + c] = (16 + (c * 200) / w as usize) as u8;
            }
        }
        for r in 0..ch {
            for c in 0..cw {
                u[r * uvs + c] = (64 + (r * 100) / ch) as u8;
                v[r * uvs + c] = 128;
            }
        }
        f
    }

    proptest! {
        /// Any size to any size: right output size, and a flat picture stays flat.
        #[test]
        fn flat_stays_flat(sw in 1u32..80, sh in 1u32..80, dw in 1u32..80, dh in 1u32..80,
                           y in 16u8..236, u in 16u8..241, v in 16u8..241) {
            let mut src = Frame::new(sw, sh).unwrap();
            src.fill(y, u, v);
            src.set_timestamp_us(42);
            let mut s = Scaler::new();
            let out = s.scale(&src, dw, dh).unwrap();
            prop_assert_eq!((out.width(), out.height()), (dw, dh));
            prop_assert_eq!(out.timestamp_us(), 42);
            for r in 0..dh as usize {
                for &p in out.y_row(r) { prop_assert!(p.abs_diff(y) <= 1, "y {} vs {}", p, y); }
            }
            for r in 0..out.chroma_height() as usize {
                for &p in out.u_row(r) { prop_assert!(p.abs_diff(u) <= 1); }
                for &p in out.v_row(r) { prop_assert!(p.abs_diff(v) <= 1); }
            }
        }

        /// Downscaling keeps the mean brightness of a gradient (area-averaging, not skipping).
        #[test]
        fn downscale_keeps_mean(sw in 32u32..200, sh in 32u32..200, div in 2u32..5) {
            let src = gradient(sw, sh);
            let mean = |f: &Frame| {
                let mut s = 0u64;
                for r in 0..f.height() as usize { s += f.y_row(r).iter().map(|&p| p as u64).sum::<u64>(); }
                s as f64 / (f.width() as f64 * f.height() as f64)
            };
            let out = Scaler::new().scale(&src, (sw / div).max(1), (sh / div).max(1)).unwrap();
            prop_assert!((mean(&src) - mean(&out)).abs() < 3.0, "{} vs {}", mean(&src), mean(&out));
        }
    }

    #[test]
    fn chroma_is_written_when_only_luma_changes_size() {
        // 640x360 -> 639x359 keeps the chroma planes at 320x180: every output plane must still
        // be written, whatever the pooled buffer held before.
        let src = gradient(640, 360);
        let mut s = Scaler::new();
        let mut dst = Frame::new(639, 359).unwrap();
        dst.fill(0, 0, 0);
        s.scale_into(&src, &mut dst).unwrap();
        for r in 0..dst.chroma_height() as usize {
            assert_eq!(dst.u_row(r), src.u_row(r), "row {r}");
            assert_eq!(dst.v_row(r), src.v_row(r));
        }
    }

    #[test]
    fn same_size_is_a_copy() {
        let src = gradient(33, 17);
        let out = Scaler::new().scale(&src, 33, 17).unwrap();
        assert!(out.same_pixels(&src));
    }

    #[test]
    fn steady_state_does_not_allocate_frames() {
        let src = gradient(1920, 1080);
        let mut s = Scaler::new();
        for _ in 0..5 {
            let out = s.scale(&src, 1280, 720).unwrap();
            assert_eq!(out.width(), 1280);
        }
        assert_eq!(s.pool.allocations(), 1);
    }
}
