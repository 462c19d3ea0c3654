//! H.264: bitstream parsing (NAL units, parameter sets, access units) and the openh264 backend
//! (cargo feature `openh264`).

pub mod bitstream;
#[cfg(feature = "openh264")]
pub mod openh264;
