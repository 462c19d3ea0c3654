//! H.264: bitstream parsing (NAL units, parameter sets, access units) and the openh264 backend.

#[path = "bitstream_stub.rs"]
#[allow(missing_docs, missing_debug_implementations)]
pub mod bitstream;
pub mod openh264;
