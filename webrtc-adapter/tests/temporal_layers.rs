//! Temporal layers through the adapter: offered and queried per format, set at init, reported
//! per frame in the codec-specific info and in the encoder info's frame-rate allocation, and
//! rates per layer accepted; a receiver that gets only the lower layers decodes every frame.

mod common;

use common::*;
use rtvc_codec::encoder::temporal_layer_of;
use rtvc_webrtc::format::ScalabilityMode;
use rtvc_webrtc::{DecodeResult, EncoderSettings, RateControlParameters, VideoFrameType};

#[test]
fn l1t2_and_l1t3_through_the_factory() {
    let factory = encoder_factory();
    for format in [av1(), h264(1)] {
        for mode in [ScalabilityMode::L1T2, ScalabilityMode::L1T3] {
            assert!(
                factory
                    .query_codec_support(&format, Some(mode.name()))
                    .is_supported
            );
            let mut s = EncoderSettings::new(320, 180, 30.0, 400_000);
            s.frame_dropping = false;
            s.number_of_cores = 2;
            s.scalability_mode = mode;
            let mut e = started_encoder(&format, &s);
            let layers = mode.temporal_layers();
            let alloc = e.encoder_info().fps_allocation;
            assert_eq!(alloc.len(), usize::from(layers), "{format} {mode}");
            assert_eq!(*alloc.last().unwrap(), 255);
            assert_eq!(alloc[0], (255u32 >> (layers - 1)) as u8);
            // Rates per layer (libwebrtc's SetRates shape): base first.
            let per_layer: Vec<u32> = match layers {
                2 => vec![240_000, 160_000],
                _ => vec![160_000, 80_000, 160_000],
            };
            e.set_rates(&RateControlParameters {
                layer_bitrates_bps: per_layer,
                framerate: 30.0,
                bandwidth_allocation_bps: None,
            })
            .unwrap();
            let mut cam = Camera::new(320, 180);
            let images: Vec<_> = (0..40u64)
                .map(|_| encoded(e.encode(&cam.next(), &[VideoFrameType::Delta]).unwrap()))
                .collect();
            for (n, img) in images.iter().enumerate() {
                assert_eq!(
                    img.info.temporal_id,
                    temporal_layer_of(layers, n as u64),
                    "{format} {mode} frame {n}"
                );
            }
            // A receiver (or a server) forwarding only the layers below the top.
            let mut d = started_decoder(&format);
            let mut shown = 0;
            for img in images.iter().filter(|i| i.info.temporal_id < layers - 1) {
                match d.decode(&receive(img, false)).unwrap() {
                    DecodeResult::Picture(_) => shown += 1,
                    other => panic!("{format} {mode}: {other:?}"),
                }
            }
            assert_eq!(shown, 20, "{format} {mode}: half the frames, all shown");
        }
    }
}
