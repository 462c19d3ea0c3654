//! A server on loopback with short timers, and clients that join it.

#![allow(dead_code)]

use std::time::Duration;

use rtvc_signal::{Client, ClientMessage, Joined, Server, ServerConfig, ServerMessage};

/// How long a test waits for a message that must come.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server on 127.0.0.1 (any port) with timers short enough for tests.
pub async fn server(tweak: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        heartbeat: Duration::from_millis(200),
        dead_after: Duration::from_millis(1000),
        resume_window: Duration::from_millis(1500),
        ..ServerConfig::default()
    };
    tweak(&mut config);
    Server::start(config)
        .await
        .expect("server starts on loopback")
}

/// `ws://` URL of a server.
pub fn url(s: &Server) -> String {
    format!("ws://{}", s.local_addr())
}

/// Joins `room` as `name`.
pub async fn join(s: &Server, room: &str, name: &str) -> (Client, Joined) {
    Client::join(&url(s), room, name, None, None, WAIT)
        .await
        .expect("join accepted")
}

/// The next message, which must come within [`WAIT`].
pub async fn next(c: &mut Client) -> ServerMessage {
    c.recv(WAIT).await.expect("a message from the server")
}

/// Asserts that nothing arrives for `quiet`.
pub async fn silent(c: &mut Client, quiet: Duration) {
    match c.recv(quiet).await {
        Err(rtvc_signal::ClientError::Timeout(_)) => {}
        other => panic!("expected silence, got {other:?}"),
    }
}

/// Sends a message that must go through.
pub async fn send(c: &mut Client, m: ClientMessage) {
    c.send(&m).await.expect("sent");
}

/// The error code of an `error` message (panics on anything else).
pub fn error_code(m: &ServerMessage) -> rtvc_signal::ErrorCode {
    match m {
        ServerMessage::Error { code, .. } => *code,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// A `join` without token or resume.
pub fn join_msg(room: &str, name: &str) -> ClientMessage {
    ClientMessage::Join {
        room: room.into(),
        name: name.into(),
        token: None,
        resume: None,
    }
}
