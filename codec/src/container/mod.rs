//! Container readers and writers: IVF, Y4M and raw AV1 streams (Section 5 / Annex B).
//! H.264 Annex B elementary streams are read with [`crate::h264::bitstream::AnnexBReader`].
//!
//! All readers work on untrusted files: sizes are bounded, nothing is allocated beyond what the
//! file actually holds, and a file that ends mid-frame is a [`crate::error::ContainerError`].

pub mod av1_stream;
pub mod ivf;
pub mod stream;
pub mod y4m;
