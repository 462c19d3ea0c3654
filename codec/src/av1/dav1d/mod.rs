//! AV1 decoding with dav1d (the system `libdav1d` ≥ 1.0, through `dav1d-sys`).
//!
//! Configured for calls: `max_frame_delay = 1` (one temporal unit in, its picture out), operating
//! point 0, highest spatial layer only, film grain off unless asked, a frame-size limit so that a
//! hostile sequence header cannot make it allocate gigabytes, and dav1d's logger switched off (a
//! library must not write to the app's stderr; errors come back as values). dav1d decodes
//! straight into buffers of a small [`FramePool`] through its picture-allocator hook, and the
//! frames we return share those buffers with dav1d's reference pictures: no copy, and in steady
//! state no allocation (packets are copied into a few reused input buffers). Frames carry the
//! colour range and matrix of the sequence header.
//!
//! Before data reaches dav1d the temporal unit's OBU framing is checked
//! ([`crate::av1::obu::inspect_temporal_unit`]): broken framing is [`DecodeError::Corrupt`], and
//! until a temporal unit with a sequence header and a key frame arrives (at the start and after
//! any error) inter frames are refused with [`DecodeError::MissingReference`].
//!
//! We call the C API directly (the private `raw` module, the only `unsafe` code of this
//! backend) rather than through the `dav1d` crate: that crate offers no way to silence the
//! logger or to supply a picture allocator, and asserts (panics) on some call sequences.

use std::fmt;
use std::os::raw::c_int;

use crate::av1::obu::inspect_temporal_unit;
use crate::decoder::{DecodeError, DecoderConfig, DecoderInfo, VideoDecoder};
use crate::encoded::{CodecKind, Packet};
use crate::frame::{ColorSpace, Frame, FramePool, Matrix, Range};

mod raw;

const NAME: &str = "dav1d";
/// Idle buffers the pool keeps: dav1d holds up to 8 reference pictures plus the one it is
/// decoding, and the caller typically one or two on screen.
const POOL_BUFFERS: usize = 12;

/// The dav1d AV1 decoder.
pub struct Dav1dDecoder {
    ctx: raw::Context,
    config: DecoderConfig,
    pool: FramePool,
    need_keyframe: bool,
    /// Pictures of the current temporal unit (reused).
    pictures: Vec<raw::Picture>,
    /// Extra pictures of the last temporal unit (all-layers mode).
    ready: Vec<Frame>,
}

impl fmt::Debug for Dav1dDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dav1dDecoder")
            .field("config", &self.config)
            .field("need_keyframe", &self.need_keyframe)
            .field("pool", &self.pool)
            .finish()
    }
}

/// What a failed dav1d call means for the caller.
fn map_err(failure: raw::Failure) -> DecodeError {
    if failure.is_out_of_memory() {
        DecodeError::Backend {
            backend: NAME,
            detail: format!("{failure}: out of memory"),
        }
    } else if failure.is_unsupported() {
        DecodeError::Unsupported {
            backend: NAME,
            what: format!("{failure}: bitstream feature not supported by dav1d"),
        }
    } else {
        DecodeError::Corrupt {
            backend: NAME,
            detail: failure.to_string(),
        }
    }
}

impl Dav1dDecoder {
    /// Creates a decoder.
    pub fn new(config: &DecoderConfig) -> Result<Self, DecodeError> {
        config.validate().map_err(|e| DecodeError::Unsupported {
            backend: NAME,
            what: e.to_string(),
        })?;
        let settings = raw::Settings {
            threads: config.effective_threads() as c_int,
            max_frame_delay: 1,
            apply_grain: config.apply_film_grain,
            operating_point: c_int::from(config.operating_point),
            all_layers: config.all_layers,
            frame_size_limit: u32::try_from(config.max_pixels).unwrap_or(u32::MAX),
        };
        let pool = FramePool::new(POOL_BUFFERS);
        let ctx =
            raw::Context::open(&settings, pool.clone()).map_err(|f| DecodeError::Backend {
                backend: NAME,
                detail: f.to_string(),
            })?;
        Ok(Self {
            ctx,
            config: config.clone(),
            pool,
            need_keyframe: true,
            pictures: Vec::with_capacity(4),
            ready: Vec::new(),
        })
    }

    fn picture_to_frame(&self, pic: &raw::Picture, packet: &Packet) -> Result<Frame, DecodeError> {
        if pic.layout() != raw::Layout::I420 || pic.bits_per_component() != 8 {
            return Err(DecodeError::Unsupported {
                backend: NAME,
                what: format!(
                    "{} {}-bit output (only 8-bit 4:2:0 is supported)",
                    match pic.layout() {
                        raw::Layout::I400 => "monochrome",
                        raw::Layout::I422 => "4:2:2",
                        raw::Layout::I444 => "4:4:4",
                        raw::Layout::I420 => "4:2:0",
                    },
                    pic.bits_per_component()
                ),
            });
        }
        let (w, h) = (pic.width(), pic.height());
        let planes = pic.planes(self.ctx.pictures());
        let (Some((buffer, layout)), Ok(w), Ok(h)) = (planes, u32::try_from(w), u32::try_from(h))
        else {
            return Err(DecodeError::Backend {
                backend: NAME,
                detail: format!("picture without data ({w}x{h})"),
            });
        };
        let mut frame =
            Frame::from_buffer(buffer, w, h, layout).map_err(|e| DecodeError::Unsupported {
                backend: NAME,
                what: e.to_string(),
            })?;
        if let Some((bt709, full_range)) = pic.color() {
            frame.set_color_space(ColorSpace {
                matrix: if bt709 { Matrix::Bt709 } else { Matrix::Bt601 },
                range: if full_range {
                    Range::Full
                } else {
                    Range::Limited
                },
            });
        }
        frame.set_timestamp_us(if pic.timestamp() == i64::MIN {
            packet.timestamp_us
        } else {
            pic.timestamp()
        });
        frame.set_rotation(packet.rotation);
        Ok(frame)
    }

    fn fail(&mut self, e: DecodeError) -> DecodeError {
        self.pictures.clear();
        self.ctx.flush();
        self.ready.clear();
        self.need_keyframe = true;
        e
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
        let mut pictures = std::mem::take(&mut self.pictures);
        pictures.clear();
        let sent = self
            .ctx
            .send(&packet.data, packet.timestamp_us, &mut pictures);
        let mut first = None;
        let mut result = sent.map_err(map_err);
        if result.is_ok() {
            for p in pictures.drain(..) {
                match self.picture_to_frame(&p, packet) {
                    Ok(f) if first.is_none() => first = Some(f),
                    Ok(f) => self.ready.push(f),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        self.pictures = pictures;
        match result {
            Ok(()) => Ok(first),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn take_ready(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.ready)
    }

    fn flush(&mut self) -> Result<Vec<Frame>, DecodeError> {
        // With a frame delay of 1 nothing is normally pending; drain defensively.
        let mut pictures = Vec::new();
        if let Err(f) = self.ctx.drain(&mut pictures) {
            return Err(self.fail(map_err(f)));
        }
        let mut out = std::mem::take(&mut self.ready);
        for p in &pictures {
            let packet = Packet::new(bytes::Bytes::new(), p.timestamp());
            out.push(self.picture_to_frame(p, &packet)?);
        }
        self.need_keyframe = true;
        Ok(out)
    }

    fn reset(&mut self) {
        self.ctx.flush();
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
        let mut after_warm_up = 0;
        for n in 0..60 {
            if n == 30 {
                after_warm_up = dec.pool.allocations();
            }
            if let EncodeOutcome::Encoded(e) = enc.encode(&scene.frame(n), false).unwrap() {
                let f = dec.decode(&Packet::from(&e)).unwrap().unwrap();
                drop(f);
            }
        }
        // dav1d keeps up to 8 reference pictures plus the one it decodes into; they are all
        // pool buffers, and once they exist nothing more is allocated.
        assert!((1..=9).contains(&after_warm_up), "{after_warm_up} buffers");
        assert_eq!(
            dec.pool.allocations(),
            after_warm_up,
            "no allocation after warm-up"
        );
    }

    #[test]
    fn decoded_frames_share_dav1ds_pictures_and_stay_intact() {
        // A frame the caller keeps must not change while dav1d decodes further frames (it
        // shares the picture dav1d may still reference, never a buffer dav1d writes again).
        let mut enc = crate::av1::aom::AomEncoder::new(&EncoderConfig::new(
            CodecKind::Av1,
            96,
            64,
            300_000,
            30.0,
        ))
        .unwrap();
        let mut dec = Dav1dDecoder::new(&DecoderConfig::default()).unwrap();
        let scene = SyntheticScene::new(96, 64, 30.0).unwrap();
        let mut kept = Vec::new();
        for n in 0..30 {
            let EncodeOutcome::Encoded(e) = enc.encode(&scene.frame(n), false).unwrap() else {
                panic!("frame {n} not encoded");
            };
            let f = dec.decode(&Packet::from(&e)).unwrap().unwrap();
            let mut packed = Vec::new();
            f.write_packed_i420(&mut packed);
            kept.push((f, packed));
        }
        for (i, (f, packed)) in kept.iter().enumerate() {
            let mut now = Vec::new();
            f.write_packed_i420(&mut now);
            assert!(
                now == *packed,
                "decoded frame {i} changed after later decodes"
            );
        }
        // Writing to a kept frame copies it first; dav1d's reference stays as it was.
        let (f, packed) = &mut kept[29];
        let mut mine = f.clone();
        mine.fill(0, 0, 0);
        let mut again = Vec::new();
        f.write_packed_i420(&mut again);
        assert!(again == *packed);
        drop(kept);
        dec.reset();
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
