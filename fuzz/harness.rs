//! What each fuzz target does with its input. Shared by the cargo-fuzz targets in
//! `fuzz/fuzz_targets/` and by the regression test `codec/tests/fuzz_regressions.rs`, which
//! replays every input in `fuzz/regressions/` through the same functions.
//!
//! Decoder inputs are a sequence of packets, each prefixed by its length as u16 little-endian
//! (a trailing partial chunk is the last packet), so the fuzzer can build streams.

#![allow(dead_code)]

use std::io::Cursor;

use rtvc_codec::container::av1_stream::{
    AnnexBReader as Av1AnnexBReader, Section5Reader, detect_av1_stream_format,
};
use rtvc_codec::container::ivf::IvfReader;
use rtvc_codec::container::y4m::Y4mReader;
use rtvc_codec::h264::bitstream::{
    AccessUnitSplitter, AnnexBReader, nal_units, parse_pps, parse_sps,
};
use rtvc_codec::{CodecKind, CodecRegistry, DecoderConfig, Packet};

/// Splits fuzz input into length-prefixed packets.
pub fn packets(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 2 {
            out.push(data);
            break;
        }
        let n = u16::from_le_bytes([data[0], data[1]]) as usize;
        let end = (2 + n).min(data.len());
        out.push(&data[2..end]);
        data = &data[end..];
    }
    out
}

/// Joins packets into the fuzz input format (for seeds).
pub fn join(packets: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        let p = &p[..p.len().min(u16::MAX as usize)];
        out.extend_from_slice(&(p.len() as u16).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

fn decode(codec: CodecKind, data: &[u8]) {
    let mut cfg = DecoderConfig::default();
    cfg.threads = Some(1);
    // Small limit: garbage headers must not make the fuzzer allocate gigabytes.
    cfg.max_pixels = 1 << 22;
    let mut dec = CodecRegistry::with_builtin()
        .create_decoder(codec, &cfg)
        .expect("decoder");
    for (i, p) in packets(data).into_iter().enumerate() {
        match dec.decode(&Packet::new(p.to_vec(), i as i64)) {
            Ok(Some(f)) => {
                assert!(u64::from(f.width()) * u64::from(f.height()) <= cfg.max_pixels);
            }
            Ok(None) => {}
            // Any typed error is fine; what must never happen is a panic, a hang or a crash.
            Err(e) => {
                let _ = e.action();
            }
        }
        let _ = dec.take_ready();
    }
    let _ = dec.flush();
}

/// AV1 decoding (dav1d behind our wrapper).
pub fn decode_av1(data: &[u8]) {
    decode(CodecKind::Av1, data);
}

/// H.264 decoding (openh264 behind our wrapper).
pub fn decode_h264(data: &[u8]) {
    decode(CodecKind::H264, data);
}

/// IVF reading.
pub fn read_ivf(data: &[u8]) {
    if let Ok(mut r) = IvfReader::new(Cursor::new(data)) {
        while let Ok(Some(f)) = r.next_frame() {
            assert!(f.data.len() <= data.len());
        }
    }
}

/// H.264 Annex B: NAL iteration, parameter sets, access-unit splitting and the streaming reader.
pub fn read_annexb(data: &[u8]) {
    let mut splitter = AccessUnitSplitter::new();
    let mut total = 0;
    for nal in nal_units(data) {
        let _ = parse_sps(nal);
        let _ = parse_pps(nal);
        if let Some(au) = splitter.push(nal) {
            total += au.len();
        }
    }
    if let Some(au) = splitter.finish() {
        total += au.len();
    }
    let mut r = AnnexBReader::new(Cursor::new(data));
    let mut read = 0;
    while let Ok(Some(au)) = r.next_access_unit() {
        read += au.len();
    }
    assert_eq!(read, total, "streaming reader and in-memory splitter agree");
}

/// Y4M reading.
pub fn read_y4m(data: &[u8]) {
    if let Ok(mut r) = Y4mReader::new(Cursor::new(data)) {
        while let Ok(Some(f)) = r.next_frame() {
            assert_eq!((f.width(), f.height()), (r.width(), r.height()));
        }
    }
}

/// AV1 Section 5 and Annex B `.obu` streams.
pub fn read_av1_obu(data: &[u8]) {
    let _ = detect_av1_stream_format(data);
    let mut s = Section5Reader::new(Cursor::new(data));
    while let Ok(Some(tu)) = s.next_temporal_unit() {
        assert!(tu.len() <= data.len());
    }
    let mut a = Av1AnnexBReader::new(Cursor::new(data));
    while let Ok(Some(tu)) = a.next_temporal_unit() {
        // Conversion adds at most a few size bytes per OBU.
        assert!(tu.len() <= 2 * data.len() + 16);
    }
}
