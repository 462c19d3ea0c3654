//! Compressed data: what encoders produce ([`EncodedFrame`]) and decoders consume ([`Packet`]).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use crate::frame::Rotation;

/// A video codec rtvc can encode and decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodecKind {
    /// AV1, profile 0 (Main), 8-bit 4:2:0.
    Av1,
    /// H.264 Constrained Baseline, Annex B.
    H264,
}

impl CodecKind {
    /// Lower-case name (`av1`, `h264`), as on the command line and in SDP.
    pub fn name(self) -> &'static str {
        match self {
            CodecKind::Av1 => "av1",
            CodecKind::H264 => "h264",
        }
    }

    /// Parses `av1` / `h264` (also `h.264`, `avc`), case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "av1" | "av01" => Some(CodecKind::Av1),
            "h264" | "h.264" | "avc" | "avc1" => Some(CodecKind::H264),
            _ => None,
        }
    }

    /// Largest QP value in the domain [`EncodedFrame::qp`] uses for this codec: AV1 qindex
    /// 0..=255, H.264 QP 0..=51.
    pub fn qp_max(self) -> u32 {
        match self {
            CodecKind::Av1 => 255,
            CodecKind::H264 => 51,
        }
    }
}

impl fmt::Display for CodecKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One encoded picture, as an encoder hands it to the transport.
///
/// The payload is what WebRTC packetizes: for AV1 the OBUs of one temporal unit *without* the
/// temporal delimiter (a sequence header precedes every keyframe); for H.264 Annex B NAL units
/// with start codes (SPS and PPS precede every IDR). File writers add whatever framing their
/// container needs (see [`crate::container`]).
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// Compressed bytes (cheap to clone).
    pub data: Bytes,
    /// True for a keyframe (AV1 key frame with sequence header, H.264 IDR with SPS/PPS).
    pub keyframe: bool,
    /// Timestamp of the input frame, microseconds.
    pub timestamp_us: i64,
    /// Coded width.
    pub width: u32,
    /// Coded height.
    pub height: u32,
    /// Rotation of the input frame, carried through.
    pub rotation: Rotation,
    /// Quantizer in the codec's own domain (AV1 qindex 0..=255, H.264 QP 0..=51), when known.
    pub qp: Option<u32>,
    /// Temporal layer id (0 without temporal scalability).
    pub temporal_id: u8,
    /// Codec of the payload.
    pub codec: CodecKind,
    /// Wall-clock time the encoder spent on this frame.
    pub encode_time: Duration,
}

impl fmt::Debug for EncodedFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedFrame")
            .field("codec", &self.codec)
            .field("bytes", &self.data.len())
            .field("keyframe", &self.keyframe)
            .field("timestamp_us", &self.timestamp_us)
            .field("size", &format_args!("{}x{}", self.width, self.height))
            .field("qp", &self.qp)
            .field("temporal_id", &self.temporal_id)
            .field("encode_time", &self.encode_time)
            .finish()
    }
}

/// Compressed input for a decoder: one complete frame (AV1 temporal unit, H.264 access unit).
#[derive(Clone, PartialEq, Eq)]
pub struct Packet {
    /// The bytes (AV1 OBUs, with or without temporal delimiter; H.264 Annex B).
    pub data: Bytes,
    /// Timestamp, microseconds; copied to the decoded frame.
    pub timestamp_us: i64,
    /// Rotation signalled out of band; copied to the decoded frame.
    pub rotation: Rotation,
}

impl fmt::Debug for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packet")
            .field("bytes", &self.data.len())
            .field("timestamp_us", &self.timestamp_us)
            .field("rotation", &self.rotation)
            .finish()
    }
}

impl Packet {
    /// A packet with the given bytes and timestamp, no rotation.
    pub fn new(data: impl Into<Bytes>, timestamp_us: i64) -> Self {
        Self {
            data: data.into(),
            timestamp_us,
            rotation: Rotation::Deg0,
        }
    }
}

impl From<&EncodedFrame> for Packet {
    fn from(f: &EncodedFrame) -> Self {
        Packet {
            data: f.data.clone(),
            timestamp_us: f.timestamp_us,
            rotation: f.rotation,
        }
    }
}

impl From<EncodedFrame> for Packet {
    /// Moves the payload into the packet (no new reference, no allocation).
    fn from(f: EncodedFrame) -> Self {
        Packet {
            data: f.data,
            timestamp_us: f.timestamp_us,
            rotation: f.rotation,
        }
    }
}
