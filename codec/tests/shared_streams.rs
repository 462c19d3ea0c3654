//! Our container readers and H.264 access-unit splitter on the real streams of `../shared`:
//! conformance vectors and camera clips split into the frame counts and sizes their manifests
//! give. (Missing `../shared` fails under `CI=true`; see `rtvc_testkit::shared`.)

use std::io;
use std::path::Path;

use bytes::Bytes;
use rtvc_codec::CodecKind;
use rtvc_codec::av1::obu::{TEMPORAL_DELIMITER, obus};
use rtvc_codec::container::av1_stream::{
    AnnexBReader as ObuAnnexBReader, Av1StreamFormat, Section5Reader, detect_av1_stream_format,
};
use rtvc_codec::container::ivf::{FOURCC_AV1, IvfReader};
use rtvc_codec::h264::bitstream::{
    AnnexBReader, ParameterSets, SliceHeaderPrefix, is_idr_access_unit, nal_type, nal_units,
};
use rtvc_testkit::conformance::{ManifestRow, parse_manifest};
use rtvc_testkit::shared::require_shared;

/// The conformance manifest's rows and the folder their paths are relative to.
fn manifest(test: &str) -> Option<(std::path::PathBuf, Vec<ManifestRow>)> {
    let path = require_shared(test, "test-vectors/MANIFEST.tsv")?;
    let rows = parse_manifest(&std::fs::read_to_string(&path).unwrap()).unwrap();
    Some((path.parent().unwrap().to_path_buf(), rows))
}

/// What [`scan_file`] finds in an H.264 stream.
struct Scan {
    /// Access units holding a slice.
    pictures: usize,
    /// Of those, the ones from the first IDR picture on: what a decoder outputs.
    decodable: usize,
    /// Distinct frame sizes of the SPSs the slices use, in order of appearance.
    sizes: Vec<(u32, u32)>,
}

fn scan_file(path: &Path) -> io::Result<Scan> {
    let mut reader = AnnexBReader::new(std::fs::File::open(path)?);
    let mut params = ParameterSets::new();
    let (mut pictures, mut decodable, mut sizes) = (0, 0, Vec::new());
    while let Some(au) = reader.next_access_unit()? {
        let mut has_slice = false;
        for nal in nal_units(&au) {
            let _ = params.update(nal);
            has_slice |= matches!(nal_type(nal), Some(1..=5));
            let Ok(slice) = SliceHeaderPrefix::parse(nal, &params) else {
                continue;
            };
            let sps = params
                .sps(params.pps(slice.pps_id).unwrap().sps_id)
                .unwrap();
            if !sizes.contains(&(sps.width(), sps.height())) {
                sizes.push((sps.width(), sps.height()));
            }
        }
        if has_slice {
            pictures += 1;
            if decodable > 0 || is_idr_access_unit(&au) {
                decodable += 1;
            }
        }
    }
    Ok(Scan {
        pictures,
        decodable,
        sizes,
    })
}

fn parse_size(text: &str) -> Option<(u32, u32)> {
    let (w, h) = text.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

/// Every H.264 stream of the conformance manifest must split into the manifest's frame count,
/// and its first SPS must give the manifest's size.
///
/// The manifest counts decoded frames, so pictures before the first IDR are not counted:
/// `BA_MW_D_IDR_LOST` holds 97 coded pictures, the first 27 of which refer to its lost IDR, and
/// the manifest says 70. The manifest also has one size per stream: `Error_I_P` switches to
/// 640x480 (SPS 1) for two of its six pictures, so the first size is compared.
#[test]
fn h264_conformance_streams_split_into_their_frames() {
    let Some((dir, rows)) = manifest("h264_conformance_streams_split_into_their_frames") else {
        return;
    };
    let (mut matched, mut failures) = (0, Vec::new());
    for row in rows.iter().filter(|r| r.codec == Some(CodecKind::H264)) {
        let scan = scan_file(&dir.join(&row.local_path)).unwrap();
        let name = &row.local_path;
        if scan.decodable != scan.pictures || scan.sizes.len() > 1 {
            println!(
                "{name}: {} pictures, {} from the first IDR, sizes {:?}",
                scan.pictures, scan.decodable, scan.sizes
            );
        }
        let (Some(frames), Some(size)) = (row.frames, row.size) else {
            println!("{name}: no frame count or size in the manifest");
            continue;
        };
        if scan.decodable as u64 == frames && scan.sizes.first() == Some(&size) {
            matched += 1;
        } else {
            failures.push(format!(
                "{name}: {} pictures of {:?}, manifest says {frames} of {size:?}",
                scan.decodable, scan.sizes
            ));
        }
    }
    println!("{matched} H.264 conformance streams matched");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(matched > 0);
}

#[test]
fn camera_clips_split_into_their_frames() {
    let Some(readme) = require_shared("camera_clips_split_into_their_frames", "clips/README.md")
    else {
        return;
    };
    let dir = readme.parent().unwrap();
    // Table rows: | file | size | frames | ...
    let mut checked = 0;
    for line in std::fs::read_to_string(&readme).unwrap().lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, file, size, frames, ..] = cells[..] else {
            continue;
        };
        let (Some(size), Ok(frames)) = (parse_size(size), frames.parse::<usize>()) else {
            continue;
        };
        let scan = scan_file(&dir.join(file)).unwrap();
        assert_eq!((scan.pictures, scan.sizes), (frames, vec![size]), "{file}");
        checked += 1;
    }
    println!("{checked} clips matched");
    assert!(checked > 0, "no clips listed in README.md");
}

fn all_section5(data: &[u8]) -> Vec<Bytes> {
    let mut r = Section5Reader::new(data);
    std::iter::from_fn(|| r.next_temporal_unit().transpose())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn all_annexb(data: &[u8]) -> Vec<Bytes> {
    let mut r = ObuAnnexBReader::new(data);
    std::iter::from_fn(|| r.next_temporal_unit().transpose())
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `features/annexb.obu` and `features/section5.obu` carry the same 10-frame stream: both
/// readers find the manifest's frame count, and the converted Annex B units equal the Section 5
/// ones byte for byte.
#[test]
fn av1_obu_files_read_alike() {
    let Some((dir, rows)) = manifest("av1_obu_files_read_alike") else {
        return;
    };
    let find = |suffix: &str| {
        let row = rows
            .iter()
            .find(|r| r.codec == Some(CodecKind::Av1) && r.local_path.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not in the manifest"));
        (
            std::fs::read(dir.join(&row.local_path)).unwrap(),
            row.frames.unwrap() as usize,
        )
    };
    let (annexb, annexb_frames) = find("features/annexb.obu");
    let (section5, section5_frames) = find("features/section5.obu");
    assert_eq!(
        detect_av1_stream_format(&annexb),
        Some(Av1StreamFormat::AnnexB)
    );
    assert_eq!(
        detect_av1_stream_format(&section5),
        Some(Av1StreamFormat::Section5)
    );
    let from_annexb = all_annexb(&annexb);
    let from_section5 = all_section5(&section5);
    println!(
        "annexb.obu: {} temporal units (manifest {annexb_frames}); section5.obu: {} (manifest \
         {section5_frames})",
        from_annexb.len(),
        from_section5.len()
    );
    assert_eq!(from_annexb.len(), annexb_frames);
    assert_eq!(from_section5.len(), section5_frames);
    for tu in from_annexb.iter().chain(&from_section5) {
        assert!(tu.starts_with(&TEMPORAL_DELIMITER));
        assert!(obus(tu).all(|o| o.is_ok_and(|o| o.has_size_field)));
    }
    assert_eq!(from_section5.concat(), section5);
    assert_eq!(from_annexb, from_section5);
}

/// Every AV1 `.ivf` conformance stream: header size matches the manifest, every frame is a
/// well-formed OBU sequence, and there are at least as many frames as the manifest's decoded
/// frame count.
#[test]
fn av1_conformance_ivf_files_read() {
    let Some((dir, rows)) = manifest("av1_conformance_ivf_files_read") else {
        return;
    };
    let (mut files, mut more_frames, mut count_differs) = (0, Vec::new(), Vec::new());
    for row in rows
        .iter()
        .filter(|r| r.codec == Some(CodecKind::Av1) && r.local_path.ends_with(".ivf"))
    {
        let name = &row.local_path;
        let file = std::fs::File::open(dir.join(name)).unwrap();
        let mut r = IvfReader::new(io::BufReader::new(file)).unwrap();
        let h = *r.header();
        assert_eq!(h.fourcc, FOURCC_AV1, "{name}");
        assert_eq!(
            Some((u32::from(h.width), u32::from(h.height))),
            row.size,
            "{name}"
        );
        let mut n = 0u32;
        while let Some(f) = r.next_frame().unwrap() {
            for obu in obus(&f.data) {
                assert!(obu.is_ok(), "{name} frame {n}: {obu:?}");
            }
            n += 1;
        }
        let expected = row.frames.unwrap() as u32;
        assert!(n >= expected, "{name}: {n} < {expected} frames");
        if n > expected {
            more_frames.push(format!("{name} ({n} > {expected})"));
        }
        if h.frame_count != n {
            count_differs.push(format!("{name} (header {} vs {n})", h.frame_count));
        }
        files += 1;
    }
    assert!(files > 0, "no AV1 .ivf rows in the manifest");
    println!("read {files} AV1 ivf files");
    println!("more temporal units than decoded frames: {more_frames:?}");
    println!("header frame count differs from frames read: {count_differs:?}");
}
