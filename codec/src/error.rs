//! The crate's error type.
//!
//! Every fallible operation returns [`Error`]. Its variants group what went wrong by what the
//! caller should do about it: a [`ConfigError`] names the field and the valid range, a
//! [`FrameError`] describes a frame or buffer that does not fit, a [`DecodeError`] says whether to
//! drop the packet and request a keyframe, and so on.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `rtvc-codec`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or unsupported.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// A frame or buffer handed to us does not match its description.
    #[error("invalid frame: {0}")]
    Frame(#[from] FrameError),
    /// A decoder rejected its input; see [`DecodeError::action`].
    #[error("decode failed: {0}")]
    Decode(#[from] DecodeError),
    /// An encoder backend failed; the encoder should be re-created or replaced.
    #[error("encoder {backend} failed: {message}")]
    Encoder {
        /// Which backend failed (`libaom`, `rav1e`, `openh264`).
        backend: &'static str,
        /// What the backend said.
        message: String,
    },
    /// A container (IVF, Y4M, Annex B) could not be read or written.
    #[error("{0}")]
    Container(#[from] ContainerError),
    /// No registered codec can serve the request.
    #[error("no {codec} {role} available{detail}")]
    NoCodec {
        /// Codec name.
        codec: &'static str,
        /// `encoder` or `decoder`.
        role: &'static str,
        /// Extra context, starting with `: ` when present.
        detail: String,
    },
    /// An I/O error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// What to do after a [`DecodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecoveryAction {
    /// Drop this packet and ask the sender for a keyframe (RTCP PLI/FIR).
    DropAndRequestKeyframe,
    /// Ask the sender for a keyframe; keep feeding packets.
    RequestKeyframe,
    /// This decoder cannot handle the stream: use another decoder or negotiate another codec.
    SwitchDecoder,
    /// The decoder instance is broken: re-create it (then request a keyframe).
    RecreateDecoder,
}

/// A decode failure; see [`crate::decoder`] for what each kind means.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The data is damaged or is not a bitstream of this codec.
    #[error("{backend}: corrupt data: {detail}")]
    Corrupt {
        /// Decoder that refused it.
        backend: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// A reference picture (or the sequence/parameter sets) is missing: a packet was lost, or
    /// the stream did not start with a keyframe.
    #[error("{backend}: missing reference, waiting for a keyframe")]
    MissingReference {
        /// Decoder that noticed.
        backend: &'static str,
    },
    /// A valid stream using something this decoder does not support.
    #[error("{backend}: unsupported stream: {what}")]
    Unsupported {
        /// Decoder that refused it.
        backend: &'static str,
        /// The feature.
        what: String,
    },
    /// The library failed for reasons not tied to the data.
    #[error("{backend}: decoder failure: {detail}")]
    Backend {
        /// Decoder that failed.
        backend: &'static str,
        /// What it said.
        detail: String,
    },
}

impl DecodeError {
    /// What the caller should do.
    pub fn action(&self) -> RecoveryAction {
        match self {
            DecodeError::Corrupt { .. } => RecoveryAction::DropAndRequestKeyframe,
            DecodeError::MissingReference { .. } => RecoveryAction::RequestKeyframe,
            DecodeError::Unsupported { .. } => RecoveryAction::SwitchDecoder,
            DecodeError::Backend { .. } => RecoveryAction::RecreateDecoder,
        }
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A numeric value outside the range the backend accepts.
    #[error("{field} = {value} is out of range (valid: {valid})")]
    OutOfRange {
        /// The configuration field, e.g. `bitrate_bps`.
        field: &'static str,
        /// The value that was given.
        value: String,
        /// The valid range, human readable, e.g. `10000..=50000000`.
        valid: String,
    },
    /// A value the chosen backend does not support.
    #[error("{field} = {value} is not supported by {backend}: {reason}")]
    Unsupported {
        /// The configuration field.
        field: &'static str,
        /// The value that was given.
        value: String,
        /// The backend that refuses it.
        backend: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl ConfigError {
    pub(crate) fn out_of_range(
        field: &'static str,
        value: impl fmt::Display,
        valid: impl fmt::Display,
    ) -> Self {
        ConfigError::OutOfRange {
            field,
            value: value.to_string(),
            valid: valid.to_string(),
        }
    }
}

/// A frame, plane or pixel buffer that does not match its description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Width or height is zero or above [`crate::frame::MAX_DIMENSION`].
    #[error("invalid dimensions {width}x{height} (each side must be 1..={max})")]
    InvalidDimensions {
        /// Width given.
        width: u32,
        /// Height given.
        height: u32,
        /// Largest side accepted.
        max: u32,
    },
    /// A stride smaller than the row it has to hold.
    #[error("{plane} stride {stride} is smaller than its row of {min} bytes")]
    StrideTooSmall {
        /// Which plane (`y`, `u`, `v`, `uv`, `bgra`, ...).
        plane: &'static str,
        /// Stride given.
        stride: usize,
        /// Smallest valid stride.
        min: usize,
    },
    /// A plane buffer too short for its stride and rows.
    #[error("{plane} plane has {len} bytes, needs at least {needed}")]
    PlaneTooSmall {
        /// Which plane.
        plane: &'static str,
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// Two planes of a [`crate::frame::PlaneLayout`] share bytes.
    #[error("the {first} and {second} planes overlap")]
    PlanesOverlap {
        /// The plane that starts first.
        first: &'static str,
        /// The plane that starts inside it.
        second: &'static str,
    },
    /// Source and destination sizes differ where they must match.
    #[error("size mismatch: source {src_w}x{src_h}, destination {dst_w}x{dst_h}")]
    SizeMismatch {
        /// Source width.
        src_w: u32,
        /// Source height.
        src_h: u32,
        /// Destination width.
        dst_w: u32,
        /// Destination height.
        dst_h: u32,
    },
    /// The colour conversion library refused the input.
    #[error("colour conversion failed: {0}")]
    Conversion(String),
    /// The scaler refused the input.
    #[error("scaling failed: {0}")]
    Scaling(String),
    /// A frame handed to an encoder is not later than the one before it. Encoders need strictly
    /// increasing capture times: libaom derives its frame rate, and so its bit budget per frame,
    /// from the gaps between them.
    #[error(
        "timestamp {timestamp_us} µs is not later than the previous frame's {previous_us} µs \
         (encoder input needs strictly increasing capture times)"
    )]
    TimestampNotIncreasing {
        /// Timestamp of the previous frame given to the encoder.
        previous_us: i64,
        /// Timestamp of the refused frame.
        timestamp_us: i64,
    },
}

/// A container file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// The file is not in the format its name or header claims.
    #[error("{format}: not a valid file: {reason}")]
    Invalid {
        /// `ivf`, `y4m`, `annexb`, `obu`.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The file is valid but uses something we do not support (e.g. 10-bit Y4M).
    #[error("{format}: unsupported: {reason}")]
    Unsupported {
        /// Container format.
        format: &'static str,
        /// What is unsupported.
        reason: String,
    },
    /// The file ends in the middle of a frame.
    #[error("{format}: truncated {what} (wanted {wanted} bytes, got {got})")]
    Truncated {
        /// Container format.
        format: &'static str,
        /// What was being read.
        what: &'static str,
        /// Bytes wanted.
        wanted: usize,
        /// Bytes available.
        got: usize,
    },
    /// Unknown file type.
    #[error("cannot tell the format of {path}: {hint}")]
    UnknownFormat {
        /// Path given.
        path: String,
        /// What names are understood.
        hint: &'static str,
    },
}
