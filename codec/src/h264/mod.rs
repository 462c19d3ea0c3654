//! H.264: bitstream parsing (NAL units, parameter sets, access units) and the openh264 backend.

pub mod bitstream;
pub mod openh264;
