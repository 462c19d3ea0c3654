//! rtvc's signaling: a WebSocket room server (`rtvc serve`), its client (`rtvc join`, tests)
//! and the browser page it serves.
//!
//! One process, rooms of up to [`protocol::MAX_PEERS`] participants who find each other and
//! exchange SDP offers, answers and ICE candidates through it; media never passes through the
//! server (each pair of participants talks directly: a mesh). The protocol is in [`protocol`],
//! room invitations in [`token`], the server's limits in [`server`].
//!
//! ```text
//!   newcomer                  server                      peer already there
//!      | join {room,name} ------> |                                |
//!      | <----- joined {id,peers} | ---- peer_joined {id,name} --> |
//!      | offer {to,sdp} --------> | ---- offer {from,sdp} -------> |
//!      | <------ answer {from,..} | <--- answer {to,sdp} --------- |
//!      | candidate {to,..} <----> | <--> candidate {from,..}       |
//! ```

pub mod client;
pub mod protocol;
pub mod server;
pub mod token;

pub use client::{Client, ClientError, Joined};
pub use protocol::{ClientMessage, ErrorCode, LeaveReason, PeerInfo, ServerMessage};
pub use server::{Server, ServerConfig, ServerStats};
pub use token::{Secret, TokenError};

/// The browser page (`/`): join by URL `/?room=R&codec=av1|h264`.
pub const PAGE_HTML: &str = include_str!("../page/index.html");
/// Its script (`/app.js`), plain JavaScript with no build step.
pub const PAGE_JS: &str = include_str!("../page/app.js");
