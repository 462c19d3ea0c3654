//! The JSON messages between a participant and the server, one per WebSocket text message.
//!
//! Every message is an object with a `"type"`. Client → server:
//!
//! | type | fields | |
//! | --- | --- | --- |
//! | `join` | `room`, `name`, `token`?, `resume`? | first message; `resume` = the `resume` of an earlier `joined` |
//! | `offer` / `answer` | `to`, `sdp` | relayed to `to` with `from` added |
//! | `candidate` | `to`, `candidate`, `sdp_mid`?, `sdp_mline_index`? | `""` = end of candidates |
//! | `stats_request` | `to` | asks a peer (e.g. a browser page) for its stats |
//! | `stats` | `to`, `report` (an object) | the answer |
//! | `leave` | | frees the seat at once |
//! | `ping` | | answered by `pong` (WebSocket pings work too) |
//!
//! Server → client: `joined` (`id`, `resume`, `resumed`, `peers`: `[{id, name}]`, `max_peers`),
//! `peer_joined` (`id`, `name`), `peer_left` (`id`, `reason`: `left` | `timeout` |
//! `replaced`), `peer_disconnected` (`id`: its connection dropped, its seat is held for the
//! resume window), `peer_resumed` (`id`), the relayed messages with `from`, `pong`, and
//! `error` (`code`, `message`; `code` is one of [`ErrorCode`]).
//!
//! Who offers: the newcomer sends an offer to every peer listed in its `joined`; the others
//! only answer, so two peers never offer to each other at once. When a peer resumes, the peers
//! already in the room offer to it (an ICE restart), and it only answers.

use serde::{Deserialize, Serialize};

/// Largest message accepted, bytes (an SDP offer with every codec is ~10 KB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest room name and display name, characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Participants per room (a mesh of 4: each phone encodes once and decodes 3).
pub const MAX_PEERS: usize = 4;

/// What a participant sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Take a seat in `room`.
    Join {
        /// Room name: 1–64 of `A–Z a–z 0–9 - _ .`.
        room: String,
        /// Display name (1–64 characters).
        name: String,
        /// Invitation token (`rtvc token`), needed when the server has a secret.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The `resume` of an earlier `joined`: take the same seat back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
    },
    /// An SDP offer for `to`.
    Offer {
        /// Peer id.
        to: String,
        /// The SDP.
        sdp: String,
    },
    /// An SDP answer for `to`.
    Answer {
        /// Peer id.
        to: String,
        /// The SDP.
        sdp: String,
    },
    /// An ICE candidate for `to` (`candidate` empty: no more candidates).
    Candidate {
        /// Peer id.
        to: String,
        /// The `candidate:` line.
        candidate: String,
        /// Media id it belongs to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        /// Media line index it belongs to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mline_index: Option<u16>,
    },
    /// Ask `to` for its stats.
    StatsRequest {
        /// Peer id.
        to: String,
    },
    /// Stats for `to` (an answer to `stats_request`).
    Stats {
        /// Peer id.
        to: String,
        /// Whatever the reporter measured (an object).
        report: serde_json::Map<String, serde_json::Value>,
    },
    /// Leave the room.
    Leave,
    /// Answered by `pong`.
    Ping,
}

/// A peer in a `joined` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Its id in this room.
    pub id: String,
    /// Its display name.
    pub name: String,
}

/// Why a peer left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// It said `leave` (or closed its connection cleanly).
    Left,
    /// Its connection dropped and it did not resume within the window.
    Timeout,
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// You have a seat.
    Joined {
        /// Your id in the room.
        id: String,
        /// Give this back in `join` to take the same seat after a dropped connection.
        resume: String,
        /// This seat was held for you (your peers will offer to you again).
        resumed: bool,
        /// Who is there (offer to each of them unless `resumed`).
        peers: Vec<PeerInfo>,
        /// Seats per room.
        max_peers: usize,
    },
    /// Someone took a seat (it will offer to you).
    PeerJoined {
        /// Its id.
        id: String,
        /// Its display name.
        name: String,
    },
    /// Someone's seat is free again.
    PeerLeft {
        /// Its id.
        id: String,
        /// Why.
        reason: LeaveReason,
    },
    /// Someone's connection dropped; its seat is held while it may resume.
    PeerDisconnected {
        /// Its id.
        id: String,
    },
    /// Someone took its held seat back: offer to it again (ICE restart).
    PeerResumed {
        /// Its id.
        id: String,
    },
    /// A relayed offer.
    Offer {
        /// Sender's id.
        from: String,
        /// The SDP.
        sdp: String,
    },
    /// A relayed answer.
    Answer {
        /// Sender's id.
        from: String,
        /// The SDP.
        sdp: String,
    },
    /// A relayed candidate.
    Candidate {
        /// Sender's id.
        from: String,
        /// The `candidate:` line (empty: end of candidates).
        candidate: String,
        /// Media id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        /// Media line index.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mline_index: Option<u16>,
    },
    /// A relayed stats request.
    StatsRequest {
        /// Who asks.
        from: String,
    },
    /// Relayed stats.
    Stats {
        /// Whose.
        from: String,
        /// What it reported.
        report: serde_json::Map<String, serde_json::Value>,
    },
    /// Answer to `ping`.
    Pong,
    /// Something was wrong with what you sent (nothing else happened).
    Error {
        /// Machine-readable.
        code: ErrorCode,
        /// For people.
        message: String,
    },
}

/// The `code` of an `error` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not an object with a known `type` and its fields.
    BadMessage,
    /// Over [`MAX_MESSAGE_BYTES`].
    TooLarge,
    /// Too many messages: this one was dropped.
    RateLimited,
    /// A room or display name that is empty, too long or has other characters.
    BadName,
    /// The room has [`MAX_PEERS`] participants.
    RoomFull,
    /// The server needs a token for this room and got none, or a wrong one.
    Unauthorized,
    /// The token was right but has expired.
    TokenExpired,
    /// Only `join` (or `ping`) before joining.
    NotJoined,
    /// A second `join` on one connection.
    AlreadyJoined,
    /// `to` is not a participant of your room (or is yourself).
    UnknownPeer,
    /// `to` is in your room but its connection is down (held seat) or not keeping up.
    PeerUnavailable,
}

impl ServerMessage {
    /// An `error`.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
        }
    }
}

/// Parses one client message, or says what is wrong with it.
pub fn parse_client(text: &str) -> Result<ClientMessage, ServerMessage> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ServerMessage::error(
            ErrorCode::TooLarge,
            format!("messages are limited to {MAX_MESSAGE_BYTES} bytes"),
        ));
    }
    serde_json::from_str(text).map_err(|e| {
        ServerMessage::error(ErrorCode::BadMessage, format!("not a valid message: {e}"))
    })
}

/// Checks a room name: 1–64 of `A–Z a–z 0–9 - _ .`.
pub fn check_room(room: &str) -> Result<(), ServerMessage> {
    let ok = !room.is_empty()
        && room.len() <= MAX_NAME_CHARS
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ServerMessage::error(
            ErrorCode::BadName,
            format!("a room name is 1–{MAX_NAME_CHARS} of A–Z a–z 0–9 - _ ."),
        ))
    }
}

/// Checks a display name: 1–64 characters, no control characters.
pub fn check_display_name(name: &str) -> Result<(), ServerMessage> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        Err(ServerMessage::error(
            ErrorCode::BadName,
            format!("a display name is 1–{MAX_NAME_CHARS} characters without control characters"),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_with_their_documented_json() {
        let j = r#"{"type":"join","room":"r1","name":"Ann","token":"t"}"#;
        let m = parse_client(j).expect("valid join");
        assert_eq!(
            m,
            ClientMessage::Join {
                room: "r1".into(),
                name: "Ann".into(),
                token: Some("t".into()),
                resume: None
            }
        );
        assert_eq!(serde_json::to_string(&m).expect("serializes"), j);
        let c = r#"{"type":"candidate","to":"a","candidate":"candidate:1 1 UDP 1 127.0.0.1 5000 typ host","sdp_mid":"0","sdp_mline_index":0}"#;
        assert!(matches!(
            parse_client(c),
            Ok(ClientMessage::Candidate { .. })
        ));
        let s = ServerMessage::PeerLeft {
            id: "x".into(),
            reason: LeaveReason::Timeout,
        };
        assert_eq!(
            serde_json::to_string(&s).expect("serializes"),
            r#"{"type":"peer_left","id":"x","reason":"timeout"}"#
        );
        let e = ServerMessage::error(ErrorCode::RoomFull, "full");
        assert_eq!(
            serde_json::to_string(&e).expect("serializes"),
            r#"{"type":"error","code":"room_full","message":"full"}"#
        );
    }

    #[test]
    fn bad_messages_get_typed_errors() {
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"type":"nope"}"#,
            r#"{"type":"offer","to":"a"}"#,
            r#"{"type":"offer","to":"a","sdp":"x","extra":1}"#,
            r#"{"type":"stats","to":"a","report":[1]}"#,
            r#"{"room":"r"}"#,
        ] {
            match parse_client(bad) {
                Err(ServerMessage::Error {
                    code: ErrorCode::BadMessage,
                    ..
                }) => {}
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let big = format!(
            r#"{{"type":"offer","to":"a","sdp":"{}"}}"#,
            "x".repeat(MAX_MESSAGE_BYTES)
        );
        assert!(matches!(
            parse_client(&big),
            Err(ServerMessage::Error {
                code: ErrorCode::TooLarge,
                ..
            })
        ));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_room("team-7.daily_sync").is_ok());
        for bad in ["", "a b", "r/1", "é", &"a".repeat(65)] {
            assert!(check_room(bad).is_err(), "{bad:?}");
        }
        assert!(check_display_name("Ann Müller 📞").is_ok());
        for bad in ["", "a\nb", &"x".repeat(65)] {
            assert!(check_display_name(bad).is_err(), "{bad:?}");
        }
    }
}
