//! AV1 decoding with dav1d (the system `libdav1d` ≥ 1.0, through `dav1d-sys`).
//!
//! Configured for calls: `max_frame_delay = 1` (one temporal unit in, its picture out), operating
//! point 0, highest spatial layer only, film grain off unless asked, a frame-size limit so that a
//! hostile sequence header cannot make it allocate gigabytes, and dav1d's logger switched off (a
//! library must not write to the app's stderr; errors come back as values). Pictures are copied
//! into frames from a small pool (dav1d owns its picture buffers), so steady-state decoding
//! allocates nothing; they carry the colour range and matrix of the sequence header.
//!
//! Before data reaches dav1d the temporal unit's OBU framing is checked
//! ([`crate::av1::obu::inspect_temporal_unit`]): broken framing is [`DecodeError::Corrupt`], and
//! until a temporal unit with a sequence header and a key frame arrives (at the start and after
//! any error) inter frames are refused with [`DecodeError::MissingReference`].
//!
//! We call the C API directly rather than through the `dav1d` crate: that crate offers no way to
//! silence the logger and asserts (panics) on some call sequences.

use std::ffi::c_void;
use std::fmt;
use std::mem::MaybeUninit;
use std::os::raw::c_int;
use std::ptr::{self, NonNull};

use bytes::Bytes;
use dav1d_sys as sys;

use crate::av1::obu::inspect_temporal_unit;
use crate::decoder::{DecodeError, DecoderConfig, DecoderInfo, VideoDecoder};
use crate::encoded::{CodecKind, Packet};
use crate::frame::{ColorSpace, Frame, FramePool, Matrix, Range};

const NAME: &str = "dav1d";

/// The dav1d AV1 decoder.
pub struct Dav1dDecoder {
    ctx: NonNull<sys::Dav1dContext>,
    config: DecoderConfig,
    pool: FramePool,
    need_keyframe: bool,
    /// Extra pictures of the last temporal unit (all-layers mode).
    ready: Vec<Frame>,
}

// SAFETY: a dav1d context has no thread affinity (its worker threads are internal); we only use
// it through `&mut self`.
unsafe impl Send for Dav1dDecoder {}

impl fmt::Debug for Dav1dDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dav1dDecoder")
            .field("config", &self.config)
            .field("need_keyframe", &self.need_keyframe)
            .finish()
    }
}

fn map_err(code: c_int, what: &str) -> DecodeError {
    match code {
        sys::DAV1D_ERR_NOMEM => DecodeError::Backend {
            backend: NAME,
            detail: format!("{what}: out of memory"),
        },
        sys::DAV1D_ERR_NOPROTOOPT => DecodeError::Unsupported {
            backend: NAME,
            what: format!("{what}: bitstream feature not supported by dav1d"),
        },
        c => DecodeError::Corrupt {
            backend: NAME,
            detail: format!("{what} failed ({c})"),
        },
    }
}

/// Frees the `Bytes` we lent dav1d once it is done with them.
unsafe extern "C" fn release_bytes(_data: *const u8, cookie: *mut c_void) {
    // SAFETY: `cookie` is the `Box<Bytes>` leaked in `send`; dav1d calls this exactly once.
    drop(unsafe { Box::from_raw(cookie.cast::<Bytes>()) });
}

/// A picture owned by us until dropped.
struct Picture(sys::Dav1dPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: the picture came from dav1d_get_picture and is released once.
        unsafe { sys::dav1d_picture_unref(&mut self.0) };
    }
}

impl Dav1dDecoder {
    /// Creates a decoder.
    pub fn new(config: &DecoderConfig) -> Result<Self, DecodeError> {
        config.validate().map_err(|e| DecodeError::Unsupported {
            backend: NAME,
            what: e.to_string(),
        })?;
        // SAFETY: all-zero is a valid Dav1dSettings; dav1d_default_settings fills it.
        let mut s: sys::Dav1dSettings = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: `s` is a valid, writable settings struct.
        unsafe { sys::dav1d_default_settings(&mut s) };
        s.n_threads = config.effective_threads() as c_int;
        s.max_frame_delay = 1;
        s.apply_grain = c_int::from(config.apply_film_grain);
        s.operating_point = c_int::from(config.operating_point);
        s.all_layers = c_int::from(config.all_layers);
        s.frame_size_limit = u32::try_from(config.max_pixels).unwrap_or(u32::MAX);
        // No logger: dav1d checks for a NULL callback and stays silent.
        s.logger.callback = ptr::null_mut();
        s.logger.cookie = ptr::null_mut();
        let mut ctx: *mut sys::Dav1dContext = ptr::null_mut();
        // SAFETY: valid settings; dav1d writes a new context pointer on success.
        let r = unsafe { sys::dav1d_open(&mut ctx, &s) };
        let ctx = NonNull::new(ctx)
            .filter(|_| r >= 0)
            .ok_or_else(|| DecodeError::Backend {
                backend: NAME,
                detail: format!("dav1d_open failed ({r})"),
            })?;
        Ok(Self {
            ctx,
            config: config.clone(),
            pool: FramePool::new(4),
            need_keyframe: true,
            ready: Vec::new(),
        })
    }

    fn picture_to_frame(&self, pic: &Picture, packet: &Packet) -> Result<Frame, DecodeError> {
        let p = &pic.0;
        if p.p.layout != sys::DAV1D_PIXEL_LAYOUT_I420 || p.p.bpc != 8 {
            return Err(DecodeError::Unsupported {
                backend: NAME,
                what: format!(
                    "{} {}-bit output (only 8-bit 4:2:0 is supported)",
                    match p.p.layout {
                        sys::DAV1D_PIXEL_LAYOUT_I400 => "monochrome",
                        sys::DAV1D_PIXEL_LAYOUT_I422 => "4:2:2",
                        sys::DAV1D_PIXEL_LAYOUT_I444 => "4:4:4",
                        _ => "4:2:0",
                    },
                    p.p.bpc
                ),
            });
        }
        let (w, h) = (p.p.w, p.p.h);
        if w <= 0 || h <= 0 || p.data.iter().any(|d| d.is_null()) {
            return Err(DecodeError::Backend {
                backend: NAME,
                detail: format!("picture without data ({w}x{h})"),
            });
        }
        let mut frame =
            self.pool
                .frame(w as u32, h as u32)
                .map_err(|e| DecodeError::Unsupported {
                    backend: NAME,
                    what: e.to_string(),
                })?;
        let (ys, uvs) = (frame.y_stride(), frame.uv_stride());
        let (cw, ch) = (
            frame.chroma_width() as usize,
            frame.chroma_height() as usize,
        );
        let (y, u, v) = frame.planes_mut();
        let copy = |dst: &mut [u8],
                    dst_stride: usize,
                    src: *const u8,
                    src_stride: isize,
                    row: usize,
                    rows: usize| {
            for r in 0..rows {
                // SAFETY: an 8-bit 4:2:0 dav1d picture has `rows` rows of `src_stride` bytes per
                // plane (luma h, chroma ceil(h/2)), each with at least `row` samples; the picture
                // stays referenced while we copy.
                let s =
                    unsafe { std::slice::from_raw_parts(src.offset(r as isize * src_stride), row) };
                dst[r * dst_stride..r * dst_stride + row].copy_from_slice(s);
            }
        };
        copy(y, ys, p.data[0].cast(), p.stride[0], w as usize, h as usize);
        copy(u, uvs, p.data[1].cast(), p.stride[1], cw, ch);
        copy(v, uvs, p.data[2].cast(), p.stride[1], cw, ch);
        if !p.seq_hdr.is_null() {
            // SAFETY: a picture's sequence header pointer stays valid while it is referenced.
            let seq = unsafe { &*p.seq_hdr };
            frame.set_color_space(ColorSpace {
                matrix: if seq.mtrx == sys::DAV1D_MC_BT709 {
                    Matrix::Bt709
                } else {
                    Matrix::Bt601
                },
                range: if seq.color_range != 0 {
                    Range::Full
                } else {
                    Range::Limited
                },
            });
        }
        frame.set_timestamp_us(if p.m.timestamp == i64::MIN {
            packet.timestamp_us
        } else {
            p.m.timestamp
        });
        frame.set_rotation(packet.rotation);
        Ok(frame)
    }

    fn fail(&mut self, e: DecodeError) -> DecodeError {
        // SAFETY: live context.
        unsafe { sys::dav1d_flush(self.ctx.as_ptr()) };
        self.ready.clear();
        self.need_keyframe = true;
        e
    }

    /// Takes every picture dav1d has ready.
    fn drain_pictures(&mut self, out: &mut Vec<Picture>) -> Result<(), DecodeError> {
        loop {
            // SAFETY: all-zero is the documented initial state of an output picture.
            let mut pic: sys::Dav1dPicture = unsafe { MaybeUninit::zeroed().assume_init() };
            // SAFETY: live context, valid output struct.
            let r = unsafe { sys::dav1d_get_picture(self.ctx.as_ptr(), &mut pic) };
            match r {
                0 => out.push(Picture(pic)),
                sys::DAV1D_ERR_AGAIN => return Ok(()),
                e => return Err(map_err(e, "dav1d_get_picture")),
            }
        }
    }

    /// Hands `packet` to dav1d (taking pictures out whenever it asks) and collects what comes out.
    fn send(&mut self, packet: &Packet, pictures: &mut Vec<Picture>) -> Result<(), DecodeError> {
        let bytes = Box::new(packet.data.clone());
        let (ptr, len) = (bytes.as_ptr(), bytes.len());
        let cookie = Box::into_raw(bytes).cast::<c_void>();
        // SAFETY: all-zero is a valid empty Dav1dData.
        let mut data: sys::Dav1dData = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: ptr/len describe the boxed Bytes, which stay alive until dav1d calls
        // `release_bytes` with the cookie (exactly once, also on failure paths via unref).
        let r = unsafe { sys::dav1d_data_wrap(&mut data, ptr, len, Some(release_bytes), cookie) };
        if r < 0 {
            // dav1d did not take ownership: free it ourselves.
            // SAFETY: the cookie is still ours.
            unsafe { release_bytes(ptr, cookie) };
            return Err(map_err(r, "dav1d_data_wrap"));
        }
        data.m.timestamp = packet.timestamp_us;
        let result = loop {
            // SAFETY: live context; `data` is a wrapped buffer dav1d consumes from.
            let r = unsafe { sys::dav1d_send_data(self.ctx.as_ptr(), &mut data) };
            match r {
                0 if data.sz == 0 => break Ok(()),
                0 | sys::DAV1D_ERR_AGAIN => {
                    let before = pictures.len();
                    if let Err(e) = self.drain_pictures(pictures) {
                        break Err(e);
                    }
                    if r == sys::DAV1D_ERR_AGAIN && pictures.len() == before {
                        // Nothing to take out and nothing consumed: dav1d is stuck on this data.
                        break Err(DecodeError::Corrupt {
                            backend: NAME,
                            detail: "dav1d cannot make progress on this data".into(),
                        });
                    }
                }
                e => break Err(map_err(e, "dav1d_send_data")),
            }
        };
        if data.sz > 0 {
            // SAFETY: unconsumed data we still hold a reference to.
            unsafe { sys::dav1d_data_unref(&mut data) };
        }
        result?;
        self.drain_pictures(pictures)
    }
}

impl Drop for Dav1dDecoder {
    fn drop(&mut self) {
        let mut p = self.ctx.as_ptr();
        // SAFETY: the context is live and closed exactly once.
        unsafe { sys::dav1d_close(&mut p) };
    }
}

impl VideoDecoder for Dav1dDecoder {
    fn info(&self) -> DecoderInfo {
        DecoderInfo {
            implementation: NAME,
            codec: CodecKind::Av1,
            is_hardware_accelerated: false,
        }
    }

    fn decode(&mut self, packet: &Packet) -> Result<Option<Frame>, DecodeError> {
        if packet.data.is_empty() {
            return Err(DecodeError::Corrupt {
                backend: NAME,
                detail: "empty packet".into(),
            });
        }
        let tu = match inspect_temporal_unit(&packet.data) {
            Ok(tu) => tu,
            Err(e) => {
                let err = DecodeError::Corrupt {
                    backend: NAME,
                    detail: e.to_string(),
                };
                return Err(self.fail(err));
            }
        };
        if tu.is_random_access_point() {
            self.need_keyframe = false;
        } else if self.need_keyframe {
            return Err(DecodeError::MissingReference { backend: NAME });
        }
        let mut pictures = Vec::new();
        if let Err(e) = self.send(packet, &mut pictures) {
            return Err(self.fail(e));
        }
        let mut frames = Vec::with_capacity(pictures.len());
        for p in &pictures {
            match self.picture_to_frame(p, packet) {
                Ok(f) => frames.push(f),
                Err(e) => return Err(self.fail(e)),
            }
        }
        let mut frames = frames.into_iter();
        let first = frames.next();
        self.ready.extend(frames);
        Ok(first)
    }

    fn take_ready(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.ready)
    }

    fn flush(&mut self) -> Result<Vec<Frame>, DecodeError> {
        // With a frame delay of 1 nothing is normally pending; drain defensively.
        let mut pictures = Vec::new();
        if let Err(e) = self.drain_pictures(&mut pictures) {
            return Err(self.fail(e));
        }
        let mut out = std::mem::take(&mut self.ready);
        for p in &pictures {
            let ts = p.0.m.timestamp;
            out.push(self.picture_to_frame(p, &Packet::new(Bytes::new(), ts))?);
        }
        self.need_keyframe = true;
        Ok(out)
    }

    fn reset(&mut self) {
        // SAFETY: live context.
        unsafe { sys::dav1d_flush(self.ctx.as_ptr()) };
        self.ready.clear();
        self.need_keyframe = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::{EncodeOutcome, EncoderConfig, VideoEncoder};
    use crate::synthetic::SyntheticScene;

    #[test]
    fn steady_state_decoding_reuses_frame_buffers() {
        let mut enc = crate::av1::aom::AomEncoder::new(&EncoderConfig::new(
            CodecKind::Av1,
            160,
            90,
            200_000,
            30.0,
        ))
        .unwrap();
        let mut dec = Dav1dDecoder::new(&DecoderConfig::default()).unwrap();
        let scene = SyntheticScene::new(160, 90, 30.0).unwrap();
        for n in 0..40 {
            if let EncodeOutcome::Encoded(e) = enc.encode(&scene.frame(n), false).unwrap() {
                let f = dec.decode(&Packet::from(&e)).unwrap().unwrap();
                drop(f);
            }
        }
        assert_eq!(
            dec.pool.allocations(),
            1,
            "one buffer, reused for every frame"
        );
    }

    #[test]
    fn colour_space_comes_from_the_sequence_header() {
        let mut enc = crate::av1::aom::AomEncoder::new(&EncoderConfig::new(
            CodecKind::Av1,
            64,
            64,
            200_000,
            30.0,
        ))
        .unwrap();
        let mut dec = Dav1dDecoder::new(&DecoderConfig::default()).unwrap();
        let mut f = SyntheticScene::new(64, 64, 30.0).unwrap().frame(0);
        f.set_color_space(ColorSpace::BT709_FULL);
        let EncodeOutcome::Encoded(e) = enc.encode(&f, false).unwrap() else {
            panic!("no output")
        };
        let out = dec.decode(&Packet::from(&e)).unwrap().unwrap();
        assert_eq!(out.color_space(), ColorSpace::BT709_FULL);
    }
}
