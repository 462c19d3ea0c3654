//! Raw video frames: 8-bit I420 pictures with strides, a timestamp and a rotation, plus a small
//! buffer pool so that steady-state capture, scaling and decoding allocate nothing per frame.
//!
//! Every encoder takes a [`Frame`]; every decoder returns one. Import from what cameras and apps
//! hand over (NV12, BGRA, RGBA, strided I420) and export for rendering (NV12, BGRA) live in
//! [`crate::convert`].
//!
//! ```
//! use rtvc_codec::frame::{FramePool, Rotation};
//!
//! let pool = FramePool::new(4);
//! let mut frame = pool.frame(1280, 720).unwrap();
//! frame.set_timestamp_us(33_333);
//! frame.set_rotation(Rotation::Deg90);
//! assert_eq!(frame.chroma_width(), 640);
//! drop(frame); // the buffer goes back to the pool
//! let again = pool.frame(1280, 720).unwrap();
//! assert_eq!(pool.allocations(), 1);
//! # drop(again);
//! ```

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::error::FrameError;

/// The largest width or height a frame may have (AV1 level 6.x and H.264 level 6.2 top out
/// well below this; it bounds memory on hostile input).
pub const MAX_DIMENSION: u32 = 16384;

/// Row alignment of luma planes we allocate (bytes).
const Y_ALIGN: usize = 32;
/// Row alignment of chroma planes we allocate (bytes).
const UV_ALIGN: usize = 16;

/// Clockwise rotation the renderer must apply. Carried through encode/decode untouched (iOS
/// cameras deliver sensor-oriented frames plus a rotation; WebRTC signals it out of band).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    /// No rotation.
    #[default]
    Deg0,
    /// 90° clockwise.
    Deg90,
    /// 180°.
    Deg180,
    /// 270° clockwise.
    Deg270,
}

impl Rotation {
    /// Rotation from degrees (0, 90, 180 or 270).
    pub fn from_degrees(deg: u32) -> Option<Self> {
        match deg {
            0 => Some(Self::Deg0),
            90 => Some(Self::Deg90),
            180 => Some(Self::Deg180),
            270 => Some(Self::Deg270),
            _ => None,
        }
    }

    /// Degrees clockwise.
    pub fn degrees(self) -> u32 {
        match self {
            Self::Deg0 => 0,
            Self::Deg90 => 90,
            Self::Deg180 => 180,
            Self::Deg270 => 270,
        }
    }
}

/// YCbCr matrix coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Matrix {
    /// ITU-R BT.601 (SD; what WebRTC assumes when nothing is signalled).
    #[default]
    Bt601,
    /// ITU-R BT.709 (HD).
    Bt709,
}

/// Sample range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Range {
    /// "Video" range: Y 16..=235, Cb/Cr 16..=240 (iOS `420v`).
    #[default]
    Limited,
    /// Full range: 0..=255 (iOS `420f`, JPEG).
    Full,
}

/// How the YCbCr samples of a frame relate to RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ColorSpace {
    /// Matrix coefficients.
    pub matrix: Matrix,
    /// Sample range.
    pub range: Range,
}

impl ColorSpace {
    /// BT.601 limited range (the default).
    pub const BT601_LIMITED: Self = Self {
        matrix: Matrix::Bt601,
        range: Range::Limited,
    };
    /// BT.601 full range.
    pub const BT601_FULL: Self = Self {
        matrix: Matrix::Bt601,
        range: Range::Full,
    };
    /// BT.709 limited range.
    pub const BT709_LIMITED: Self = Self {
        matrix: Matrix::Bt709,
        range: Range::Limited,
    };
    /// BT.709 full range.
    pub const BT709_FULL: Self = Self {
        matrix: Matrix::Bt709,
        range: Range::Full,
    };
}

/// Checks a frame size.
pub fn check_dimensions(width: u32, height: u32) -> Result<(), FrameError> {
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(FrameError::InvalidDimensions {
            width,
            height,
            max: MAX_DIMENSION,
        });
    }
    Ok(())
}

fn align(v: usize, a: usize) -> usize {
    v.div_ceil(a) * a
}

/// Byte layout of an I420 frame inside one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    y_stride: usize,
    uv_stride: usize,
    y_len: usize,
    uv_len: usize,
}

impl Layout {
    fn new(width: u32, height: u32) -> Self {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let y_stride = align(w, Y_ALIGN);
        let uv_stride = align(cw, UV_ALIGN);
        Self {
            y_stride,
            uv_stride,
            y_len: y_stride * h,
            uv_len: uv_stride * ch,
        }
    }

    fn total(&self) -> usize {
        self.y_len + 2 * self.uv_len
    }
}

/// A frame buffer that returns to its [`FramePool`] when dropped.
struct PooledBuffer {
    data: Vec<u8>,
    pool: Option<Weak<PoolInner>>,
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take().and_then(|w| w.upgrade()) {
            pool.give_back(std::mem::take(&mut self.data));
        }
    }
}

struct PoolInner {
    free: Mutex<Vec<Vec<u8>>>,
    max_free: usize,
    allocations: AtomicUsize,
}

impl PoolInner {
    fn give_back(&self, buf: Vec<u8>) {
        // A poisoned lock only means another thread panicked while holding it; the Vec of free
        // buffers is still valid, so keep using it.
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.max_free {
            free.push(buf);
        }
    }
}

/// A small pool of frame buffers. Cloning the pool is cheap (it is shared); frames handed out by
/// it return their buffer when dropped, so a capture → encode or decode → render loop allocates
/// only until the pool has warmed up.
#[derive(Clone)]
pub struct FramePool {
    inner: Arc<PoolInner>,
}

impl fmt::Debug for FramePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramePool")
            .field("max_free", &self.inner.max_free)
            .field("allocations", &self.allocations())
            .finish()
    }
}

impl Default for FramePool {
    fn default() -> Self {
        Self::new(4)
    }
}

impl FramePool {
    /// A pool that keeps up to `max_free` idle buffers.
    pub fn new(max_free: usize) -> Self {
        Self {
            inner: Arc::new(PoolInner {
                free: Mutex::new(Vec::with_capacity(max_free)),
                max_free,
                allocations: AtomicUsize::new(0),
            }),
        }
    }

    /// A frame of the given size. Its pixels are unspecified (whatever the reused buffer held);
    /// fill it before use. Timestamp 0, no rotation, BT.601 limited range.
    pub fn frame(&self, width: u32, height: u32) -> Result<Frame, FrameError> {
        check_dimensions(width, height)?;
        let layout = Layout::new(width, height);
        let needed = layout.total();
        let reused = {
            let mut free = self.inner.free.lock().unwrap_or_else(|e| e.into_inner());
            // Prefer a buffer that is already big enough.
            match free.iter().position(|b| b.capacity() >= needed) {
                Some(i) => Some(free.swap_remove(i)),
                None => free.pop(),
            }
        };
        let mut data = reused.unwrap_or_default();
        if data.capacity() < needed {
            self.inner.allocations.fetch_add(1, Ordering::Relaxed);
            data = Vec::with_capacity(needed);
        }
        data.resize(needed, 0);
        data.truncate(needed);
        Ok(Frame::with_buffer(
            width,
            height,
            layout,
            PooledBuffer {
                data,
                pool: Some(Arc::downgrade(&self.inner)),
            },
        ))
    }

    /// How many buffers the pool has allocated in total (for checking steady-state reuse).
    pub fn allocations(&self) -> usize {
        self.inner.allocations.load(Ordering::Relaxed)
    }
}

/// An 8-bit I420 (YUV 4:2:0 planar) picture.
///
/// Chroma planes are `ceil(width/2) x ceil(height/2)`. Each plane has its own stride (bytes per
/// row, at least the row width). Odd sizes are allowed.
pub struct Frame {
    width: u32,
    height: u32,
    layout: Layout,
    buf: PooledBuffer,
    timestamp_us: i64,
    rotation: Rotation,
    color: ColorSpace,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("y_stride", &self.layout.y_stride)
            .field("uv_stride", &self.layout.uv_stride)
            .field("timestamp_us", &self.timestamp_us)
            .field("rotation", &self.rotation)
            .field("color", &self.color)
            .finish()
    }
}

impl Clone for Frame {
    /// A deep copy in a fresh (unpooled) buffer.
    fn clone(&self) -> Self {
        Frame {
            width: self.width,
            height: self.height,
            layout: self.layout,
            buf: PooledBuffer {
                data: self.buf.data.clone(),
                pool: None,
            },
            timestamp_us: self.timestamp_us,
            rotation: self.rotation,
            color: self.color,
        }
    }
}

impl Frame {
    fn with_buffer(width: u32, height: u32, layout: Layout, buf: PooledBuffer) -> Self {
        Frame {
            width,
            height,
            layout,
            buf,
            timestamp_us: 0,
            rotation: Rotation::Deg0,
            color: ColorSpace::default(),
        }
    }

    /// A black frame (Y=16, Cb=Cr=128) in its own buffer.
    pub fn new(width: u32, height: u32) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let layout = Layout::new(width, height);
        let mut data = vec![128u8; layout.total()];
        data[..layout.y_len].fill(16);
        Ok(Self::with_buffer(
            width,
            height,
            layout,
            PooledBuffer { data, pool: None },
        ))
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Width of the chroma planes, `ceil(width / 2)`.
    pub fn chroma_width(&self) -> u32 {
        self.width.div_ceil(2)
    }
    /// Height of the chroma planes, `ceil(height / 2)`.
    pub fn chroma_height(&self) -> u32 {
        self.height.div_ceil(2)
    }
    /// Bytes per luma row.
    pub fn y_stride(&self) -> usize {
        self.layout.y_stride
    }
    /// Bytes per chroma row (U and V).
    pub fn uv_stride(&self) -> usize {
        self.layout.uv_stride
    }
    /// Luma plane, `y_stride * height` bytes.
    pub fn y(&self) -> &[u8] {
        &self.buf.data[..self.layout.y_len]
    }
    /// Cb plane, `uv_stride * chroma_height` bytes.
    pub fn u(&self) -> &[u8] {
        &self.buf.data[self.layout.y_len..self.layout.y_len + self.layout.uv_len]
    }
    /// Cr plane, `uv_stride * chroma_height` bytes.
    pub fn v(&self) -> &[u8] {
        &self.buf.data[self.layout.y_len + self.layout.uv_len..self.layout.total()]
    }
    /// All three planes, mutable.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let (y, rest) = self.buf.data[..self.layout.total()].split_at_mut(self.layout.y_len);
        let (u, v) = rest.split_at_mut(self.layout.uv_len);
        (y, u, v)
    }
    /// Visible part of luma row `row`.
    pub fn y_row(&self, row: usize) -> &[u8] {
        let s = row * self.layout.y_stride;
        &self.y()[s..s + self.width as usize]
    }
    /// Visible part of Cb row `row`.
    pub fn u_row(&self, row: usize) -> &[u8] {
        let s = row * self.layout.uv_stride;
        &self.u()[s..s + self.chroma_width() as usize]
    }
    /// Visible part of Cr row `row`.
    pub fn v_row(&self, row: usize) -> &[u8] {
        let s = row * self.layout.uv_stride;
        &self.v()[s..s + self.chroma_width() as usize]
    }

    /// Capture/presentation time in microseconds.
    pub fn timestamp_us(&self) -> i64 {
        self.timestamp_us
    }
    /// Sets the timestamp.
    pub fn set_timestamp_us(&mut self, ts: i64) {
        self.timestamp_us = ts;
    }
    /// Rotation the renderer must apply.
    pub fn rotation(&self) -> Rotation {
        self.rotation
    }
    /// Sets the rotation.
    pub fn set_rotation(&mut self, rotation: Rotation) {
        self.rotation = rotation;
    }
    /// Colour space of the samples.
    pub fn color_space(&self) -> ColorSpace {
        self.color
    }
    /// Sets the colour space (metadata only; samples are not converted).
    pub fn set_color_space(&mut self, color: ColorSpace) {
        self.color = color;
    }
    /// Copies timestamp, rotation and colour space from another frame.
    pub fn copy_metadata_from(&mut self, other: &Frame) {
        self.timestamp_us = other.timestamp_us;
        self.rotation = other.rotation;
        self.color = other.color;
    }

    /// Fills the whole picture with one YCbCr value.
    pub fn fill(&mut self, y: u8, u: u8, v: u8) {
        let (py, pu, pv) = self.planes_mut();
        py.fill(y);
        pu.fill(u);
        pv.fill(v);
    }

    /// Visible samples only, planar I420 (Y rows, then U rows, then V rows), no padding.
    /// This is the layout the conformance MD5s are computed over.
    pub fn write_packed_i420(&self, out: &mut Vec<u8>) {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (self.chroma_width() as usize, self.chroma_height() as usize);
        out.reserve(w * h + 2 * cw * ch);
        for r in 0..h {
            out.extend_from_slice(self.y_row(r));
        }
        for r in 0..ch {
            out.extend_from_slice(self.u_row(r));
        }
        for r in 0..ch {
            out.extend_from_slice(self.v_row(r));
        }
    }

    /// Number of bytes [`Frame::write_packed_i420`] produces.
    pub fn packed_i420_len(&self) -> usize {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (self.chroma_width() as usize, self.chroma_height() as usize);
        w * h + 2 * cw * ch
    }

    /// True when the visible samples of both frames are equal (strides may differ).
    pub fn same_pixels(&self, other: &Frame) -> bool {
        if self.width != other.width || self.height != other.height {
            return false;
        }
        (0..self.height as usize).all(|r| self.y_row(r) == other.y_row(r))
            && (0..self.chroma_height() as usize)
                .all(|r| self.u_row(r) == other.u_row(r) && self.v_row(r) == other.v_row(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_odd_sizes() {
        let f = Frame::new(161, 97).unwrap();
        assert_eq!(f.chroma_width(), 81);
        assert_eq!(f.chroma_height(), 49);
        assert!(f.y_stride() >= 161 && f.y_stride().is_multiple_of(Y_ALIGN));
        assert_eq!(f.y().len(), f.y_stride() * 97);
        assert_eq!(f.u().len(), f.uv_stride() * 49);
        assert_eq!(f.packed_i420_len(), 161 * 97 + 2 * 81 * 49);
    }

    #[test]
    fn rejects_bad_dimensions() {
        assert!(matches!(
            Frame::new(0, 10),
            Err(FrameError::InvalidDimensions { .. })
        ));
        assert!(matches!(
            FramePool::new(1).frame(10, MAX_DIMENSION + 1),
            Err(FrameError::InvalidDimensions { .. })
        ));
    }

    #[test]
    fn pool_reuses_buffers() {
        let pool = FramePool::new(2);
        for _ in 0..100 {
            let a = pool.frame(320, 240).unwrap();
            let b = pool.frame(320, 240).unwrap();
            drop(a);
            drop(b);
        }
        assert_eq!(pool.allocations(), 2);
        // A smaller frame fits in a buffer we already have.
        let _small = pool.frame(160, 120).unwrap();
        assert_eq!(pool.allocations(), 2);
    }

    #[test]
    fn frames_outlive_their_pool() {
        let pool = FramePool::new(2);
        let f = pool.frame(64, 64).unwrap();
        drop(pool);
        assert_eq!(f.width(), 64);
        drop(f);
    }

    #[test]
    fn packed_i420_skips_padding() {
        let mut f = Frame::new(3, 3).unwrap();
        f.fill(1, 2, 3);
        let mut out = Vec::new();
        f.write_packed_i420(&mut out);
        assert_eq!(out, vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    }
}
