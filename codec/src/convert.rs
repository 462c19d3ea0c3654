//! Import camera/app pixel formats into a [`Frame`] and export frames for rendering.
//!
//! | from / to | how | exact? |
//! |---|---|---|
//! | strided I420 → `Frame` | row copy | yes |
//! | NV12 (iOS `420v` / `420f`) → `Frame` | row copy + chroma de-interleave; range and matrix are kept as metadata | yes |
//! | BGRA / RGBA → `Frame` | `yuv` crate (SIMD), BT.601/BT.709, full/limited | within ±[`RGB_ROUND_TRIP_TOLERANCE`] on a round trip of 2×2-constant images |
//! | `Frame` → NV12 | row copy + chroma interleave | yes |
//! | `Frame` → BGRA / RGBA | `yuv` crate, using the frame's [`ColorSpace`] | — |
//!
//! The RGB paths use the [`yuv`](https://crates.io/crates/yuv) crate (AVX2/SSE/NEON kernels);
//! I420↔NV12 is only a re-arrangement of bytes, which is a plain copy.
//!
//! All buffers are described by a slice, a stride in bytes and a size; every plane must hold at
//! least `stride * rows` bytes. Anything that does not fit is a [`FrameError`], never a panic.

use yuv::{
    BufferStoreMut, YuvConversionMode, YuvPlanarImage, YuvPlanarImageMut, YuvRange,
    YuvStandardMatrix,
};

use crate::error::FrameError;
use crate::frame::{ColorSpace, Frame, Matrix, Range, check_dimensions};

/// Largest per-channel difference of a BGRA → I420 → BGRA round trip, for images whose colour is
/// constant over each 2×2 block (so chroma subsampling loses nothing). Checked by property tests.
pub const RGB_ROUND_TRIP_TOLERANCE: u8 = 6;

/// Borrowed strided I420 planes.
#[derive(Debug, Clone, Copy)]
pub struct I420Ref<'a> {
    /// Luma plane.
    pub y: &'a [u8],
    /// Bytes per luma row.
    pub y_stride: usize,
    /// Cb plane.
    pub u: &'a [u8],
    /// Bytes per Cb row.
    pub u_stride: usize,
    /// Cr plane.
    pub v: &'a [u8],
    /// Bytes per Cr row.
    pub v_stride: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Borrowed NV12 planes: full-resolution Y, then interleaved Cb/Cr at half resolution. This is
/// what iOS cameras deliver (`kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange` = `420v`,
/// `...FullRange` = `420f`).
#[derive(Debug, Clone, Copy)]
pub struct Nv12Ref<'a> {
    /// Luma plane.
    pub y: &'a [u8],
    /// Bytes per luma row.
    pub y_stride: usize,
    /// Interleaved CbCr plane.
    pub uv: &'a [u8],
    /// Bytes per CbCr row.
    pub uv_stride: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Matrix and range of the samples (`420f` is full range, `420v` limited).
    pub color: ColorSpace,
}

/// Byte order of a packed 8-bit RGB format with alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackedFormat {
    /// B, G, R, A (iOS `kCVPixelFormatType_32BGRA`, most GPU surfaces).
    Bgra,
    /// R, G, B, A.
    Rgba,
}

/// A borrowed packed RGB image with alpha (alpha is ignored on import and written 255 on export).
#[derive(Debug, Clone, Copy)]
pub struct PackedRef<'a> {
    /// Pixel bytes.
    pub data: &'a [u8],
    /// Bytes per row (at least `4 * width`).
    pub stride: usize,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Byte order.
    pub format: PackedFormat,
}

fn check_plane(
    plane: &'static str,
    len: usize,
    stride: usize,
    row: usize,
    rows: usize,
) -> Result<(), FrameError> {
    if stride < row {
        return Err(FrameError::StrideTooSmall {
            plane,
            stride,
            min: row,
        });
    }
    let needed = stride.checked_mul(rows).ok_or(FrameError::PlaneTooSmall {
        plane,
        len,
        needed: usize::MAX,
    })?;
    if len < needed {
        return Err(FrameError::PlaneTooSmall { plane, len, needed });
    }
    Ok(())
}

fn check_same_size(frame: &Frame, width: u32, height: u32) -> Result<(), FrameError> {
    check_dimensions(width, height)?;
    if frame.width() != width || frame.height() != height {
        return Err(FrameError::SizeMismatch {
            src_w: width,
            src_h: height,
            dst_w: frame.width(),
            dst_h: frame.height(),
        });
    }
    Ok(())
}

fn copy_plane(
    dst: &mut [u8],
    dst_stride: usize,
    src: &[u8],
    src_stride: usize,
    row: usize,
    rows: usize,
) {
    for (d, s) in dst
        .chunks_mut(dst_stride)
        .zip(src.chunks(src_stride))
        .take(rows)
    {
        d[..row].copy_from_slice(&s[..row]);
    }
}

fn yuv_matrix(m: Matrix) -> YuvStandardMatrix {
    match m {
        Matrix::Bt601 => YuvStandardMatrix::Bt601,
        Matrix::Bt709 => YuvStandardMatrix::Bt709,
    }
}

fn yuv_range(r: Range) -> YuvRange {
    match r {
        Range::Limited => YuvRange::Limited,
        Range::Full => YuvRange::Full,
    }
}

impl Frame {
    /// Copies strided I420 planes into this frame (sizes must match).
    pub fn import_i420(&mut self, src: &I420Ref<'_>) -> Result<(), FrameError> {
        check_same_size(self, src.width, src.height)?;
        let (w, h) = (src.width as usize, src.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        check_plane("y", src.y.len(), src.y_stride, w, h)?;
        check_plane("u", src.u.len(), src.u_stride, cw, ch)?;
        check_plane("v", src.v.len(), src.v_stride, cw, ch)?;
        let (ys, uvs) = (self.y_stride(), self.uv_stride());
        let (y, u, v) = self.planes_mut();
        copy_plane(y, ys, src.y, src.y_stride, w, h);
        copy_plane(u, uvs, src.u, src.u_stride, cw, ch);
        copy_plane(v, uvs, src.v, src.v_stride, cw, ch);
        Ok(())
    }

    /// Copies NV12 planes into this frame (sizes must match) and records their colour space.
    pub fn import_nv12(&mut self, src: &Nv12Ref<'_>) -> Result<(), FrameError> {
        check_same_size(self, src.width, src.height)?;
        let (w, h) = (src.width as usize, src.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        check_plane("y", src.y.len(), src.y_stride, w, h)?;
        check_plane("uv", src.uv.len(), src.uv_stride, 2 * cw, ch)?;
        let (ys, uvs) = (self.y_stride(), self.uv_stride());
        let (y, u, v) = self.planes_mut();
        copy_plane(y, ys, src.y, src.y_stride, w, h);
        for r in 0..ch {
            let s = &src.uv[r * src.uv_stride..r * src.uv_stride + 2 * cw];
            let du = &mut u[r * uvs..r * uvs + cw];
            let dv = &mut v[r * uvs..r * uvs + cw];
            for ((pair, cb), cr) in s.chunks_exact(2).zip(du.iter_mut()).zip(dv.iter_mut()) {
                *cb = pair[0];
                *cr = pair[1];
            }
        }
        self.set_color_space(src.color);
        Ok(())
    }

    /// Converts packed BGRA/RGBA into this frame (sizes must match), with the given matrix and
    /// range, and records that colour space on the frame.
    pub fn import_packed(
        &mut self,
        src: &PackedRef<'_>,
        color: ColorSpace,
    ) -> Result<(), FrameError> {
        check_same_size(self, src.width, src.height)?;
        let (w, h) = (src.width as usize, src.height as usize);
        check_plane("rgba", src.data.len(), src.stride, 4 * w, h)?;
        let (ys, uvs) = (self.y_stride() as u32, self.uv_stride() as u32);
        let (y, u, v) = self.planes_mut();
        let mut planar = YuvPlanarImageMut {
            y_plane: BufferStoreMut::Borrowed(y),
            y_stride: ys,
            u_plane: BufferStoreMut::Borrowed(u),
            u_stride: uvs,
            v_plane: BufferStoreMut::Borrowed(v),
            v_stride: uvs,
            width: src.width,
            height: src.height,
        };
        let f = match src.format {
            PackedFormat::Bgra => yuv::bgra_to_yuv420,
            PackedFormat::Rgba => yuv::rgba_to_yuv420,
        };
        f(
            &mut planar,
            src.data,
            src.stride as u32,
            yuv_range(color.range),
            yuv_matrix(color.matrix),
            YuvConversionMode::Balanced,
        )
        .map_err(|e| FrameError::Conversion(e.to_string()))?;
        self.set_color_space(color);
        Ok(())
    }

    /// Writes this frame as NV12 into caller-provided planes.
    pub fn export_nv12(
        &self,
        y: &mut [u8],
        y_stride: usize,
        uv: &mut [u8],
        uv_stride: usize,
    ) -> Result<(), FrameError> {
        let (w, h) = (self.width() as usize, self.height() as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        check_plane("y", y.len(), y_stride, w, h)?;
        check_plane("uv", uv.len(), uv_stride, 2 * cw, ch)?;
        copy_plane(y, y_stride, self.y(), self.y_stride(), w, h);
        for r in 0..ch {
            let d = &mut uv[r * uv_stride..r * uv_stride + 2 * cw];
            for ((pair, cb), cr) in d
                .chunks_exact_mut(2)
                .zip(self.u_row(r).iter())
                .zip(self.v_row(r).iter())
            {
                pair[0] = *cb;
                pair[1] = *cr;
            }
        }
        Ok(())
    }

    /// Converts this frame to packed BGRA/RGBA (alpha 255) using its colour space.
    pub fn export_packed(
        &self,
        dst: &mut [u8],
        stride: usize,
        format: PackedFormat,
    ) -> Result<(), FrameError> {
        let (w, h) = (self.width() as usize, self.height() as usize);
        check_plane("rgba", dst.len(), stride, 4 * w, h)?;
        let planar = YuvPlanarImage {
            y_plane: self.y(),
            y_stride: self.y_stride() as u32,
            u_plane: self.u(),
            u_stride: self.uv_stride() as u32,
            v_plane: self.v(),
            v_stride: self.uv_stride() as u32,
            width: self.width(),
            height: self.height(),
        };
        let color = self.color_space();
        let f = match format {
            PackedFormat::Bgra => yuv::yuv420_to_bgra,
            PackedFormat::Rgba => yuv::yuv420_to_rgba,
        };
        f(
            &planar,
            dst,
            stride as u32,
            yuv_range(color.range),
            yuv_matrix(color.matrix),
        )
        .map_err(|e| FrameError::Conversion(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nv12_strategy() -> impl Strategy<Value = (u32, u32, usize, usize, Vec<u8>)> {
        (1u32..48, 1u32..48, 0usize..9, 0usize..9).prop_flat_map(|(w, h, ypad, uvpad)| {
            let ys = w as usize + ypad;
            let cw = (w as usize).div_ceil(2);
            let uvs = 2 * cw + uvpad;
            let len = ys * h as usize + uvs * (h as usize).div_ceil(2);
            (
                Just(w),
                Just(h),
                Just(ys),
                Just(uvs),
                proptest::collection::vec(any::<u8>(), len),
            )
        })
    }

    proptest! {
        /// NV12 → I420 → NV12 gives back exactly the visible bytes, for any size and stride.
        #[test]
        fn nv12_round_trip_is_exact((w, h, ys, uvs, data) in nv12_strategy()) {
            let (yplane, uvplane) = data.split_at(ys * h as usize);
            let src = Nv12Ref { y: yplane, y_stride: ys, uv: uvplane, uv_stride: uvs,
                width: w, height: h, color: ColorSpace::BT709_FULL };
            let mut f = Frame::new(w, h).unwrap();
            f.import_nv12(&src).unwrap();
            prop_assert_eq!(f.color_space(), ColorSpace::BT709_FULL);
            let mut oy = vec![0u8; ys * h as usize];
            let mut ouv = vec![0u8; uvplane.len()];
            f.export_nv12(&mut oy, ys, &mut ouv, uvs).unwrap();
            let cw = (w as usize).div_ceil(2);
            for r in 0..h as usize {
                prop_assert_eq!(&oy[r * ys..r * ys + w as usize], &yplane[r * ys..r * ys + w as usize]);
            }
            for r in 0..(h as usize).div_ceil(2) {
                prop_assert_eq!(&ouv[r * uvs..r * uvs + 2 * cw], &uvplane[r * uvs..r * uvs + 2 * cw]);
            }
        }

        /// I420 import copies exactly what is visible.
        #[test]
        fn i420_import_is_exact(w in 1u32..40, h in 1u32..40, pad in 0usize..7, seed in any::<u64>()) {
            let cw = (w as usize).div_ceil(2);
            let ch = (h as usize).div_ceil(2);
            let ys = w as usize + pad;
            let cs = cw + pad;
            let mut s = seed;
            let mut next = || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 56) as u8 };
            let y: Vec<u8> = (0..ys * h as usize).map(|_| next()).collect();
            let u: Vec<u8> = (0..cs * ch).map(|_| next()).collect();
            let v: Vec<u8> = (0..cs * ch).map(|_| next()).collect();
            let mut f = Frame::new(w, h).unwrap();
            f.import_i420(&I420Ref { y: &y, y_stride: ys, u: &u, u_stride: cs, v: &v, v_stride: cs, width: w, height: h }).unwrap();
            for r in 0..h as usize { prop_assert_eq!(f.y_row(r), &y[r * ys..r * ys + w as usize]); }
            for r in 0..ch {
                prop_assert_eq!(f.u_row(r), &u[r * cs..r * cs + cw]);
                prop_assert_eq!(f.v_row(r), &v[r * cs..r * cs + cw]);
            }
        }

        /// BGRA/RGBA → I420 → BGRA/RGBA stays within the stated tolerance when each 2×2 block
        /// has one colour, for every matrix and range.
        #[test]
        fn rgb_round_trip_within_tolerance(
            bw in 1u32..12, bh in 1u32..12,
            colors in proptest::collection::vec(any::<[u8; 3]>(), 144),
            matrix in prop_oneof![Just(Matrix::Bt601), Just(Matrix::Bt709)],
            range in prop_oneof![Just(Range::Limited), Just(Range::Full)],
            bgra in any::<bool>(),
        ) {
            let (w, h) = (2 * bw, 2 * bh);
            let stride = 4 * w as usize + 8;
            let format = if bgra { PackedFormat::Bgra } else { PackedFormat::Rgba };
            let mut data = vec![0u8; stride * h as usize];
            for yy in 0..h as usize {
                for xx in 0..w as usize {
                    let c = colors[(yy / 2) * 12 + xx / 2];
                    let px = &mut data[yy * stride + 4 * xx..yy * stride + 4 * xx + 4];
                    px.copy_from_slice(&[c[0], c[1], c[2], 255]);
                }
            }
            let color = ColorSpace { matrix, range };
            let mut f = Frame::new(w, h).unwrap();
            f.import_packed(&PackedRef { data: &data, stride, width: w, height: h, format }, color).unwrap();
            let mut out = vec![0u8; stride * h as usize];
            f.export_packed(&mut out, stride, format).unwrap();
            for yy in 0..h as usize {
                for xx in 0..w as usize {
                    let i = yy * stride + 4 * xx;
                    for ch in 0..3 {
                        let d = data[i + ch].abs_diff(out[i + ch]);
                        prop_assert!(d <= RGB_ROUND_TRIP_TOLERANCE,
                            "pixel ({},{}) channel {}: {} -> {} ({:?})", xx, yy, ch, data[i + ch], out[i + ch], color);
                    }
                }
            }
        }
    }

    #[test]
    fn short_planes_are_errors_not_panics() {
        let mut f = Frame::new(16, 16).unwrap();
        let y = vec![0u8; 16 * 15];
        let uv = vec![0u8; 16 * 8];
        let err = f
            .import_nv12(&Nv12Ref {
                y: &y,
                y_stride: 16,
                uv: &uv,
                uv_stride: 16,
                width: 16,
                height: 16,
                color: ColorSpace::default(),
            })
            .unwrap_err();
        assert!(matches!(err, FrameError::PlaneTooSmall { plane: "y", .. }));
        let err = f
            .import_packed(
                &PackedRef {
                    data: &[0u8; 10],
                    stride: 8,
                    width: 16,
                    height: 16,
                    format: PackedFormat::Bgra,
                },
                ColorSpace::default(),
            )
            .unwrap_err();
        assert!(matches!(err, FrameError::StrideTooSmall { .. }));
        let err = f
            .import_i420(&I420Ref {
                y: &y,
                y_stride: 16,
                u: &uv,
                u_stride: 8,
                v: &uv,
                v_stride: 8,
                width: 32,
                height: 16,
            })
            .unwrap_err();
        assert!(matches!(err, FrameError::SizeMismatch { .. }));
    }

    #[test]
    fn full_and_limited_range_differ_as_expected() {
        // Pure white in limited range is Y=235, in full range Y=255.
        let data = [255u8; 4 * 4];
        let src = PackedRef {
            data: &data,
            stride: 8,
            width: 2,
            height: 2,
            format: PackedFormat::Bgra,
        };
        let mut f = Frame::new(2, 2).unwrap();
        f.import_packed(&src, ColorSpace::BT709_LIMITED).unwrap();
        assert_eq!(f.y_row(0), &[235, 235]);
        f.import_packed(&src, ColorSpace::BT709_FULL).unwrap();
        assert_eq!(f.y_row(0), &[255, 255]);
        assert_eq!(f.u_row(0), &[128]);
    }
}
