//! The openh264 encoder, in safe code: parameters, rate changes in the order openh264 needs,
//! keyframes, and the payload. The calls themselves are in `raw`.

use std::fmt;
use std::os::raw::c_int;

use bytes::Bytes;
use openh264_sys2 as sys;

use super::raw;
use crate::encoded::{CodecKind, EncodedFrame};
use crate::encoder::{
    ContentKind, DropReason, EncodeOutcome, EncoderConfig, EncoderInfo, LiveBitrate, RateState,
    Rates, TimestampGuard, VideoEncoder, timed,
};
use crate::error::{ConfigError, Error};
use crate::frame::{ColorSpace, Frame, Matrix, Range};

const NAME: &str = "openh264";
/// openh264's QP window for real-time use.
const QP_RANGE: (c_int, c_int) = (12, 42);

fn check_even(width: u32, height: u32) -> Result<(), ConfigError> {
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(ConfigError::Unsupported {
            field: "size",
            value: format!("{width}x{height}"),
            backend: NAME,
            reason: "H.264 4:2:0 needs an even width and height",
        });
    }
    // openh264 supports up to level 5.2: 3840x2160 in either orientation.
    if width.max(height) > 3840 || width.min(height) > 2160 {
        return Err(ConfigError::out_of_range(
            "size",
            format!("{width}x{height}"),
            "up to 3840x2160 (either orientation)",
        ));
    }
    Ok(())
}

/// The openh264 H.264 encoder.
pub struct OpenH264Encoder {
    enc: raw::Encoder,
    config: EncoderConfig,
    rates: RateState,
    /// The rate openh264 currently runs at (differs from `rates` while paused).
    applied_bps: u32,
    size: (u32, u32),
    color: Option<ColorSpace>,
    timestamps: TimestampGuard,
    /// Reused output buffer: the payload is copied out of it once, at its exact size.
    scratch: Vec<u8>,
}

impl fmt::Debug for OpenH264Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenH264Encoder")
            .field("size", &self.size)
            .field("bitrate_bps", &self.rates.bitrate_bps)
            .field("framerate", &self.rates.framerate)
            .finish()
    }
}

/// Encoder facts shared by every openh264 encoder.
pub fn encoder_info() -> EncoderInfo {
    EncoderInfo {
        implementation: NAME,
        codec: CodecKind::H264,
        is_hardware_accelerated: false,
        frame_delay: 0,
        has_trusted_rate_controller: false,
        live_bitrate: LiveBitrate::Immediate,
        qp_thresholds: (24, 37),
        resolution_alignment: 2,
    }
}

impl OpenH264Encoder {
    /// Creates the encoder; the openh264 instance is initialised now.
    pub fn new(config: &EncoderConfig) -> Result<Self, Error> {
        config.validate()?;
        if config.codec != CodecKind::H264 {
            return Err(ConfigError::Unsupported {
                field: "codec",
                value: config.codec.to_string(),
                backend: NAME,
                reason: "openh264 encodes H.264 only",
            }
            .into());
        }
        check_even(config.width, config.height)?;
        let mut e = OpenH264Encoder {
            enc: raw::Encoder::new()?,
            config: config.clone(),
            rates: RateState {
                bitrate_bps: config.bitrate_bps,
                framerate: config.framerate,
            },
            applied_bps: config.bitrate_bps,
            size: (config.width, config.height),
            color: None,
            timestamps: TimestampGuard::default(),
            scratch: Vec::new(),
        };
        e.init(ColorSpace::default())?;
        Ok(e)
    }

    /// (Re-)initialises openh264 for the current size, rates, settings and `color`.
    fn init(&mut self, color: ColorSpace) -> Result<(), Error> {
        let (w, h) = self.size;
        let mut params = self.enc.default_params()?;
        let bps = self.applied_bps as c_int;
        let fps = self.rates.framerate as f32;
        let p = &mut params;
        p.iUsageType = match self.config.content {
            ContentKind::Camera => sys::CAMERA_VIDEO_REAL_TIME,
            ContentKind::Screen => sys::SCREEN_CONTENT_REAL_TIME,
        };
        p.iPicWidth = w as c_int;
        p.iPicHeight = h as c_int;
        p.iTargetBitrate = bps;
        p.iMaxBitrate = bps;
        p.iRCMode = sys::RC_BITRATE_MODE;
        p.fMaxFrameRate = fps;
        p.bEnableFrameSkip = self.config.frame_dropping;
        p.uiIntraPeriod = 0;
        p.iNumRefFrame = 1;
        p.eSpsPpsIdStrategy = sys::CONSTANT_ID;
        p.bPrefixNalAddingCtrl = false;
        p.bSimulcastAVC = false;
        p.iPaddingFlag = 0;
        p.iEntropyCodingModeFlag = 0;
        p.iMinQp = QP_RANGE.0;
        p.iMaxQp = QP_RANGE.1;
        p.uiMaxNalSize = self.config.max_nal_bytes.unwrap_or(0);
        p.iMultipleThreadIdc = 1;
        p.bEnableDenoise = false;
        p.bEnableBackgroundDetection = true;
        p.bEnableAdaptiveQuant = true;
        p.bEnableFrameCroppingFlag = true;
        p.bEnableSceneChangeDetect = false;
        p.bEnableLongTermReference = false;
        p.iLoopFilterDisableIdc = 0;
        // openh264 lays temporal layers out as 0 1 0 1 … / 0 2 1 2 … and divides the rate
        // between them itself.
        p.iTemporalLayerNum = c_int::from(self.config.temporal_layers);
        p.iSpatialLayerNum = 1;
        let l = &mut p.sSpatialLayers[0];
        l.iVideoWidth = w as c_int;
        l.iVideoHeight = h as c_int;
        l.fFrameRate = fps;
        l.iSpatialBitrate = bps;
        l.iMaxSpatialBitrate = bps;
        l.uiProfileIdc = sys::PRO_BASELINE;
        l.uiLevelIdc = 0;
        match self.config.max_nal_bytes {
            // Packetization mode 0: slices cut to fit one RTP packet each.
            Some(n) => {
                l.sSliceArgument.uiSliceMode = sys::SM_SIZELIMITED_SLICE;
                l.sSliceArgument.uiSliceSizeConstraint = n;
            }
            None => {
                l.sSliceArgument.uiSliceMode = sys::SM_SINGLE_SLICE;
                l.sSliceArgument.uiSliceNum = 1;
            }
        }
        l.bVideoSignalTypePresent = true;
        l.uiVideoFormat = 5; // unspecified
        l.bFullRange = color.range == Range::Full;
        l.bColorDescriptionPresent = true;
        let code = match color.matrix {
            Matrix::Bt709 => 1,
            Matrix::Bt601 => 6,
        };
        l.uiColorPrimaries = code;
        l.uiTransferCharacteristics = code;
        l.uiColorMatrix = code;

        self.enc.set_quiet()?;
        self.enc.initialize(&params)?;
        self.enc.set_quiet()?;
        self.enc.set_i420_input()?;
        self.color = Some(color);
        Ok(())
    }

    fn apply_bitrate(&mut self, bps: u32) -> Result<(), Error> {
        // openh264 silently keeps the old rate unless the maximum is raised before the target
        // (going up) or the target lowered before the maximum (going down).
        let b = bps as c_int;
        if bps > self.applied_bps {
            self.enc.set_max_bitrate(b)?;
            self.enc.set_target_bitrate(b)?;
        } else {
            self.enc.set_target_bitrate(b)?;
            self.enc.set_max_bitrate(b)?;
        }
        self.applied_bps = bps;
        Ok(())
    }
}

impl VideoEncoder for OpenH264Encoder {
    fn info(&self) -> EncoderInfo {
        encoder_info()
    }

    fn encode(&mut self, frame: &Frame, force_keyframe: bool) -> Result<EncodeOutcome, Error> {
        self.timestamps.accept(frame.timestamp_us())?;
        if self.rates.paused() {
            return Ok(EncodeOutcome::Dropped(DropReason::Paused));
        }
        let mut keyframe = force_keyframe;
        let new_size = (frame.width(), frame.height());
        if new_size != self.size
            || self.color != Some(frame.color_space())
            || !self.enc.is_initialized()
        {
            check_even(new_size.0, new_size.1)?;
            self.size = new_size;
            self.init(frame.color_space())?;
            keyframe = true;
        }
        if keyframe {
            self.enc.force_idr()?;
        }
        self.scratch.clear();
        let timestamp_ms = frame.timestamp_us().div_euclid(1000);
        let (result, encode_time) =
            timed(|| self.enc.encode(frame, timestamp_ms, &mut self.scratch));
        let (frame_type, temporal_id) = result?;
        match frame_type {
            sys::videoFrameTypeSkip => return Ok(EncodeOutcome::Dropped(DropReason::RateControl)),
            sys::videoFrameTypeInvalid => {
                return Err(Error::Encoder {
                    backend: NAME,
                    message: "EncodeFrame returned an invalid frame type".into(),
                });
            }
            t => keyframe = t == sys::videoFrameTypeIDR,
        }
        let qp = self.enc.statistics().ok().map(|s| s.uiAverageFrameQP);
        Ok(EncodeOutcome::Encoded(EncodedFrame {
            data: Bytes::copy_from_slice(&self.scratch),
            keyframe,
            timestamp_us: frame.timestamp_us(),
            width: frame.width(),
            height: frame.height(),
            rotation: frame.rotation(),
            qp,
            temporal_id,
            codec: CodecKind::H264,
            encode_time,
        }))
    }

    fn set_rates(&mut self, rates: Rates) -> Result<(), Error> {
        rates.validate()?;
        if rates.framerate != self.rates.framerate {
            self.enc.set_frame_rate(rates.framerate as f32)?;
        }
        self.rates = RateState {
            bitrate_bps: rates.bitrate_bps,
            framerate: rates.framerate,
        };
        if rates.bitrate_bps != 0 && rates.bitrate_bps != self.applied_bps {
            self.apply_bitrate(rates.bitrate_bps)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<Vec<EncodedFrame>, Error> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_sizes_are_refused_with_the_reason() {
        let cfg = EncoderConfig::new(CodecKind::H264, 161, 90, 200_000, 30.0);
        match OpenH264Encoder::new(&cfg) {
            Err(Error::Config(ConfigError::Unsupported { field: "size", .. })) => {}
            other => panic!("unexpected {other:?}"),
        }
        let mut ok =
            OpenH264Encoder::new(&EncoderConfig::new(CodecKind::H264, 160, 90, 200_000, 30.0))
                .unwrap();
        let odd = Frame::new(161, 91).unwrap();
        assert!(matches!(ok.encode(&odd, false), Err(Error::Config(_))));
    }
}
