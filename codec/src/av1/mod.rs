//! AV1: OBU framing helpers and the libaom, rav1e and dav1d backends (each behind the cargo
//! feature of the same name).

#[cfg(feature = "aom")]
pub mod aom;
#[cfg(feature = "dav1d")]
pub mod dav1d;
pub mod obu;
#[cfg(feature = "rav1e")]
pub mod rav1e;
