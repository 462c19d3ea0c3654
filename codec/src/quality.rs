//! Objective quality and identity of decoded video: PSNR the way ffmpeg reports it, and the MD5
//! format used by the conformance suites.
//!
//! # PSNR
//!
//! ffmpeg's `psnr` filter prints `y:` as the PSNR of the *mean over frames of the per-frame
//! luma MSE*, and `average:` as the PSNR of the mean over frames of the per-frame MSE pooled over
//! Y, U and V weighted by sample count. [`PsnrAccumulator`] computes exactly those two numbers so
//! that `rtvc encode --psnr` and `ffmpeg -lavfi psnr` can be compared on the same files. A
//! perfect match (MSE 0) is reported as [`PSNR_CAP_DB`] rather than infinity.
//!
//! # MD5
//!
//! [`FrameMd5`] hashes every frame's visible samples as planar I420 (Y rows at the cropped width,
//! then U rows, then V rows, no padding), frame after frame — the `expected_decoded_md5` format
//! of `../shared/test-vectors`.

use md5::{Digest, Md5};

use crate::error::FrameError;
use crate::frame::Frame;

/// PSNR reported for identical pictures (ffmpeg prints `inf`).
pub const PSNR_CAP_DB: f64 = 100.0;

/// PSNR in dB of an 8-bit signal with mean squared error `mse`.
pub fn psnr_from_mse(mse: f64) -> f64 {
    if mse <= 0.0 {
        PSNR_CAP_DB
    } else {
        (10.0 * (255.0f64 * 255.0 / mse).log10()).min(PSNR_CAP_DB)
    }
}

fn plane_sse(a: &Frame, b: &Frame, plane: usize) -> u64 {
    let rows = if plane == 0 {
        a.height() as usize
    } else {
        a.chroma_height() as usize
    };
    let mut sse = 0u64;
    for r in 0..rows {
        let (ra, rb) = match plane {
            0 => (a.y_row(r), b.y_row(r)),
            1 => (a.u_row(r), b.u_row(r)),
            _ => (a.v_row(r), b.v_row(r)),
        };
        sse += ra
            .iter()
            .zip(rb)
            .map(|(&x, &y)| {
                let d = i32::from(x) - i32::from(y);
                (d * d) as u32
            })
            .map(u64::from)
            .sum::<u64>();
    }
    sse
}

/// Per-frame mean squared errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameMse {
    /// Luma MSE.
    pub y: f64,
    /// Cb MSE.
    pub u: f64,
    /// Cr MSE.
    pub v: f64,
    /// Y, U and V pooled by sample count.
    pub all: f64,
}

impl FrameMse {
    /// Luma PSNR of this frame.
    pub fn psnr_y(&self) -> f64 {
        psnr_from_mse(self.y)
    }
}

fn same_size(reference: &Frame, distorted: &Frame) -> Result<(), FrameError> {
    if reference.width() != distorted.width() || reference.height() != distorted.height() {
        return Err(FrameError::SizeMismatch {
            src_w: reference.width(),
            src_h: reference.height(),
            dst_w: distorted.width(),
            dst_h: distorted.height(),
        });
    }
    Ok(())
}

/// Mean squared errors between two frames of the same size.
pub fn frame_mse(reference: &Frame, distorted: &Frame) -> Result<FrameMse, FrameError> {
    same_size(reference, distorted)?;
    let ny = reference.width() as f64 * reference.height() as f64;
    let nc = reference.chroma_width() as f64 * reference.chroma_height() as f64;
    let (sy, su, sv) = (
        plane_sse(reference, distorted, 0) as f64,
        plane_sse(reference, distorted, 1) as f64,
        plane_sse(reference, distorted, 2) as f64,
    );
    Ok(FrameMse {
        y: sy / ny,
        u: su / nc,
        v: sv / nc,
        all: (sy + su + sv) / (ny + 2.0 * nc),
    })
}

/// Luma SSIM of two frames of the same size, computed as ffmpeg's `ssim` filter and x264 do:
/// sums over 4×4 blocks, windows of 2×2 blocks (8×8 pixels) every 4 pixels, constants
/// `(0.01·255)²·64` and `(0.03·255)²·64·63`, the mean over all windows. `None` for frames
/// smaller than 8×8 (no window).
pub fn frame_ssim_y(reference: &Frame, distorted: &Frame) -> Result<Option<f64>, FrameError> {
    same_size(reference, distorted)?;
    let (w, h) = (reference.width() as usize, reference.height() as usize);
    let (bw, bh) = (w / 4, h / 4);
    if bw < 2 || bh < 2 {
        return Ok(None);
    }
    // [s1, s2, ss, s12] of each 4×4 block of a row of blocks.
    let block_row = |by: usize| -> Vec<[u64; 4]> {
        (0..bw)
            .map(|bx| {
                let mut acc = [0u64; 4];
                for y in by * 4..by * 4 + 4 {
                    let (ra, rb) = (reference.y_row(y), distorted.y_row(y));
                    for x in bx * 4..bx * 4 + 4 {
                        let (a, b) = (u64::from(ra[x]), u64::from(rb[x]));
                        acc[0] += a;
                        acc[1] += b;
                        acc[2] += a * a + b * b;
                        acc[3] += a * b;
                    }
                }
                acc
            })
            .collect()
    };
    const C1: f64 = 0.01 * 0.01 * 255.0 * 255.0 * 64.0;
    const C2: f64 = 0.03 * 0.03 * 255.0 * 255.0 * 64.0 * 63.0;
    let mut total = 0.0;
    let mut above = block_row(0);
    for by in 1..bh {
        let below = block_row(by);
        for bx in 0..bw - 1 {
            let mut s = [0u64; 4];
            for blk in [&above[bx], &above[bx + 1], &below[bx], &below[bx + 1]] {
                for (acc, v) in s.iter_mut().zip(blk) {
                    *acc += v;
                }
            }
            let (s1, s2, ss, s12) = (s[0] as f64, s[1] as f64, s[2] as f64, s[3] as f64);
            let vars = ss * 64.0 - s1 * s1 - s2 * s2;
            let covar = s12 * 64.0 - s1 * s2;
            total += (2.0 * s1 * s2 + C1) * (2.0 * covar + C2)
                / ((s1 * s1 + s2 * s2 + C1) * (vars + C2));
        }
        above = below;
    }
    Ok(Some(total / ((bw - 1) * (bh - 1)) as f64))
}

/// Accumulates ffmpeg-style sequence PSNR.
#[derive(Debug, Clone, Default)]
pub struct PsnrAccumulator {
    frames: u64,
    sum_y: f64,
    sum_u: f64,
    sum_v: f64,
    sum_all: f64,
}

impl PsnrAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one frame pair; returns its MSEs.
    pub fn add(&mut self, reference: &Frame, distorted: &Frame) -> Result<FrameMse, FrameError> {
        let m = frame_mse(reference, distorted)?;
        self.add_mse(m);
        Ok(m)
    }

    /// Adds precomputed MSEs.
    pub fn add_mse(&mut self, m: FrameMse) {
        self.frames += 1;
        self.sum_y += m.y;
        self.sum_u += m.u;
        self.sum_v += m.v;
        self.sum_all += m.all;
    }

    /// Frames added.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    fn mean_psnr(&self, sum: f64) -> Option<f64> {
        (self.frames > 0).then(|| psnr_from_mse(sum / self.frames as f64))
    }

    /// ffmpeg's `y:`.
    pub fn psnr_y(&self) -> Option<f64> {
        self.mean_psnr(self.sum_y)
    }
    /// ffmpeg's `u:`.
    pub fn psnr_u(&self) -> Option<f64> {
        self.mean_psnr(self.sum_u)
    }
    /// ffmpeg's `v:`.
    pub fn psnr_v(&self) -> Option<f64> {
        self.mean_psnr(self.sum_v)
    }
    /// ffmpeg's `average:`.
    pub fn psnr_avg(&self) -> Option<f64> {
        self.mean_psnr(self.sum_all)
    }
}

/// A hash over decoded frames in conformance format (see the module docs): MD5 for the
/// conformance suites' `expected_decoded_md5`, SHA-1 for openh264's own reference hashes.
#[derive(Debug, Clone, Default)]
pub struct FrameHash<D> {
    hasher: D,
    frames: u64,
}

/// MD5 of decoded frames.
pub type FrameMd5 = FrameHash<Md5>;
/// SHA-1 of decoded frames.
pub type FrameSha1 = FrameHash<sha1::Sha1>;

impl<D: Digest + Clone + Default> FrameHash<D> {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a frame's visible samples.
    pub fn add(&mut self, f: &Frame) {
        for r in 0..f.height() as usize {
            self.hasher.update(f.y_row(r));
        }
        for r in 0..f.chroma_height() as usize {
            self.hasher.update(f.u_row(r));
        }
        for r in 0..f.chroma_height() as usize {
            self.hasher.update(f.v_row(r));
        }
        self.frames += 1;
    }

    /// Frames added.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Lower-case hex digest.
    pub fn hex(&self) -> String {
        let d = self.hasher.clone().finalize();
        d.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_matches_hand_computation() {
        let mut a = Frame::new(4, 4).unwrap();
        a.fill(100, 100, 100);
        let mut b = a.clone();
        // Luma off by 2 everywhere: MSE 4. Chroma exact.
        b.fill(102, 100, 100);
        let mut acc = PsnrAccumulator::new();
        let m = acc.add(&a, &b).unwrap();
        assert_eq!(m.y, 4.0);
        assert_eq!(m.u, 0.0);
        // 16 luma samples with SE 4, 8 chroma samples with SE 0 → pooled MSE 64/24.
        assert!((m.all - 64.0 / 24.0).abs() < 1e-12);
        let expect_y = 10.0 * (65025.0f64 / 4.0).log10();
        assert!((acc.psnr_y().unwrap() - expect_y).abs() < 1e-9);
        // Second identical frame: ffmpeg averages MSE, not PSNR.
        acc.add(&a, &a).unwrap();
        let expect_y2 = 10.0 * (65025.0f64 / 2.0).log10();
        assert!((acc.psnr_y().unwrap() - expect_y2).abs() < 1e-9);
        assert_eq!(acc.psnr_u(), Some(PSNR_CAP_DB));
    }

    #[test]
    fn size_mismatch_is_an_error() {
        let a = Frame::new(4, 4).unwrap();
        let b = Frame::new(4, 6).unwrap();
        assert!(frame_mse(&a, &b).is_err());
    }

    #[test]
    fn md5_of_known_bytes() {
        // One 2x2 frame: Y = 1,1,1,1, U = 2, V = 3 → MD5 of [1,1,1,1,2,3].
        let mut f = Frame::new(2, 2).unwrap();
        f.fill(1, 2, 3);
        let mut h = FrameMd5::new();
        h.add(&f);
        let mut direct = Md5::new();
        direct.update([1u8, 1, 1, 1, 2, 3]);
        let want: String = direct
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(h.hex(), want);
        assert_eq!(h.frames(), 1);
    }
}
