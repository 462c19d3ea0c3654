//! AV1: OBU framing helpers and the libaom, rav1e and dav1d backends.

pub mod aom;
pub mod dav1d;
pub mod obu;
pub mod rav1e;
