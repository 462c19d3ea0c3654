//! A built-in synthetic scene (`synthetic:WIDTHxHEIGHT` on the command line): deterministic,
//! moving and textured like camera video, so demos and tests need no files.
//!
//! The picture has a slowly panning textured background (two interfering sine gratings), a
//! shaded disk that moves on a Lissajous path like a head in a call, a sharp checkerboard card
//! that slides across (fine detail and hard edges) and gently changing colours. It is not noise:
//! it compresses like real content, with motion the encoder can predict.

use crate::error::FrameError;
use crate::frame::{Frame, FramePool};

/// 256-entry sine table scaled to ±127.
fn sine_table() -> [i16; 256] {
    let mut t = [0i16; 256];
    for (i, v) in t.iter_mut().enumerate() {
        *v = (127.0 * (i as f64 * std::f64::consts::TAU / 256.0).sin()).round() as i16;
    }
    t
}

/// Renders the synthetic scene.
#[derive(Debug, Clone)]
pub struct SyntheticScene {
    width: u32,
    height: u32,
    fps: f64,
    sin: [i16; 256],
    pool: FramePool,
}

impl SyntheticScene {
    /// A scene of the given size; `fps` sets the timestamps and the speed of motion.
    pub fn new(width: u32, height: u32, fps: f64) -> Result<Self, FrameError> {
        crate::frame::check_dimensions(width, height)?;
        Ok(Self {
            width,
            height,
            fps: if fps.is_finite() && fps > 0.0 {
                fps
            } else {
                30.0
            },
            sin: sine_table(),
            pool: FramePool::new(3),
        })
    }

    /// Parses `WIDTHxHEIGHT` (the part after `synthetic:`).
    pub fn parse_size(spec: &str) -> Option<(u32, u32)> {
        let (w, h) = spec.split_once(['x', 'X'])?;
        Some((w.trim().parse().ok()?, h.trim().parse().ok()?))
    }

    /// Width.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Frame number `n` (timestamp `n / fps`).
    pub fn frame(&self, n: u64) -> Frame {
        let mut f = self
            .pool
            .frame(self.width, self.height)
            .expect("size checked in new");
        self.render_into(n, &mut f);
        f
    }

    /// Renders frame `n` into `f` (which must have the scene's size).
    pub fn render_into(&self, n: u64, f: &mut Frame) {
        debug_assert_eq!((f.width(), f.height()), (self.width, self.height));
        let t = n as i64;
        let (w, h) = (self.width as i64, self.height as i64);
        let s = |i: i64| i64::from(self.sin[(i & 255) as usize]);
        // Scale everything to the picture so every size shows the same scene.
        let unit = (w.min(h)).max(8);
        // Background pan: a few pixels per frame at 720p.
        let pan_x = t * unit / 240;
        let pan_y = t * unit / 600;
        // The "head": a disk on a Lissajous path.
        let cx = w / 2 + s(t * 2) * w / 5 / 127;
        let cy = h / 2 + s(t * 3 + 64) * h / 8 / 127;
        let r = unit / 4;
        let r2 = r * r;
        // The card: slides left to right and wraps.
        let card_w = (unit / 3).max(4);
        let card_h = (unit / 4).max(4);
        let card_x = (t * unit / 90) % (w + card_w) - card_w;
        let card_y = h / 8;
        let cell = (unit / 24).max(2);

        let ys = f.y_stride();
        let uvs = f.uv_stride();
        let (cw, ch) = (f.chroma_width() as i64, f.chroma_height() as i64);
        let (py, pu, pv) = f.planes_mut();
        for y in 0..h {
            let row = &mut py[(y as usize) * ys..(y as usize) * ys + w as usize];
            let gy = s((y + pan_y) * 256 / (unit / 3).max(1));
            for (x, px) in row.iter_mut().enumerate() {
                let x = x as i64;
                let dx = x - cx;
                let dy = y - cy;
                let d2 = dx * dx + dy * dy;
                let v = if d2 < r2 {
                    // Shaded disk: bright centre, darker rim, a little texture.
                    170 - 70 * d2 / r2.max(1) + s((x * 7 + y * 5) * 256 / unit) / 16
                } else if x >= card_x && x < card_x + card_w && y >= card_y && y < card_y + card_h {
                    if ((x - card_x) / cell + (y - card_y) / cell) % 2 == 0 {
                        220
                    } else {
                        40
                    }
                } else {
                    let gx = s((x + pan_x) * 256 / (unit / 4).max(1));
                    let diag = s((x + y + pan_x) * 256 / (unit / 2).max(1));
                    // Fine "wallpaper" detail that pans with the background: a hashed texture
                    // (predictable motion, like foliage or fabric, not temporal noise).
                    let tx = (x + pan_x) / 2;
                    let ty = (y + pan_y) / 2;
                    let hash = (tx.wrapping_mul(0x9E37_79B1) ^ ty.wrapping_mul(0x85EB_CA77)) as u32;
                    let grain = i64::from((hash.wrapping_mul(0x27D4_EB2F) >> 27) as u8) - 16;
                    100 + (gx + gy) / 5 + diag / 6 + (y * 40 / h) + grain
                };
                *px = v.clamp(16, 235) as u8;
            }
        }
        let hue_u = 128 + s(t / 2) / 8;
        let hue_v = 128 + s(t / 3 + 80) / 8;
        for y in 0..ch {
            let (ru, rv) = (
                &mut pu[(y as usize) * uvs..(y as usize) * uvs + cw as usize],
                &mut pv[(y as usize) * uvs..(y as usize) * uvs + cw as usize],
            );
            for x in 0..cw {
                let (lx, ly) = (2 * x, 2 * y);
                let in_disk = (lx - cx) * (lx - cx) + (ly - cy) * (ly - cy) < r2;
                let (u, v) = if in_disk {
                    (110, 150) // skin-like
                } else {
                    (
                        hue_u + s((lx + pan_x) * 256 / unit) / 10,
                        hue_v + s((ly + pan_y) * 256 / unit) / 10,
                    )
                };
                ru[x as usize] = u.clamp(16, 240) as u8;
                rv[x as usize] = v.clamp(16, 240) as u8;
            }
        }
        f.set_timestamp_us((n as f64 * 1_000_000.0 / self.fps).round() as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_moving_and_textured() {
        let s = SyntheticScene::new(160, 90, 30.0).unwrap();
        let a = s.frame(10);
        let b = s.frame(10);
        assert!(
            a.same_pixels(&b),
            "same frame number renders the same picture"
        );
        let c = s.frame(11);
        assert!(!a.same_pixels(&c), "the scene moves");
        assert_eq!(c.timestamp_us(), 366_667);
        // Textured: many distinct luma values, not flat.
        let mut seen = [false; 256];
        for r in 0..90 {
            for &p in a.y_row(r) {
                seen[p as usize] = true;
            }
        }
        assert!(seen.iter().filter(|&&x| x).count() > 60);
    }

    #[test]
    fn odd_and_tiny_sizes_render() {
        for (w, h) in [(1, 1), (3, 5), (161, 97)] {
            let s = SyntheticScene::new(w, h, 25.0).unwrap();
            let f = s.frame(3);
            assert_eq!((f.width(), f.height()), (w, h));
        }
        assert_eq!(SyntheticScene::parse_size("640x360"), Some((640, 360)));
        assert_eq!(SyntheticScene::parse_size("640"), None);
    }
}
