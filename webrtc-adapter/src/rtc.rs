//! The binding to [str0m](https://crates.io/crates/str0m) (feature `str0m`): one
//! [`PeerConnection`] is a str0m [`Rtc`] with one video m-line (send and receive) whose codecs are
//! ours, in our preference order.
//!
//! str0m is sans-IO: the caller hands in datagrams and time, and collects datagrams to send and
//! [`RtcEvent`]s. What str0m does not do by itself and this binding adds:
//!
//! * the codec list comes from our factories ([`crate::encoder_formats`]), so the negotiated
//!   payload type maps to a [`VideoFormat`] the factory can create an encoder for;
//! * AV1 keyframes must start with a sequence header (str0m sets the RTP N bit only then):
//!   [`PeerConnection::send_frame`] checks it and, if an encoder ever left it out, puts the last
//!   one seen in front;
//! * keyframe requests: str0m never sends a PLI by itself. [`KeyframeRequester`] sends one when
//!   the decoder asks or RTP has a gap, and repeats it every 200 ms until a keyframe comes
//!   (libwebrtc's `max_wait_for_keyframe`), never more often;
//! * one encoded frame goes to several connections as one `Arc<[u8]>` (mesh): no copy per peer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtvc_codec::{CodecKind, CodecRegistry};
use str0m::bwe::{Bitrate, BweKind};
pub use str0m::change::SdpPendingOffer;
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::{Codec, FormatParams, PayloadParams};
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};

use crate::format::VideoFormat;

/// What can go wrong in the binding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtcBindingError {
    /// str0m refused something.
    #[error("str0m: {0}")]
    Rtc(#[from] str0m::RtcError),
    /// Offer/answer did not give a video m-line with a codec we have.
    #[error("negotiation: {0}")]
    Negotiation(String),
    /// A candidate address str0m does not accept.
    #[error("candidate {addr}: {reason}")]
    Candidate {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// Something that happened on a connection.
#[derive(Debug, Clone)]
pub enum RtcEvent {
    /// ICE and DTLS are up: media can flow.
    Connected,
    /// ICE state changed.
    IceState(IceConnectionState),
    /// A complete encoded frame from the remote side.
    Frame(ReceivedFrame),
    /// An Opus packet from the remote side (connections with audio).
    Audio(ReceivedAudio),
    /// The remote side asks for a keyframe.
    KeyframeRequested,
    /// The congestion controller's estimate for what we may send, bits/s.
    Estimate(u64),
    /// Periodic statistics: round-trip time and the share of our packets the remote side lost.
    Stats {
        /// Round-trip time.
        rtt: Option<Duration>,
        /// Loss of what we sent over the last second (0–1), before retransmission.
        egress_loss: Option<f32>,
    },
    /// The remote side stopped sending for 1.5 s (camera off), or started again.
    RemotePaused(bool),
    /// Counters of what we send (cumulative): NACKs and PLIs received.
    EgressStats {
        /// NACKs received.
        nacks: u64,
        /// PLIs received.
        plis: u64,
    },
}

/// A frame as str0m reassembled it.
#[derive(Debug, Clone)]
pub struct ReceivedFrame {
    /// The payload (AV1 OBUs, H.264 Annex B).
    pub data: Arc<[u8]>,
    /// RTP timestamp, 90 kHz.
    pub rtp_time: u64,
    /// When its first packet arrived.
    pub network_time: Instant,
    /// RTP sequence numbers were continuous since the previous frame.
    pub contiguous: bool,
    /// str0m's keyframe detection.
    pub keyframe: bool,
}

/// An audio packet as str0m delivered it.
#[derive(Debug, Clone)]
pub struct ReceivedAudio {
    /// One Opus packet.
    pub data: Vec<u8>,
    /// RTP timestamp, 48 kHz.
    pub rtp_time: u64,
}

/// The str0m codec parameters for one of our formats (payload types as str0m's defaults).
fn payload_config(format: &VideoFormat) -> Option<(Pt, Pt, Codec, FormatParams)> {
    match format.codec()? {
        CodecKind::Av1 => Some((45.into(), 46.into(), Codec::Av1, FormatParams::default())),
        CodecKind::H264 => {
            let mode = format.packetization_mode().ok()?;
            let raw = u32::from_str_radix(format.parameters.get("profile-level-id")?, 16).ok()?;
            // str0m's default payload types for these (profile, mode) pairs.
            let (pt, rtx) = match (raw, mode) {
                (0x42e01f, 1) => (108, 109),
                (0x42e01f, 0) => (124, 120),
                (0x42001f, 1) => (127, 121),
                (0x42001f, 0) => (125, 107),
                _ => return None,
            };
            Some((
                pt.into(),
                rtx.into(),
                Codec::H264,
                FormatParams {
                    level_asymmetry_allowed: Some(true),
                    packetization_mode: Some(mode),
                    profile_level_id: Some(raw),
                    ..Default::default()
                },
            ))
        }
    }
}

/// Our format for str0m's payload parameters, if it is one of ours.
pub fn video_format_of(params: &PayloadParams) -> Option<VideoFormat> {
    let spec = params.spec();
    match spec.codec {
        Codec::Av1 => Some(VideoFormat::av1()),
        Codec::H264 => {
            let plid = spec.format.profile_level_id?;
            let mode = spec.format.packetization_mode.unwrap_or(0);
            Some(VideoFormat::h264(&format!("{plid:06x}"), mode))
        }
        _ => None,
    }
}

/// Complete frames that may wait behind a missing earlier one (str0m's default is 30).
pub const REORDERING_FRAMES: usize = 10;
/// Retransmission cache: packets and age (str0m's defaults).
const RTX_CACHE_PACKETS: usize = 2000;
const RTX_CACHE_AGE: Duration = Duration::from_secs(3);

/// An [`RtcConfig`] offering our encoder formats of `codec` (all of them when `None`) in our
/// preference order, with congestion control (start estimate `start_bps`) and stats every
/// second.
pub fn rtc_config(registry: &CodecRegistry, codec: Option<CodecKind>, start_bps: u64) -> RtcConfig {
    let mut config = Rtc::builder()
        .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
        .clear_codecs()
        .enable_bwe(Some(Bitrate::bps(start_bps)))
        .set_stats_interval(Some(Duration::from_secs(1)))
        // A complete frame waits for a missing earlier one at most 10 frames (str0m: 30): with a
        // 3 s outage on LTE that took the first picture after it from 1.07–1.30 s to 0.30–0.61 s
        // (README, "Calls"), with no more keyframe requests under 5 % loss.
        .set_reordering_size_video(REORDERING_FRAMES);
    for format in crate::encoder_formats(registry) {
        if codec.is_some_and(|c| format.codec() != Some(c)) {
            continue;
        }
        if let Some((pt, rtx, c, params)) = payload_config(&format) {
            config
                .codec_config()
                .add_config(pt, Some(rtx), c, Frequency::NINETY_KHZ, None, params);
        }
    }
    config
}

/// `config` with Opus (48 kHz, stereo signalled, in-band FEC) for an audio m-line: calls with
/// browsers have audio (`rtvc join`); the simulated calls do not.
pub fn with_audio(config: RtcConfig) -> RtcConfig {
    config.enable_opus(true, false)
}

/// AV1: whether the first OBU is a sequence header.
fn starts_with_sequence_header(data: &[u8]) -> bool {
    data.first().is_some_and(|b| (b >> 3) & 0x0f == 1)
}

/// AV1: the sequence header OBU at the start of `data`, if there is one with a size field.
fn leading_sequence_header(data: &[u8]) -> Option<&[u8]> {
    let header = *data.first()?;
    if (header >> 3) & 0x0f != 1 || header & 0x02 == 0 {
        return None;
    }
    let ext = usize::from(header & 0x04 != 0);
    let mut size = 0usize;
    let mut at = 1 + ext;
    for i in 0..8 {
        let b = *data.get(at)?;
        at += 1;
        size |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return data.get(..at.checked_add(size)?);
        }
    }
    None
}

/// Sends keyframe requests (PLI) when asked, at most one per `interval` until a keyframe
/// arrives (libwebrtc waits 200 ms for the keyframe before asking again).
#[derive(Debug, Clone)]
pub struct KeyframeRequester {
    interval: Duration,
    waiting_since: Option<Instant>,
    last_sent: Option<Instant>,
    sent: u64,
}

impl Default for KeyframeRequester {
    fn default() -> Self {
        Self::new(Duration::from_millis(200))
    }
}

impl KeyframeRequester {
    /// Repeats at most every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            waiting_since: None,
            last_sent: None,
            sent: 0,
        }
    }

    /// The decoder (or a gap) needs a keyframe; returns whether a PLI should go out now.
    pub fn need(&mut self, now: Instant) -> bool {
        self.waiting_since.get_or_insert(now);
        self.poll(now)
    }

    /// Whether a repeated PLI is due (still waiting for a keyframe).
    pub fn poll(&mut self, now: Instant) -> bool {
        if self.waiting_since.is_none() {
            return false;
        }
        if self
            .last_sent
            .is_some_and(|t| now.saturating_duration_since(t) < self.interval)
        {
            return false;
        }
        self.last_sent = Some(now);
        self.sent += 1;
        true
    }

    /// A keyframe arrived: stop asking.
    pub fn got_keyframe(&mut self) {
        self.waiting_since = None;
    }

    /// Whether a keyframe is awaited.
    pub fn waiting(&self) -> bool {
        self.waiting_since.is_some()
    }

    /// PLIs sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}

/// One connection to one remote peer, with one video m-line.
pub struct PeerConnection {
    rtc: Rtc,
    local: SocketAddr,
    mid: Option<Mid>,
    audio_mid: Option<Mid>,
    send: Option<(Pt, VideoFormat)>,
    last_sequence_header: Option<Arc<[u8]>>,
    rtx_cache_set: bool,
    next_timeout: Option<Instant>,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection")
            .field("local", &self.local)
            .field("mid", &self.mid)
            .field("send", &self.send.as_ref().map(|s| s.1.to_string()))
            .field("connected", &self.rtc.is_connected())
            .finish()
    }
}

/// A datagram to put on the wire.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// From.
    pub source: SocketAddr,
    /// To.
    pub destination: SocketAddr,
    /// Bytes (copied out of str0m's buffer).
    pub contents: Vec<u8>,
}

impl PeerConnection {
    /// A connection at `local` (a host candidate) built from `config`.
    pub fn new(
        config: RtcConfig,
        local: SocketAddr,
        now: Instant,
    ) -> Result<Self, RtcBindingError> {
        let mut rtc = config.build(now);
        let candidate = Candidate::host(local, "udp").map_err(|e| RtcBindingError::Candidate {
            addr: local,
            reason: e.to_string(),
        })?;
        rtc.add_local_candidate(candidate)
            .ok_or_else(|| RtcBindingError::Candidate {
                addr: local,
                reason: "refused by str0m".into(),
            })?;
        Ok(Self {
            rtc,
            local,
            mid: None,
            audio_mid: None,
            send: None,
            last_sequence_header: None,
            rtx_cache_set: false,
            next_timeout: Some(now),
        })
    }

    /// Our address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The offer for a video m-line (send and receive).
    pub fn offer(&mut self) -> Result<(SdpOffer, SdpPendingOffer), RtcBindingError> {
        self.offer_media(false)
    }

    fn offer_media(&mut self, audio: bool) -> Result<(SdpOffer, SdpPendingOffer), RtcBindingError> {
        let mut api = self.rtc.sdp_api();
        if audio {
            self.audio_mid =
                Some(api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None));
        }
        let mid = api.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
        self.mid = Some(mid);
        let (offer, pending) = api
            .apply()
            .ok_or_else(|| RtcBindingError::Negotiation("nothing to offer".into()))?;
        self.next_timeout = None;
        Ok((offer, pending))
    }

    /// The offer for a video m-line and, with `audio`, an audio one (send and receive), as an
    /// SDP string for a signaling server.
    pub fn offer_sdp(&mut self, audio: bool) -> Result<(String, SdpPendingOffer), RtcBindingError> {
        let (offer, pending) = self.offer_media(audio)?;
        Ok((offer.to_sdp_string(), pending))
    }

    /// An ICE restart offer as an SDP string.
    pub fn ice_restart_offer_sdp(&mut self) -> Result<(String, SdpPendingOffer), RtcBindingError> {
        let (offer, pending) = self.ice_restart_offer()?;
        Ok((offer.to_sdp_string(), pending))
    }

    /// Answers a remote offer given as an SDP string.
    pub fn accept_offer_sdp(&mut self, sdp: &str) -> Result<String, RtcBindingError> {
        let offer = SdpOffer::from_sdp_string(sdp)
            .map_err(|e| RtcBindingError::Negotiation(format!("the offer: {e}")))?;
        Ok(self.accept_offer(offer)?.to_sdp_string())
    }

    /// Takes the remote answer (an SDP string) to our offer.
    pub fn accept_answer_sdp(
        &mut self,
        pending: SdpPendingOffer,
        sdp: &str,
    ) -> Result<(), RtcBindingError> {
        let answer = SdpAnswer::from_sdp_string(sdp)
            .map_err(|e| RtcBindingError::Negotiation(format!("the answer: {e}")))?;
        self.accept_answer(pending, answer)
    }

    /// A trickled remote candidate (`candidate:...`, with or without `a=`).
    pub fn add_remote_candidate(&mut self, sdp: &str) -> Result<(), RtcBindingError> {
        let line = sdp.trim().trim_start_matches("a=");
        let c = Candidate::from_sdp_string(line)
            .map_err(|e| RtcBindingError::Negotiation(format!("candidate {line:?}: {e}")))?;
        self.rtc.add_remote_candidate(c);
        self.next_timeout = None;
        Ok(())
    }

    /// Whether a datagram from `source` belongs to this connection (several connections may
    /// share one socket).
    pub fn accepts(&self, now: Instant, source: SocketAddr, contents: &[u8]) -> bool {
        self.input(now, source, contents)
            .is_some_and(|input| self.rtc.accepts(&input))
    }

    /// A datagram for us as str0m's input (`None`: not STUN, DTLS, RTP or RTCP).
    fn input<'a>(&self, now: Instant, source: SocketAddr, contents: &'a [u8]) -> Option<Input<'a>> {
        let contents = contents.try_into().ok()?;
        Some(Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        ))
    }

    /// Sends one Opus packet (`rtp_time` at 48 kHz) on the audio m-line; false when there is
    /// none (yet).
    pub fn send_audio(
        &mut self,
        wallclock: Instant,
        rtp_time: u64,
        data: &[u8],
    ) -> Result<bool, RtcBindingError> {
        let Some(mid) = self.audio_mid else {
            return Ok(false);
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(false);
        };
        let Some(pt) = writer
            .payload_params()
            .find(|p| p.spec().codec == Codec::Opus)
            .map(|p| p.pt())
        else {
            return Ok(false);
        };
        writer.write(
            pt,
            wallclock,
            MediaTime::new(rtp_time, Frequency::FORTY_EIGHT_KHZ),
            data.to_vec(),
        )?;
        self.next_timeout = None;
        Ok(true)
    }

    /// An ICE restart offer (new credentials, same media), when the path broke.
    pub fn ice_restart_offer(&mut self) -> Result<(SdpOffer, SdpPendingOffer), RtcBindingError> {
        let mut api = self.rtc.sdp_api();
        api.ice_restart(true);
        let out = api
            .apply()
            .ok_or_else(|| RtcBindingError::Negotiation("ICE restart gave no offer".into()))?;
        self.next_timeout = None;
        Ok(out)
    }

    /// Answers a remote offer.
    pub fn accept_offer(&mut self, offer: SdpOffer) -> Result<SdpAnswer, RtcBindingError> {
        let answer = self.rtc.sdp_api().accept_offer(offer)?;
        self.next_timeout = None;
        Ok(answer)
    }

    /// Takes the remote answer to our offer.
    pub fn accept_answer(
        &mut self,
        pending: SdpPendingOffer,
        answer: SdpAnswer,
    ) -> Result<(), RtcBindingError> {
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        self.next_timeout = None;
        Ok(())
    }

    /// ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.rtc.is_connected()
    }

    /// The negotiated format we send with (known once media is negotiated).
    pub fn send_format(&mut self) -> Option<&VideoFormat> {
        self.resolve_send();
        self.send.as_ref().map(|s| &s.1)
    }

    fn resolve_send(&mut self) {
        if self.send.is_some() {
            return;
        }
        let Some(mid) = self.mid else { return };
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        // The remote side's payload types in our order of preference (str0m keeps ours).
        let chosen = writer
            .payload_params()
            .filter_map(|p| video_format_of(p).map(|f| (p.pt(), f)))
            .next();
        self.send = chosen;
    }

    /// When [`PeerConnection::handle_timeout`] is due next (`None`: poll first).
    pub fn next_timeout(&self) -> Option<Instant> {
        self.next_timeout
    }

    /// A datagram arrived for us.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        contents: &[u8],
    ) -> Result<(), RtcBindingError> {
        // Not STUN, DTLS, RTP or RTCP: ignore it, as a real socket would.
        let Some(input) = self.input(now, source, contents) else {
            return Ok(());
        };
        self.rtc.handle_input(input)?;
        self.next_timeout = None;
        Ok(())
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), RtcBindingError> {
        self.rtc.handle_input(Input::Timeout(now))?;
        self.next_timeout = None;
        Ok(())
    }

    /// Drains str0m's output: datagrams to `out`, events to `events`.
    pub fn poll(
        &mut self,
        out: &mut Vec<Datagram>,
        events: &mut Vec<RtcEvent>,
    ) -> Result<(), RtcBindingError> {
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(t) => {
                    self.next_timeout = Some(t);
                    return Ok(());
                }
                Output::Transmit(t) => out.push(Datagram {
                    source: t.source,
                    destination: t.destination,
                    contents: t.contents.to_vec(),
                }),
                Output::Event(e) => {
                    if let Some(ev) = self.translate(e) {
                        events.push(ev);
                    }
                }
            }
        }
    }

    fn translate(&mut self, e: Event) -> Option<RtcEvent> {
        Some(match e {
            Event::Connected => RtcEvent::Connected,
            Event::IceConnectionStateChange(s) => RtcEvent::IceState(s),
            Event::MediaAdded(m) => {
                if self.mid.is_none() && m.kind == MediaKind::Video {
                    self.mid = Some(m.mid);
                }
                if self.audio_mid.is_none() && m.kind == MediaKind::Audio {
                    self.audio_mid = Some(m.mid);
                }
                return None;
            }
            Event::MediaData(d) if Some(d.mid) == self.audio_mid => {
                RtcEvent::Audio(ReceivedAudio {
                    data: d.data.to_vec(),
                    rtp_time: d.time.numer(),
                })
            }
            Event::MediaData(d) if Some(d.mid) != self.mid => return None,
            Event::MediaData(d) => {
                let keyframe = d.is_keyframe();
                RtcEvent::Frame(ReceivedFrame {
                    data: d.data,
                    rtp_time: d.time.numer(),
                    network_time: d.network_time,
                    contiguous: d.contiguous,
                    keyframe,
                })
            }
            Event::KeyframeRequest(_) => RtcEvent::KeyframeRequested,
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                RtcEvent::Estimate(estimate.as_u64())
            }
            Event::EgressBitrateEstimate(BweKind::Remb { estimate, .. }) => {
                RtcEvent::Estimate(estimate.as_u64())
            }
            Event::PeerStats(s) => RtcEvent::Stats {
                rtt: s.rtt,
                egress_loss: s.egress_loss_fraction,
            },
            Event::StreamPaused(p) => RtcEvent::RemotePaused(p.paused),
            Event::MediaEgressStats(s) => RtcEvent::EgressStats {
                nacks: s.nacks,
                plis: s.plis,
            },
            _ => return None,
        })
    }

    /// Sends one encoded frame (`rtp_time` at 90 kHz). AV1 keyframes go out starting with a
    /// sequence header.
    pub fn send_frame(
        &mut self,
        wallclock: Instant,
        rtp_time: u64,
        keyframe: bool,
        data: Arc<[u8]>,
    ) -> Result<bool, RtcBindingError> {
        self.resolve_send();
        let (Some(mid), Some((pt, format))) = (self.mid, self.send.clone()) else {
            return Ok(false);
        };
        let mut data = data;
        if format.codec() == Some(CodecKind::Av1) && keyframe {
            if let Some(sh) = leading_sequence_header(&data) {
                if self.last_sequence_header.as_deref() != Some(sh) {
                    self.last_sequence_header = Some(sh.into());
                }
            } else if !starts_with_sequence_header(&data)
                && let Some(sh) = &self.last_sequence_header
            {
                let mut v = Vec::with_capacity(sh.len() + data.len());
                v.extend_from_slice(sh);
                v.extend_from_slice(&data);
                data = v.into();
            }
        }
        if !self.rtx_cache_set
            && let Some(tx) = self.rtc.direct_api().stream_tx_by_mid(mid, None)
        {
            // str0m's default also drops queued retransmissions once they exceed 15 % of what
            // was sent; after an outage the receiver asks for a burst of them and then waits
            // for each one it was refused. libwebrtc bounds retransmissions by the send rate,
            // which str0m's pacer does anyway: keep the size and age, drop the ratio cap.
            tx.set_rtx_cache(RTX_CACHE_PACKETS, RTX_CACHE_AGE, None);
            self.rtx_cache_set = true;
        }
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(false);
        };
        writer.write(
            pt,
            wallclock,
            MediaTime::new(rtp_time, Frequency::NINETY_KHZ),
            data,
        )?;
        self.next_timeout = None;
        Ok(true)
    }

    /// Sends a PLI to the remote sender.
    pub fn request_keyframe(&mut self) -> Result<bool, RtcBindingError> {
        let Some(mid) = self.mid else {
            return Ok(false);
        };
        let Some(mut writer) = self.rtc.writer(mid) else {
            return Ok(false);
        };
        if !writer.is_request_keyframe_possible(KeyframeRequestKind::Pli) {
            return Ok(false);
        }
        writer.request_keyframe(None, KeyframeRequestKind::Pli)?;
        self.next_timeout = None;
        Ok(true)
    }

    /// Tells the congestion controller what we would like to send.
    pub fn set_desired_bitrate(&mut self, min_bps: u64, desired_bps: u64) {
        self.rtc
            .bwe()
            .set_bitrate(Bitrate::bps(min_bps), Bitrate::bps(desired_bps));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_header_is_found_and_measured() {
        // OBU header: type 1 (sequence header), has_size; size 3; then a frame OBU.
        let data = [0x0a, 3, 1, 2, 3, 0x32, 1, 9];
        assert!(starts_with_sequence_header(&data));
        assert_eq!(leading_sequence_header(&data), Some(&data[..5]));
        assert_eq!(leading_sequence_header(&data[5..]), None);
        assert_eq!(leading_sequence_header(&[0x0a, 0x80]), None, "cut LEB128");
        assert_eq!(leading_sequence_header(&[0x0a, 9, 1]), None, "cut payload");
    }

    #[test]
    fn keyframe_requests_repeat_at_most_every_interval_until_a_keyframe() {
        let t0 = Instant::now();
        let ms = |v: u64| t0 + Duration::from_millis(v);
        let mut k = KeyframeRequester::default();
        assert!(!k.poll(ms(0)));
        assert!(k.need(ms(0)));
        assert!(!k.need(ms(50)), "a storm of errors is one PLI");
        assert!(!k.poll(ms(199)));
        assert!(k.poll(ms(200)), "repeated while no keyframe came");
        k.got_keyframe();
        assert!(!k.poll(ms(1000)));
        assert!(k.need(ms(1000)));
        assert_eq!(k.sent(), 3);
    }

    #[test]
    fn our_formats_become_str0m_payloads_and_back() {
        let registry = CodecRegistry::with_builtin();
        for f in crate::encoder_formats(&registry) {
            let (pt, _, _, params) = payload_config(&f).expect("every format we encode maps");
            let _ = pt;
            if f.codec() == Some(CodecKind::H264) {
                assert_eq!(
                    format!("{:06x}", params.profile_level_id.unwrap()),
                    f.parameters["profile-level-id"]
                );
            }
        }
    }
}
