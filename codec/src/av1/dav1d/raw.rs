//! The C call layer for libdav1d: the context, the input buffers we lend it, and the picture
//! allocator through which it decodes straight into our [`FramePool`]. Every `unsafe` block of
//! the dav1d backend lives here; [`super::Dav1dDecoder`] decides what is sent when and what a
//! picture becomes.
//!
//! Memory, per decoded frame in steady state: none. Packets are copied into one of a few reused
//! input buffers (dav1d may keep a reference past `dav1d_send_data`, so it tells us through a
//! free callback when a buffer is ours again); pictures are allocated by dav1d through
//! [`PictureStore`] in pool buffers, which the returned [`Frame`]s share with dav1d's reference
//! list — no copy — until both let go.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::fmt;
use std::mem::MaybeUninit;
use std::os::raw::c_int;
use std::ptr::{self, NonNull};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use dav1d_sys as sys;

use crate::frame::{FrameBuffer, FramePool, PlaneLayout};

/// dav1d's `DAV1D_PICTURE_ALIGNMENT`: plane pointers and strides must be multiples of it.
const PICTURE_ALIGNMENT: usize = 64;

/// Settings of a context.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub threads: c_int,
    pub max_frame_delay: c_int,
    pub apply_grain: bool,
    pub operating_point: c_int,
    pub all_layers: bool,
    pub frame_size_limit: u32,
}

/// A failed dav1d call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// dav1d returned this (negative errno) code from the named call.
    Code(&'static str, c_int),
    /// dav1d neither consumed data nor produced a picture: it cannot make progress.
    Stuck,
}

impl Failure {
    /// True for `DAV1D_ERR_NOMEM`.
    pub fn is_out_of_memory(self) -> bool {
        matches!(self, Failure::Code(_, sys::DAV1D_ERR_NOMEM))
    }

    /// True for `DAV1D_ERR_NOPROTOOPT` (a bitstream feature dav1d does not support).
    pub fn is_unsupported(self) -> bool {
        matches!(self, Failure::Code(_, sys::DAV1D_ERR_NOPROTOOPT))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Code(what, c) => write!(f, "{what} failed ({c})"),
            Failure::Stuck => f.write_str("dav1d cannot make progress on this data"),
        }
    }
}

/// Pixel layout of a decoded picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    I400,
    I420,
    I422,
    I444,
}

/// One input buffer lent to dav1d.
struct InputSlot {
    /// Written only by `Context::send` while `lent` is false; read by dav1d while it is true.
    bytes: UnsafeCell<Vec<u8>>,
    lent: AtomicBool,
}

// SAFETY: `bytes` is only written by the thread that owns the `Context` (`&mut self`) while
// `lent` is false, and only read by dav1d between lending (`lent = true`) and dav1d's free
// callback (`lent = false`, release ordering, paired with the acquire load before the next
// write).
unsafe impl Sync for InputSlot {}

/// dav1d's free callback for lent input buffers.
unsafe extern "C" fn release_input(_data: *const u8, cookie: *mut c_void) {
    // SAFETY: `cookie` points at a boxed `InputSlot` of the context, which outlives every
    // reference dav1d holds (the context closes dav1d before dropping its slots).
    let slot = unsafe { &*cookie.cast::<InputSlot>() };
    slot.lent.store(false, Ordering::Release);
}

/// The pictures dav1d has allocated from our pool and not yet released, by slab index.
pub(super) struct PictureStore {
    pool: FramePool,
    held: Mutex<Vec<Option<FrameBuffer>>>,
}

impl PictureStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<FrameBuffer>>> {
        // A poisoned lock means a panic elsewhere while it was held; the slab is still valid.
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Geometry dav1d's own allocator uses (`dav1d_default_picture_alloc`): sizes padded to 128
/// pixels, strides nudged off multiples of 1024, planes aligned to 64 bytes.
fn plane_geometry(p: &sys::Dav1dPictureParameters) -> Option<(usize, usize, usize, usize)> {
    let (w, h) = (usize::try_from(p.w).ok()?, usize::try_from(p.h).ok()?);
    let hbd = usize::from(p.bpc > 8);
    let aligned_w = (w + 127) & !127;
    let aligned_h = (h + 127) & !127;
    let has_chroma = p.layout != sys::DAV1D_PIXEL_LAYOUT_I400;
    let ss_ver = usize::from(p.layout == sys::DAV1D_PIXEL_LAYOUT_I420);
    let ss_hor = usize::from(p.layout != sys::DAV1D_PIXEL_LAYOUT_I444);
    let mut y_stride = aligned_w << hbd;
    let mut uv_stride = if has_chroma { y_stride >> ss_hor } else { 0 };
    if y_stride & 1023 == 0 {
        y_stride += PICTURE_ALIGNMENT;
    }
    if has_chroma && uv_stride & 1023 == 0 {
        uv_stride += PICTURE_ALIGNMENT;
    }
    let y_len = y_stride.checked_mul(aligned_h)?;
    let uv_len = uv_stride.checked_mul(aligned_h >> ss_ver)?;
    Some((y_stride, uv_stride, y_len, uv_len))
}

/// dav1d's picture allocator: a pool buffer per picture.
unsafe extern "C" fn alloc_picture(pic: *mut sys::Dav1dPicture, cookie: *mut c_void) -> c_int {
    // SAFETY: `cookie` is the context's boxed `PictureStore`, alive while dav1d is open; `pic`
    // is a valid picture whose parameters dav1d has filled.
    let (store, pic) = unsafe { (&*cookie.cast::<PictureStore>(), &mut *pic) };
    let Some((y_stride, uv_stride, y_len, uv_len)) = plane_geometry(&pic.p) else {
        return sys::DAV1D_ERR_INVAL;
    };
    let Some(total) = y_len
        .checked_add(2 * uv_len)
        .and_then(|t| t.checked_add(2 * PICTURE_ALIGNMENT))
    else {
        return sys::DAV1D_ERR_NOMEM;
    };
    let mut buffer = store.pool.buffer(total);
    let Some(bytes) = buffer.as_mut_slice() else {
        return sys::DAV1D_ERR_NOMEM;
    };
    let base = bytes.as_mut_ptr();
    let start = base.align_offset(PICTURE_ALIGNMENT);
    // SAFETY: `start < PICTURE_ALIGNMENT` and the buffer holds the planes plus twice the
    // alignment (the second for dav1d's required padding after the last plane), so every
    // plane pointer below stays inside it.
    unsafe {
        let y = base.add(start);
        pic.data[0] = y.cast();
        if uv_len > 0 {
            pic.data[1] = y.add(y_len).cast();
            pic.data[2] = y.add(y_len + uv_len).cast();
        } else {
            pic.data[1] = ptr::null_mut();
            pic.data[2] = ptr::null_mut();
        }
    }
    pic.stride = [y_stride as isize, uv_stride as isize];
    let mut held = store.lock();
    let index = match held.iter().position(Option::is_none) {
        Some(i) => {
            held[i] = Some(buffer);
            i
        }
        None => {
            held.push(Some(buffer));
            held.len() - 1
        }
    };
    // The slab index (plus one, so that it is never NULL) identifies the buffer later.
    pic.allocator_data = ptr::without_provenance_mut(index + 1);
    0
}

/// dav1d's release callback: the buffer goes back to the pool once no frame shares it either.
unsafe extern "C" fn release_picture(pic: *mut sys::Dav1dPicture, cookie: *mut c_void) {
    // SAFETY: as in `alloc_picture`; dav1d calls this once per allocated picture, possibly
    // from one of its worker threads (the slab is behind a mutex).
    let (store, pic) = unsafe { (&*cookie.cast::<PictureStore>(), &*pic) };
    let index = (pic.allocator_data as usize).wrapping_sub(1);
    let buffer = store.lock().get_mut(index).and_then(Option::take);
    drop(buffer); // outside the lock
}

/// A picture dav1d returned; unreferenced when dropped.
pub(super) struct Picture(sys::Dav1dPicture);

// SAFETY: a Dav1dPicture is a set of reference-counted pointers into dav1d's (thread-safe)
// reference system and into our pool buffers; it can be released from any thread.
unsafe impl Send for Picture {}

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: the picture came from dav1d_get_picture and is released once.
        unsafe { sys::dav1d_picture_unref(&mut self.0) };
    }
}

impl Picture {
    pub fn width(&self) -> c_int {
        self.0.p.w
    }

    pub fn height(&self) -> c_int {
        self.0.p.h
    }

    pub fn bits_per_component(&self) -> c_int {
        self.0.p.bpc
    }

    pub fn layout(&self) -> Layout {
        match self.0.p.layout {
            sys::DAV1D_PIXEL_LAYOUT_I400 => Layout::I400,
            sys::DAV1D_PIXEL_LAYOUT_I422 => Layout::I422,
            sys::DAV1D_PIXEL_LAYOUT_I444 => Layout::I444,
            _ => Layout::I420,
        }
    }

    /// The timestamp of the data the picture came from (`i64::MIN` when dav1d has none).
    pub fn timestamp(&self) -> i64 {
        self.0.m.timestamp
    }

    /// From the sequence header: (matrix is BT.709, full range).
    pub fn color(&self) -> Option<(bool, bool)> {
        if self.0.seq_hdr.is_null() {
            return None;
        }
        // SAFETY: a picture's sequence header stays valid while the picture is referenced.
        let seq = unsafe { &*self.0.seq_hdr };
        Some((seq.mtrx == sys::DAV1D_MC_BT709, seq.color_range != 0))
    }

    /// The pool buffer holding the picture's planes (shared with dav1d) and where they are in
    /// it; `None` if the picture did not come from our allocator.
    pub fn planes(&self, store: &PictureStore) -> Option<(FrameBuffer, PlaneLayout)> {
        let index = (self.0.allocator_data as usize).checked_sub(1)?;
        let buffer = store.lock().get(index)?.as_ref()?.share();
        let base = buffer_start(&buffer);
        let offset = |p: *mut c_void| (p as usize).checked_sub(base);
        let y_offset = offset(self.0.data[0])?;
        let (u_offset, v_offset) = if self.0.data[1].is_null() {
            (y_offset, y_offset)
        } else {
            (offset(self.0.data[1])?, offset(self.0.data[2])?)
        };
        let planes = PlaneLayout {
            y_offset,
            u_offset,
            v_offset,
            y_stride: usize::try_from(self.0.stride[0]).ok()?,
            uv_stride: usize::try_from(self.0.stride[1]).ok()?,
        };
        Some((buffer, planes))
    }
}

/// Address of the first byte of a buffer (for turning plane pointers back into offsets).
fn buffer_start(buffer: &FrameBuffer) -> usize {
    buffer.as_ptr() as usize
}

/// An open dav1d decoder.
pub(super) struct Context {
    ctx: NonNull<sys::Dav1dContext>,
    /// Boxed so that the cookies dav1d holds stay put; dropped after `dav1d_close`.
    pictures: Box<PictureStore>,
    /// Boxed for the same reason: dav1d holds pointers to slots while the Vec grows.
    #[allow(clippy::vec_box)]
    inputs: Vec<Box<InputSlot>>,
}

// SAFETY: a dav1d context has no thread affinity (its worker threads are internal); it is only
// used through `&mut self`. The stores it points into are `Sync`.
unsafe impl Send for Context {}

impl Context {
    /// Opens a decoder that allocates its pictures from `pool`.
    pub fn open(settings: &Settings, pool: FramePool) -> Result<Self, Failure> {
        let pictures = Box::new(PictureStore {
            pool,
            held: Mutex::new(Vec::with_capacity(16)),
        });
        // SAFETY: all-zero is a valid Dav1dSettings; dav1d_default_settings fills it.
        let mut s: sys::Dav1dSettings = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: `s` is a valid, writable settings struct.
        unsafe { sys::dav1d_default_settings(&mut s) };
        s.n_threads = settings.threads;
        s.max_frame_delay = settings.max_frame_delay;
        s.apply_grain = c_int::from(settings.apply_grain);
        s.operating_point = settings.operating_point;
        s.all_layers = c_int::from(settings.all_layers);
        s.frame_size_limit = settings.frame_size_limit;
        // No logger: dav1d checks for a NULL callback and stays silent.
        s.logger.callback = ptr::null_mut();
        s.logger.cookie = ptr::null_mut();
        s.allocator = sys::Dav1dPicAllocator {
            cookie: (&*pictures as *const PictureStore).cast_mut().cast(),
            alloc_picture_callback: Some(alloc_picture),
            release_picture_callback: Some(release_picture),
        };
        let mut ctx: *mut sys::Dav1dContext = ptr::null_mut();
        // SAFETY: valid settings; dav1d writes a new context pointer on success.
        let r = unsafe { sys::dav1d_open(&mut ctx, &s) };
        let ctx = NonNull::new(ctx)
            .filter(|_| r >= 0)
            .ok_or(Failure::Code("dav1d_open", r))?;
        Ok(Self {
            ctx,
            pictures,
            inputs: Vec::new(),
        })
    }

    /// The store that turns pictures back into pool buffers.
    pub fn pictures(&self) -> &PictureStore {
        &self.pictures
    }

    /// A copy of `data` in an input buffer dav1d does not hold: (pointer, length, cookie).
    fn lend(&mut self, data: &[u8]) -> (*const u8, usize, *mut c_void) {
        let index = match self
            .inputs
            .iter()
            .position(|s| !s.lent.load(Ordering::Acquire))
        {
            Some(i) => i,
            None => {
                self.inputs.push(Box::new(InputSlot {
                    bytes: UnsafeCell::new(Vec::new()),
                    lent: AtomicBool::new(false),
                }));
                self.inputs.len() - 1
            }
        };
        let slot = &*self.inputs[index];
        // SAFETY: the slot is not lent (acquire load above, or new), so dav1d does not read its
        // bytes, and only this thread (`&mut self`) writes them.
        let bytes = unsafe { &mut *slot.bytes.get() };
        bytes.clear();
        bytes.extend_from_slice(data);
        slot.lent.store(true, Ordering::Relaxed);
        (
            bytes.as_ptr(),
            bytes.len(),
            (slot as *const InputSlot).cast_mut().cast(),
        )
    }

    /// Hands `data` (one temporal unit) to dav1d, taking pictures out whenever it asks, and
    /// appends every picture that comes out to `out`.
    pub fn send(
        &mut self,
        data: &[u8],
        timestamp: i64,
        out: &mut Vec<Picture>,
    ) -> Result<(), Failure> {
        let (ptr, len, cookie) = self.lend(data);
        // SAFETY: all-zero is a valid empty Dav1dData.
        let mut wrapped: sys::Dav1dData = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: ptr/len describe the slot's bytes, which stay untouched until dav1d calls
        // `release_input` with the cookie (exactly once, also when we unref leftover data).
        let r =
            unsafe { sys::dav1d_data_wrap(&mut wrapped, ptr, len, Some(release_input), cookie) };
        if r < 0 {
            // dav1d did not take the buffer: it is ours again.
            // SAFETY: the cookie points at a live slot.
            unsafe { release_input(ptr, cookie) };
            return Err(Failure::Code("dav1d_data_wrap", r));
        }
        wrapped.m.timestamp = timestamp;
        let result = loop {
            // SAFETY: live context; `wrapped` is a wrapped buffer dav1d consumes from.
            let r = unsafe { sys::dav1d_send_data(self.ctx.as_ptr(), &mut wrapped) };
            match r {
                0 if wrapped.sz == 0 => break Ok(()),
                0 | sys::DAV1D_ERR_AGAIN => {
                    let before = out.len();
                    if let Err(e) = self.drain(out) {
                        break Err(e);
                    }
                    if r == sys::DAV1D_ERR_AGAIN && out.len() == before {
                        break Err(Failure::Stuck);
                    }
                }
                e => break Err(Failure::Code("dav1d_send_data", e)),
            }
        };
        if wrapped.sz > 0 {
            // SAFETY: unconsumed data we still hold a reference to.
            unsafe { sys::dav1d_data_unref(&mut wrapped) };
        }
        result?;
        self.drain(out)
    }

    /// Takes every picture dav1d has ready.
    pub fn drain(&mut self, out: &mut Vec<Picture>) -> Result<(), Failure> {
        loop {
            // SAFETY: all-zero is the documented initial state of an output picture.
            let mut pic: sys::Dav1dPicture = unsafe { MaybeUninit::zeroed().assume_init() };
            // SAFETY: live context, valid output struct.
            let r = unsafe { sys::dav1d_get_picture(self.ctx.as_ptr(), &mut pic) };
            match r {
                0 => out.push(Picture(pic)),
                sys::DAV1D_ERR_AGAIN => return Ok(()),
                e => return Err(Failure::Code("dav1d_get_picture", e)),
            }
        }
    }

    /// Drops all state (pending data and pictures, references).
    pub fn flush(&mut self) {
        // SAFETY: live context.
        unsafe { sys::dav1d_flush(self.ctx.as_ptr()) };
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let mut p = self.ctx.as_ptr();
        // SAFETY: the context is live and closed exactly once; closing releases every picture
        // and input buffer dav1d still holds, before `pictures` and `inputs` are dropped.
        unsafe { sys::dav1d_close(&mut p) };
    }
}
