//! The openh264 decoder, in safe code: access-unit checks, waiting for an IDR, the parameter-set
//! cache replayed after a reset, error mapping and copying pictures into pooled frames. The
//! calls themselves are in `raw`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::os::raw::c_int;

use openh264_sys2 as sys;

use super::raw;
use crate::decoder::{DecodeError, DecoderConfig, DecoderInfo, VideoDecoder};
use crate::encoded::{CodecKind, Packet};
use crate::frame::{Frame, FramePool, Rotation};
use crate::h264::bitstream::{
    NAL_IDR_SLICE, NAL_PPS, NAL_SLICE, NAL_SPS, nal_type, nal_units, parse_pps, parse_sps,
};

const NAME: &str = "openh264";
/// openh264 refuses larger access units (`MAX_ACCESS_UNIT_CAPACITY`) and then reports
/// "out of memory"; we refuse them first, as corrupt.
const MAX_ACCESS_UNIT_BYTES: usize = 7_077_888;
/// Packets whose rotation is remembered for pictures that come out later (reordering streams).
const PENDING_ROTATIONS: usize = 32;

fn backend(detail: impl Into<String>) -> DecodeError {
    DecodeError::Backend {
        backend: NAME,
        detail: detail.into(),
    }
}

impl From<raw::DecoderFailure> for DecodeError {
    fn from(f: raw::DecoderFailure) -> Self {
        backend(f.0)
    }
}

/// The openh264 H.264 decoder.
pub struct OpenH264Decoder {
    dec: raw::Decoder,
    config: DecoderConfig,
    pool: FramePool,
    need_keyframe: bool,
    /// Latest SPS/PPS NAL units by (type, id), replayed after a reset: many streams send them
    /// only once, at the start. Updated in place (no allocation when they repeat).
    param_sets: BTreeMap<(u8, u32), Vec<u8>>,
    /// The instance was reset; the cached parameter sets must go in before the next IDR.
    replay_param_sets: bool,
    /// Reused buffer for the replayed parameter sets.
    replay: Vec<u8>,
    /// Profile of the latest SPS: Baseline streams (66) never reorder, so a complete access unit
    /// that yields no picture was damaged.
    baseline: bool,
    /// Rotation of recent packets by timestamp: streams with reordering (Main/High) output a
    /// picture one or more calls after its packet, under its own timestamp.
    pending: VecDeque<(i64, Rotation)>,
}

impl fmt::Debug for OpenH264Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenH264Decoder")
            .field("need_keyframe", &self.need_keyframe)
            .field("pool", &self.pool)
            .finish()
    }
}

/// Copies openh264's picture into a frame from `pool`.
fn copy_out(pool: &FramePool, pic: &raw::Picture<'_>) -> Result<Frame, DecodeError> {
    let mut frame = pool
        .frame(pic.width as u32, pic.height as u32)
        .map_err(|e| backend(e.to_string()))?;
    let (fys, fuvs) = (frame.y_stride(), frame.uv_stride());
    let (cw, ch) = (
        frame.chroma_width() as usize,
        frame.chroma_height() as usize,
    );
    let (py, pu, pv) = frame.planes_mut();
    let copy = |dst: &mut [u8], ds: usize, src: &[u8], ss: usize, row: usize, rows: usize| {
        for r in 0..rows {
            dst[r * ds..r * ds + row].copy_from_slice(&src[r * ss..r * ss + row]);
        }
    };
    copy(py, fys, pic.y, pic.y_stride, pic.width, pic.height);
    copy(pu, fuvs, pic.u, pic.uv_stride, cw, ch);
    copy(pv, fuvs, pic.v, pic.uv_stride, cw, ch);
    // openh264 returns the timestamp of the packet the picture came from.
    frame.set_timestamp_us(pic.timestamp as i64);
    Ok(frame)
}

impl OpenH264Decoder {
    /// Creates a decoder.
    pub fn new(config: &DecoderConfig) -> Result<Self, DecodeError> {
        config.validate().map_err(|e| DecodeError::Unsupported {
            backend: NAME,
            what: e.to_string(),
        })?;
        let mut d = OpenH264Decoder {
            dec: raw::Decoder::new()?,
            config: config.clone(),
            pool: FramePool::new(4),
            need_keyframe: true,
            param_sets: BTreeMap::new(),
            replay_param_sets: false,
            replay: Vec::new(),
            baseline: true,
            pending: VecDeque::with_capacity(PENDING_ROTATIONS + 1),
        };
        d.init()?;
        Ok(d)
    }

    /// Decoder parameters: AVC, error concealment off (a damaged frame is reported, not shown),
    /// quiet.
    fn init(&mut self) -> Result<(), DecodeError> {
        let param = sys::SDecodingParam {
            uiTargetDqLayer: u8::MAX,
            eEcActiveIdc: sys::ERROR_CON_DISABLE,
            sVideoProperty: sys::SVideoProperty {
                size: std::mem::size_of::<sys::SVideoProperty>() as u32,
                eVideoBsType: sys::VIDEO_BITSTREAM_AVC,
            },
            ..Default::default()
        };
        let quiet = sys::WELS_LOG_QUIET as c_int;
        self.dec
            .set_int_option(sys::DECODER_OPTION_TRACE_LEVEL, quiet)
            .ok();
        self.dec.initialize(&param)?;
        self.dec
            .set_int_option(sys::DECODER_OPTION_TRACE_LEVEL, quiet)?;
        self.dec.set_int_option(
            sys::DECODER_OPTION_ERROR_CON_IDC,
            sys::ERROR_CON_DISABLE as c_int,
        )?;
        Ok(())
    }

    /// After an error: a fresh openh264 instance (so no half-decoded state leaks into the next
    /// picture), waiting for an IDR, with the known parameter sets to be replayed before it.
    fn fail(&mut self, e: DecodeError) -> DecodeError {
        self.need_keyframe = true;
        self.replay_param_sets = true;
        self.pending.clear();
        self.dec.uninitialize();
        match self.init() {
            Ok(()) => e,
            Err(init_err) => init_err,
        }
    }

    /// Remembers a parameter set, reusing the stored vector of the same (type, id).
    fn remember(&mut self, key: (u8, u32), nal: &[u8]) {
        match self.param_sets.get_mut(&key) {
            Some(stored) => {
                stored.clear();
                stored.extend_from_slice(nal);
            }
            None => {
                self.param_sets.insert(key, nal.to_vec());
            }
        }
    }

    /// Looks at the access unit before openh264 does: records parameter sets, refuses oversized
    /// streams, and gates inter frames while waiting for an IDR. Returns whether it holds slices.
    fn check_access_unit(&mut self, data: &[u8]) -> Result<bool, DecodeError> {
        let mut has_idr = false;
        let mut has_slice = false;
        let mut any = false;
        for nal in nal_units(data) {
            any = true;
            match nal_type(nal) {
                Some(NAL_IDR_SLICE) => {
                    has_idr = true;
                    has_slice = true;
                }
                Some(NAL_SLICE..=4) => has_slice = true,
                Some(NAL_SPS) => {
                    let sps = parse_sps(nal).map_err(|e| DecodeError::Corrupt {
                        backend: NAME,
                        detail: format!("unreadable SPS: {e}"),
                    })?;
                    let px = u64::from(sps.width()) * u64::from(sps.height());
                    if px > self.config.max_pixels {
                        return Err(DecodeError::Unsupported {
                            backend: NAME,
                            what: format!(
                                "{}x{} exceeds the {}-pixel limit",
                                sps.width(),
                                sps.height(),
                                self.config.max_pixels
                            ),
                        });
                    }
                    self.baseline = sps.profile_idc == 66;
                    self.remember((NAL_SPS, sps.sps_id), nal);
                }
                Some(NAL_PPS) => {
                    if let Ok(pps) = parse_pps(nal) {
                        self.remember((NAL_PPS, pps.pps_id), nal);
                    }
                }
                _ => {}
            }
        }
        if !any {
            return Err(DecodeError::Corrupt {
                backend: NAME,
                detail: "no NAL unit (missing Annex B start code)".into(),
            });
        }
        if has_idr {
            self.need_keyframe = false;
        } else if self.need_keyframe && has_slice {
            return Err(DecodeError::MissingReference { backend: NAME });
        }
        Ok(has_slice)
    }

    /// What openh264's decoding state means; `Ok` when a picture (or none, legitimately) may
    /// be taken.
    fn check_state(state: sys::DECODING_STATE) -> Result<(), DecodeError> {
        if state & sys::dsOutOfMemory != 0 {
            return Err(backend("out of memory"));
        }
        if state & (sys::dsNoParamSets | sys::dsRefLost | sys::dsRefListNullPtrs) != 0 {
            return Err(DecodeError::MissingReference { backend: NAME });
        }
        if state
            & (sys::dsBitstreamError
                | sys::dsInvalidArgument
                | sys::dsDepLayerLost
                | sys::dsDataErrorConcealed)
            != 0
        {
            return Err(DecodeError::Corrupt {
                backend: NAME,
                detail: format!("decoding state {state:#x}"),
            });
        }
        if state & !sys::dsFramePending != 0 {
            // dsInitialOptExpected or a state this wrapper does not know: the instance is not
            // usable as it is.
            return Err(backend(format!("unexpected decoding state {state:#x}")));
        }
        Ok(())
    }

    /// The rotation of the packet a picture came from.
    fn rotation_of(&self, timestamp: i64, fallback: Rotation) -> Rotation {
        self.pending
            .iter()
            .find(|(t, _)| *t == timestamp)
            .map_or(fallback, |&(_, r)| r)
    }
}

impl VideoDecoder for OpenH264Decoder {
    fn info(&self) -> DecoderInfo {
        DecoderInfo {
            implementation: NAME,
            codec: CodecKind::H264,
            is_hardware_accelerated: false,
        }
    }

    fn decode(&mut self, packet: &Packet) -> Result<Option<Frame>, DecodeError> {
        let has_slice = match self.check_access_unit(&packet.data) {
            Ok(s) => s,
            Err(e @ DecodeError::MissingReference { .. }) => return Err(e),
            Err(e) => return Err(self.fail(e)),
        };
        if packet.data.len() > MAX_ACCESS_UNIT_BYTES {
            return Err(self.fail(DecodeError::Corrupt {
                backend: NAME,
                detail: format!(
                    "access unit of {} bytes exceeds openh264's {MAX_ACCESS_UNIT_BYTES}-byte limit",
                    packet.data.len()
                ),
            }));
        }
        if self.pending.len() == PENDING_ROTATIONS {
            self.pending.pop_front();
        }
        self.pending
            .push_back((packet.timestamp_us, packet.rotation));
        if self.replay_param_sets && has_slice {
            // Parameter sets first (they produce no picture), then the access unit.
            self.replay_param_sets = false;
            let mut replay = std::mem::take(&mut self.replay);
            replay.clear();
            for nal in self.param_sets.values() {
                replay.extend_from_slice(&[0, 0, 0, 1]);
                replay.extend_from_slice(nal);
            }
            let replayed = if replay.is_empty() {
                Ok(())
            } else {
                self.dec.decode(&replay, 0).map(|_| ())
            };
            self.replay = replay;
            replayed?;
        }
        let pool = &self.pool;
        let outcome = match self.dec.decode(&packet.data, packet.timestamp_us as u64) {
            Ok((state, picture)) => match Self::check_state(state) {
                Ok(()) => picture.map(|p| copy_out(pool, &p)).transpose(),
                Err(e) => Err(e),
            },
            Err(f) => return Err(f.into()),
        };
        let mut frame = match outcome {
            Ok(frame) => frame,
            Err(e) => return Err(self.fail(e)),
        };
        match &mut frame {
            Some(f) => {
                let rotation = self.rotation_of(f.timestamp_us(), packet.rotation);
                f.set_rotation(rotation);
            }
            None if has_slice && self.baseline => {
                // A complete Baseline access unit always yields its picture: openh264 gave up
                // on it without saying so (e.g. a truncated slice).
                return Err(self.fail(DecodeError::Corrupt {
                    backend: NAME,
                    detail: "slice data ended early; no picture".into(),
                }));
            }
            None => {}
        }
        Ok(frame)
    }

    fn flush(&mut self) -> Result<Vec<Frame>, DecodeError> {
        let mut out = Vec::new();
        for _ in 0..64 {
            if self.dec.frames_remaining().unwrap_or(0) <= 0 {
                break;
            }
            let pool = &self.pool;
            let Some(mut frame) = self
                .dec
                .flush_one()?
                .map(|p| copy_out(pool, &p))
                .transpose()?
            else {
                break;
            };
            let rotation = self.rotation_of(frame.timestamp_us(), Rotation::Deg0);
            frame.set_rotation(rotation);
            out.push(frame);
        }
        self.need_keyframe = true;
        Ok(out)
    }

    fn reset(&mut self) {
        self.dec.uninitialize();
        // If re-initialising fails the next decode reports openh264's error.
        let _ = self.init();
        self.need_keyframe = true;
        self.param_sets.clear();
        self.replay_param_sets = false;
        self.baseline = true;
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::{EncodeOutcome, EncoderConfig, VideoEncoder};
    use crate::h264::openh264::OpenH264Encoder;
    use crate::synthetic::SyntheticScene;

    #[test]
    fn steady_state_decoding_reuses_frame_buffers() {
        let mut cfg = EncoderConfig::new(CodecKind::H264, 160, 90, 200_000, 30.0);
        cfg.frame_dropping = false;
        let mut enc = OpenH264Encoder::new(&cfg).unwrap();
        let mut dec = OpenH264Decoder::new(&DecoderConfig::default()).unwrap();
        let scene = SyntheticScene::new(160, 90, 30.0).unwrap();
        for n in 0..40 {
            let EncodeOutcome::Encoded(e) = enc.encode(&scene.frame(n), n % 10 == 0).unwrap()
            else {
                panic!("frame {n} not encoded");
            };
            let f = dec.decode(&Packet::from(&e)).unwrap().unwrap();
            drop(f);
        }
        assert_eq!(
            dec.pool.allocations(),
            1,
            "one buffer, reused for every frame"
        );
    }
}
