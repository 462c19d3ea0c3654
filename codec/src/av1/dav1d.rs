//! AV1 decoding with dav1d (the system `libdav1d` ≥ 1.0 through the `dav1d` crate).
//!
//! Configured for calls: `max_frame_delay = 1` (one temporal unit in, its picture out), operating
//! point 0, highest spatial layer only, film grain off unless asked, a frame-size limit so that a
//! hostile sequence header cannot make it allocate gigabytes. Pictures are copied into frames from
//! a small pool (dav1d owns its picture buffers), so steady-state decoding allocates nothing.
//!
//! Before handing data to dav1d the temporal unit's OBU framing is checked
//! ([`crate::av1::obu::inspect_temporal_unit`]): broken framing is [`DecodeError::Corrupt`], and
//! until a temporal unit with a sequence header and a key frame arrives (at the start and after
//! any error) inter frames are refused with [`DecodeError::MissingReference`].

use std::fmt;

use dav1d::{PixelLayout, PlanarImageComponent};

use crate::av1::obu::inspect_temporal_unit;
use crate::decoder::{DecodeError, DecoderConfig, DecoderInfo, VideoDecoder};
use crate::encoded::{CodecKind, Packet};
use crate::frame::{Frame, FramePool};

const NAME: &str = "dav1d";

/// The dav1d AV1 decoder.
pub struct Dav1dDecoder {
    dec: dav1d::Decoder,
    config: DecoderConfig,
    pool: FramePool,
    need_keyframe: bool,
    /// Extra pictures of the last temporal unit (all-layers mode).
    ready: Vec<Frame>,
}

impl fmt::Debug for Dav1dDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dav1dDecoder")
            .field("config", &self.config)
            .field("need_keyframe", &self.need_keyframe)
            .finish()
    }
}

fn map_err(e: dav1d::Error) -> DecodeError {
    match e {
        dav1d::Error::NotEnoughMemory => DecodeError::Backend {
            backend: NAME,
            detail: "out of memory".into(),
        },
        dav1d::Error::UnsupportedBitstream => DecodeError::Unsupported {
            backend: NAME,
            what: "bitstream feature not supported by dav1d".into(),
        },
        other => DecodeError::Corrupt {
            backend: NAME,
            detail: other.to_string(),
        },
    }
}

impl Dav1dDecoder {
    /// Creates a decoder.
    pub fn new(config: &DecoderConfig) -> Result<Self, DecodeError> {
        config.validate().map_err(|e| DecodeError::Unsupported {
            backend: NAME,
            what: e.to_string(),
        })?;
        let mut s = dav1d::Settings::new();
        s.set_n_threads(config.effective_threads());
        s.set_max_frame_delay(1);
        s.set_apply_grain(config.apply_film_grain);
        s.set_operating_point(u32::from(config.operating_point));
        s.set_all_layers(config.all_layers);
        s.set_frame_size_limit(u32::try_from(config.max_pixels).unwrap_or(u32::MAX));
        let dec = dav1d::Decoder::with_settings(&s).map_err(|e| DecodeError::Backend {
            backend: NAME,
            detail: format!("dav1d_open: {e}"),
        })?;
        Ok(Self {
            dec,
            config: config.clone(),
            pool: FramePool::new(4),
            need_keyframe: true,
            ready: Vec::new(),
        })
    }

    fn picture_to_frame(
        &self,
        pic: &dav1d::Picture,
        packet: &Packet,
    ) -> Result<Frame, DecodeError> {
        if pic.pixel_layout() != PixelLayout::I420 || pic.bit_depth() != 8 {
            return Err(DecodeError::Unsupported {
                backend: NAME,
                what: format!(
                    "{:?} {}-bit output (only 8-bit 4:2:0 is supported)",
                    pic.pixel_layout(),
                    pic.bits_per_component().map_or(pic.bit_depth(), |b| b.0)
                ),
            });
        }
        let (w, h) = (pic.width(), pic.height());
        let mut frame = self
            .pool
            .frame(w, h)
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
                    comp: PlanarImageComponent,
                    row: usize,
                    rows: usize| {
            let plane = pic.plane(comp);
            let src_stride = pic.stride(comp) as usize;
            for r in 0..rows {
                dst[r * dst_stride..r * dst_stride + row]
                    .copy_from_slice(&plane[r * src_stride..r * src_stride + row]);
            }
        };
        copy(y, ys, PlanarImageComponent::Y, w as usize, h as usize);
        copy(u, uvs, PlanarImageComponent::U, cw, ch);
        copy(v, uvs, PlanarImageComponent::V, cw, ch);
        frame.set_timestamp_us(pic.timestamp().unwrap_or(packet.timestamp_us));
        frame.set_rotation(packet.rotation);
        Ok(frame)
    }

    fn fail(&mut self, e: DecodeError) -> DecodeError {
        self.dec.flush();
        self.ready.clear();
        self.need_keyframe = true;
        e
    }

    /// Takes every picture dav1d has ready.
    fn drain_pictures(&mut self, out: &mut Vec<dav1d::Picture>) -> Result<(), DecodeError> {
        loop {
            match self.dec.get_picture() {
                Ok(p) => out.push(p),
                Err(dav1d::Error::Again) => return Ok(()),
                Err(e) => return Err(map_err(e)),
            }
        }
    }

    fn decode_inner(&mut self, packet: &Packet) -> Result<Option<Frame>, DecodeError> {
        let mut pictures = Vec::new();
        match self
            .dec
            .send_data(packet.data.clone(), None, Some(packet.timestamp_us), None)
        {
            Ok(()) => {}
            Err(dav1d::Error::Again) => {
                // dav1d wants pictures taken out before it accepts the rest of the data.
                loop {
                    self.drain_pictures(&mut pictures)?;
                    match self.dec.send_pending_data() {
                        Ok(()) => break,
                        Err(dav1d::Error::Again) => {}
                        Err(e) => return Err(map_err(e)),
                    }
                }
            }
            Err(e) => return Err(map_err(e)),
        }
        self.drain_pictures(&mut pictures)?;
        let mut frames = pictures
            .iter()
            .map(|p| self.picture_to_frame(p, packet))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        let first = frames.next();
        self.ready.extend(frames);
        Ok(first)
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
        match self.decode_inner(packet) {
            Ok(f) => Ok(f),
            Err(e) => Err(self.fail(e)),
        }
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
            let ts = p.timestamp().unwrap_or(0);
            out.push(self.picture_to_frame(p, &Packet::new(bytes::Bytes::new(), ts))?);
        }
        self.need_keyframe = true;
        Ok(out)
    }

    fn reset(&mut self) {
        self.dec.flush();
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
}
