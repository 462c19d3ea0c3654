//! Raw video frames: 8-bit I420 pictures with strides, a timestamp and a rotation, plus a small
//! buffer pool so that steady-state capture, scaling and decoding allocate nothing per frame.
//! Pixels are reference-counted: cloning a frame shares them, writing to a shared frame copies
//! it first (into a buffer of the same pool).
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
//! let shown = frame.clone(); // shares the pixels: no copy, no allocation
//! assert!(frame.is_shared());
//! drop(frame);
//! drop(shown); // the last handle gives the buffer back to the pool
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

/// Where the three planes of an I420 picture sit inside a [`FrameBuffer`]: byte offsets and
/// strides. Frames from a [`FramePool`] use their own packed layout; decoders that write
/// pictures into pool buffers themselves (dav1d) describe theirs with this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlaneLayout {
    /// Offset of the first luma row.
    pub y_offset: usize,
    /// Offset of the first Cb row.
    pub u_offset: usize,
    /// Offset of the first Cr row.
    pub v_offset: usize,
    /// Bytes per luma row.
    pub y_stride: usize,
    /// Bytes per chroma row (Cb and Cr).
    pub uv_stride: usize,
}

/// A plane layout checked against a frame size (the plane lengths follow from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    planes: PlaneLayout,
    y_len: usize,
    uv_len: usize,
}

impl Layout {
    /// The packed layout of pool frames: Y, then U, then V, rows aligned.
    fn packed(width: u32, height: u32) -> Self {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let y_stride = align(w, Y_ALIGN);
        let uv_stride = align(cw, UV_ALIGN);
        let (y_len, uv_len) = (y_stride * h, uv_stride * ch);
        Self {
            planes: PlaneLayout {
                y_offset: 0,
                u_offset: y_len,
                v_offset: y_len + uv_len,
                y_stride,
                uv_stride,
            },
            y_len,
            uv_len,
        }
    }

    /// `planes` for a `width` x `height` picture in a buffer of `len` bytes.
    fn checked(
        planes: PlaneLayout,
        width: u32,
        height: u32,
        len: usize,
    ) -> Result<Self, FrameError> {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        for (plane, stride, row) in [("y", planes.y_stride, w), ("uv", planes.uv_stride, cw)] {
            if stride < row {
                return Err(FrameError::StrideTooSmall {
                    plane,
                    stride,
                    min: row,
                });
            }
        }
        let y_len = planes.y_stride * h;
        let uv_len = planes.uv_stride * ch;
        for (plane, offset, n) in [
            ("y", planes.y_offset, y_len),
            ("u", planes.u_offset, uv_len),
            ("v", planes.v_offset, uv_len),
        ] {
            let needed = offset.saturating_add(n);
            if needed > len {
                return Err(FrameError::PlaneTooSmall { plane, len, needed });
            }
        }
        let mut spans = [
            ("y", planes.y_offset, y_len),
            ("u", planes.u_offset, uv_len),
            ("v", planes.v_offset, uv_len),
        ];
        spans.sort_by_key(|s| s.1);
        for pair in spans.windows(2) {
            if pair[0].1 + pair[0].2 > pair[1].1 {
                return Err(FrameError::PlanesOverlap {
                    first: pair[0].0,
                    second: pair[1].0,
                });
            }
        }
        Ok(Self {
            planes,
            y_len,
            uv_len,
        })
    }

    fn total(&self) -> usize {
        self.y_len + 2 * self.uv_len
    }
}

/// Pixel memory and the pool it goes back to.
#[derive(Debug)]
struct Slot {
    data: Vec<u8>,
    /// Empty (never upgrades) for buffers outside any pool.
    pool: Weak<PoolInner>,
}

/// Pixel memory shared by the frames made from it, and returned to its [`FramePool`] — buffer
/// and reference count both, so that reuse allocates nothing — when the last of them is dropped.
///
/// Frames hold one; decoders that write pictures themselves take one from
/// [`FramePool::buffer`], fill it, and make frames of it with [`Frame::from_buffer`].
pub struct FrameBuffer {
    /// Always `Some` except while being dropped.
    slot: Option<Arc<Slot>>,
}

impl fmt::Debug for FrameBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameBuffer")
            .field("len", &self.len())
            .field("shared", &self.is_shared())
            .finish()
    }
}

impl FrameBuffer {
    fn unpooled(data: Vec<u8>) -> Self {
        Self {
            slot: Some(Arc::new(Slot {
                data,
                pool: Weak::new(),
            })),
        }
    }

    fn bytes(&self) -> &[u8] {
        self.slot.as_deref().map_or(&[], |s| s.data.as_slice())
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    /// True for a zero-length buffer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Address of the first byte (for decoders that hand plane pointers to C and need the
    /// offsets back).
    pub fn as_ptr(&self) -> *const u8 {
        self.bytes().as_ptr()
    }

    /// True when another frame or buffer shares this memory.
    pub fn is_shared(&self) -> bool {
        self.slot.as_ref().is_some_and(|s| Arc::strong_count(s) > 1)
    }

    /// The bytes, for writing — `None` while the memory is shared (it is then read-only).
    pub fn as_mut_slice(&mut self) -> Option<&mut [u8]> {
        self.slot
            .as_mut()
            .and_then(Arc::get_mut)
            .map(|s| s.data.as_mut_slice())
    }

    /// Another handle to the same memory (no copy).
    pub fn share(&self) -> FrameBuffer {
        FrameBuffer {
            slot: self.slot.clone(),
        }
    }

    /// A private copy of the bytes, from the same pool when it is still there.
    fn copied(&self) -> FrameBuffer {
        let src = self.bytes();
        let pool = self.slot.as_ref().and_then(|s| s.pool.upgrade());
        let mut copy = match pool {
            Some(inner) => FramePool { inner }.take(src.len()),
            None => FrameBuffer::unpooled(vec![0; src.len()]),
        };
        if let Some(dst) = copy.as_mut_slice() {
            dst.copy_from_slice(src);
        }
        copy
    }
}

impl Drop for FrameBuffer {
    fn drop(&mut self) {
        // The last handle returns the buffer, reference count included, to its pool. (Two
        // handles dropped at the same instant on two threads can both see the other one and
        // let the memory go instead: a later frame then allocates it again, nothing worse.)
        if let Some(mut slot) = self.slot.take()
            && Arc::get_mut(&mut slot).is_some()
            && let Some(pool) = slot.pool.upgrade()
        {
            pool.give_back(slot);
        }
    }
}

struct PoolInner {
    free: Mutex<Vec<Arc<Slot>>>,
    max_free: usize,
    allocations: AtomicUsize,
}

impl PoolInner {
    fn give_back(&self, slot: Arc<Slot>) {
        // A poisoned lock only means another thread panicked while holding it; the Vec of free
        // buffers is still valid, so keep using it.
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < self.max_free {
            free.push(slot);
        }
    }
}

/// A small pool of frame buffers. Cloning the pool is cheap (it is shared); frames handed out by
/// it return their buffer when the last frame using it is dropped, so a capture → encode or
/// decode → render loop allocates only until the pool has warmed up.
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

    /// A buffer of `len` bytes, not shared, contents unspecified.
    fn take(&self, len: usize) -> FrameBuffer {
        let reused = {
            let mut free = self.inner.free.lock().unwrap_or_else(|e| e.into_inner());
            // Prefer a buffer that is already big enough.
            match free.iter().position(|s| s.data.capacity() >= len) {
                Some(i) => Some(free.swap_remove(i)),
                None => free.pop(),
            }
        };
        let mut slot = match reused {
            Some(slot) => slot,
            None => Arc::new(Slot {
                data: Vec::new(),
                pool: Arc::downgrade(&self.inner),
            }),
        };
        // Free slots are held by the pool alone, so this is always the unique handle.
        if let Some(s) = Arc::get_mut(&mut slot) {
            if s.data.capacity() < len {
                self.inner.allocations.fetch_add(1, Ordering::Relaxed);
                s.data = Vec::with_capacity(len);
            }
            s.data.resize(len, 0);
            s.data.truncate(len);
        }
        FrameBuffer { slot: Some(slot) }
    }

    /// A frame of the given size. Its pixels are unspecified (whatever the reused buffer held);
    /// fill it before use. Timestamp 0, no rotation, BT.601 limited range.
    pub fn frame(&self, width: u32, height: u32) -> Result<Frame, FrameError> {
        check_dimensions(width, height)?;
        let layout = Layout::packed(width, height);
        Ok(Frame::with_buffer(
            width,
            height,
            layout,
            self.take(layout.total()),
        ))
    }

    /// A buffer of `len` bytes (contents unspecified) for a decoder that writes pictures into
    /// it itself; [`Frame::from_buffer`] then makes frames of it without copying.
    pub fn buffer(&self, len: usize) -> FrameBuffer {
        self.take(len)
    }

    /// A copy of `frame`'s pixels and metadata in a buffer of this pool (the copy a caller that
    /// wants to modify a shared frame makes; [`Frame::clone`] shares instead).
    pub fn copy_of(&self, frame: &Frame) -> Result<Frame, FrameError> {
        let mut copy = self.frame(frame.width, frame.height)?;
        copy.import_i420(&crate::convert::I420Ref {
            y: frame.y(),
            y_stride: frame.y_stride(),
            u: frame.u(),
            u_stride: frame.uv_stride(),
            v: frame.v(),
            v_stride: frame.uv_stride(),
            width: frame.width,
            height: frame.height,
        })?;
        copy.copy_metadata_from(frame);
        Ok(copy)
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
///
/// The pixels live in a reference-counted [`FrameBuffer`]: [`Clone`] shares them (no copy, no
/// allocation), and [`Frame::planes_mut`] on a shared frame first gives it a private copy, so
/// clones never see each other's writes. A decoded frame may share its memory with the decoder's
/// reference pictures (dav1d decodes straight into our pool); that is invisible to the caller.
pub struct Frame {
    width: u32,
    height: u32,
    layout: Layout,
    buf: FrameBuffer,
    timestamp_us: i64,
    rotation: Rotation,
    color: ColorSpace,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("y_stride", &self.layout.planes.y_stride)
            .field("uv_stride", &self.layout.planes.uv_stride)
            .field("timestamp_us", &self.timestamp_us)
            .field("rotation", &self.rotation)
            .field("color", &self.color)
            .finish()
    }
}

impl Clone for Frame {
    /// Shares the pixels (see the type docs); use [`FramePool::copy_of`] for a separate copy.
    fn clone(&self) -> Self {
        Frame {
            width: self.width,
            height: self.height,
            layout: self.layout,
            buf: self.buf.share(),
            timestamp_us: self.timestamp_us,
            rotation: self.rotation,
            color: self.color,
        }
    }
}

impl Frame {
    fn with_buffer(width: u32, height: u32, layout: Layout, buf: FrameBuffer) -> Self {
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
        let layout = Layout::packed(width, height);
        let mut data = vec![128u8; layout.total()];
        data[..layout.y_len].fill(16);
        Ok(Self::with_buffer(
            width,
            height,
            layout,
            FrameBuffer::unpooled(data),
        ))
    }

    /// A frame over a buffer a decoder filled (see [`FramePool::buffer`]), planes where `planes`
    /// says. Checks that every plane fits in the buffer with strides at least the row widths.
    pub fn from_buffer(
        buffer: FrameBuffer,
        width: u32,
        height: u32,
        planes: PlaneLayout,
    ) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let layout = Layout::checked(planes, width, height, buffer.len())?;
        Ok(Self::with_buffer(width, height, layout, buffer))
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
        self.layout.planes.y_stride
    }
    /// Bytes per chroma row (U and V).
    pub fn uv_stride(&self) -> usize {
        self.layout.planes.uv_stride
    }
    /// Luma plane, `y_stride * height` bytes.
    pub fn y(&self) -> &[u8] {
        let o = self.layout.planes.y_offset;
        &self.buf.bytes()[o..o + self.layout.y_len]
    }
    /// Cb plane, `uv_stride * chroma_height` bytes.
    pub fn u(&self) -> &[u8] {
        let o = self.layout.planes.u_offset;
        &self.buf.bytes()[o..o + self.layout.uv_len]
    }
    /// Cr plane, `uv_stride * chroma_height` bytes.
    pub fn v(&self) -> &[u8] {
        let o = self.layout.planes.v_offset;
        &self.buf.bytes()[o..o + self.layout.uv_len]
    }
    /// True when another frame shares this frame's pixels (then [`Frame::planes_mut`] copies).
    pub fn is_shared(&self) -> bool {
        self.buf.is_shared()
    }
    /// All three planes, mutable. A frame whose pixels are shared with another (a clone, or a
    /// decoder's reference picture) first gets its own copy, from the same pool.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        if self.buf.as_mut_slice().is_none() {
            self.buf = self.buf.copied();
        }
        let l = self.layout;
        let data = self.buf.as_mut_slice().unwrap_or_default();
        let p = l.planes;
        // Split the buffer into the three (disjoint) planes, in whatever order they lie.
        let mut spans = [
            (0usize, p.y_offset, l.y_len),
            (1, p.u_offset, l.uv_len),
            (2, p.v_offset, l.uv_len),
        ];
        spans.sort_by_key(|s| s.1);
        let mut out: [&mut [u8]; 3] = [&mut [], &mut [], &mut []];
        let mut rest = data;
        let mut at = 0;
        for (which, offset, len) in spans {
            let tail = std::mem::take(&mut rest);
            let (_, tail) = tail.split_at_mut(offset - at);
            let (plane, tail) = tail.split_at_mut(len);
            out[which] = plane;
            rest = tail;
            at = offset + len;
        }
        let [y, u, v] = out;
        (y, u, v)
    }
    /// Visible part of luma row `row`.
    pub fn y_row(&self, row: usize) -> &[u8] {
        let s = row * self.layout.planes.y_stride;
        &self.y()[s..s + self.width as usize]
    }
    /// Visible part of Cb row `row`.
    pub fn u_row(&self, row: usize) -> &[u8] {
        let s = row * self.layout.planes.uv_stride;
        &self.u()[s..s + self.chroma_width() as usize]
    }
    /// Visible part of Cr row `row`.
    pub fn v_row(&self, row: usize) -> &[u8] {
        let s = row * self.layout.planes.uv_stride;
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
    fn clones_share_pixels_and_writes_do_not_leak_between_them() {
        let pool = FramePool::new(4);
        let mut a = pool.frame(64, 48).unwrap();
        a.fill(10, 20, 30);
        a.set_timestamp_us(7);
        let mut b = a.clone();
        assert!(a.is_shared() && b.is_shared());
        assert_eq!(pool.allocations(), 1, "a clone allocates nothing");
        assert_eq!(b.timestamp_us(), 7);
        b.fill(99, 98, 97); // copy-on-write, from the same pool
        assert_eq!(pool.allocations(), 2);
        assert!(!a.is_shared() && !b.is_shared());
        assert_eq!(a.y_row(0)[0], 10);
        assert_eq!(b.y_row(0)[0], 99);
        assert_eq!(a.v_row(23)[31], 30);
        drop((a, b));
        // Both buffers came back: two more frames reuse them.
        let (_c, _d) = (pool.frame(64, 48).unwrap(), pool.frame(64, 48).unwrap());
        assert_eq!(pool.allocations(), 2);
    }

    #[test]
    fn a_shared_buffer_returns_to_the_pool_with_its_last_frame() {
        let pool = FramePool::new(1);
        let a = pool.frame(32, 32).unwrap();
        let b = a.clone();
        drop(a);
        let c = pool.frame(32, 32).unwrap(); // `b` still holds the first buffer
        assert_eq!(pool.allocations(), 2);
        drop((b, c));
        let _d = pool.frame(32, 32).unwrap();
        assert_eq!(pool.allocations(), 2);
    }

    #[test]
    fn pooled_copy_is_independent() {
        let pool = FramePool::new(2);
        let mut src = Frame::new(33, 17).unwrap();
        src.fill(1, 2, 3);
        src.set_rotation(Rotation::Deg270);
        let copy = pool.copy_of(&src).unwrap();
        assert!(copy.same_pixels(&src) && !copy.is_shared() && !src.is_shared());
        assert_eq!(copy.rotation(), Rotation::Deg270);
    }

    #[test]
    fn frames_over_foreign_layouts_are_checked() {
        let pool = FramePool::new(2);
        // A decoder's layout: 64-byte strides, V before U, padding between planes.
        let planes = PlaneLayout {
            y_offset: 64,
            y_stride: 64,
            v_offset: 64 + 64 * 20 + 8,
            u_offset: 64 + 64 * 20 + 8 + 64 * 10,
            uv_stride: 64,
        };
        let len = planes.u_offset + 64 * 10;
        let mut buf = pool.buffer(len);
        let bytes = buf.as_mut_slice().unwrap();
        bytes.fill(0);
        bytes[planes.y_offset..planes.y_offset + 64 * 20].fill(200);
        bytes[planes.u_offset..].fill(100);
        let mut f = Frame::from_buffer(buf.share(), 40, 20, planes).unwrap();
        assert!(buf.as_mut_slice().is_none(), "shared memory is read-only");
        assert_eq!(f.y_row(19), &[200; 40][..]);
        assert_eq!(f.u_row(9), &[100; 20][..]);
        assert_eq!(f.v_row(0), &[0; 20][..]);
        let (y, u, v) = f.planes_mut(); // private copy: the planes are split where they lie
        assert!(y.iter().all(|&b| b == 200) && u.iter().all(|&b| b == 100));
        assert!(v.iter().all(|&b| b == 0));
        drop(buf);

        let small = pool.buffer(100);
        assert!(matches!(
            Frame::from_buffer(small, 40, 20, planes),
            Err(FrameError::PlaneTooSmall { .. })
        ));
        let overlapping = PlaneLayout {
            u_offset: planes.y_offset + 64,
            ..planes
        };
        assert!(matches!(
            Frame::from_buffer(pool.buffer(len), 40, 20, overlapping),
            Err(FrameError::PlanesOverlap { first: "y", .. })
        ));
        let narrow = PlaneLayout {
            y_stride: 39,
            ..planes
        };
        assert!(matches!(
            Frame::from_buffer(pool.buffer(len), 40, 20, narrow),
            Err(FrameError::StrideTooSmall { plane: "y", .. })
        ));
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
