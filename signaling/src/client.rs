//! A participant's side of the protocol (used by `rtvc join` and the tests): connect, join,
//! send, receive with a timeout. WebSocket pings are answered by tungstenite as we read.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocol::{ClientMessage, MAX_MESSAGE_BYTES, PeerInfo, ServerMessage};

/// What went wrong on the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Could not connect or the connection broke.
    #[error("signaling connection: {0}")]
    Ws(#[from] tungstenite::Error),
    /// The server closed the connection.
    #[error("the server closed the connection{}", .0.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<String>),
    /// Nothing arrived in time.
    #[error("no message from the server within {0:?}")]
    Timeout(Duration),
    /// The server sent something that is not a server message.
    #[error("the server sent an unexpected message: {0}")]
    Unexpected(String),
    /// The server refused the join.
    #[error("join refused: {code:?}: {message}")]
    Refused {
        /// The error code.
        code: crate::protocol::ErrorCode,
        /// The server's words.
        message: String,
    },
}

/// The answer to a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// Our id.
    pub id: String,
    /// Our resume token.
    pub resume: String,
    /// We took a held seat back.
    pub resumed: bool,
    /// Who was there.
    pub peers: Vec<PeerInfo>,
}

/// A connection to the server.
#[derive(Debug)]
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects to `url` (`ws://host:port/ws`; a URL without a path gets `/ws`).
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let url = ws_url(url);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES * 2))
            .max_frame_size(Some(MAX_MESSAGE_BYTES * 2));
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true).await?;
        Ok(Self { ws })
    }

    /// Connects and joins `room`.
    pub async fn join(
        url: &str,
        room: &str,
        name: &str,
        token: Option<&str>,
        resume: Option<&str>,
        wait: Duration,
    ) -> Result<(Self, Joined), ClientError> {
        let mut c = Self::connect(url).await?;
        c.send(&ClientMessage::Join {
            room: room.into(),
            name: name.into(),
            token: token.map(Into::into),
            resume: resume.map(Into::into),
        })
        .await?;
        match c.recv(wait).await? {
            ServerMessage::Joined {
                id,
                resume,
                resumed,
                peers,
                ..
            } => Ok((
                c,
                Joined {
                    id,
                    resume,
                    resumed,
                    peers,
                },
            )),
            ServerMessage::Error { code, message } => Err(ClientError::Refused { code, message }),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// [`Client::join`], retrying to connect (100 ms, doubling to 1 s) until `deadline` (a
    /// server that is restarting). A refused join is not retried.
    pub async fn join_retrying(
        url: &str,
        room: &str,
        name: &str,
        token: Option<&str>,
        resume: Option<&str>,
        deadline: tokio::time::Instant,
    ) -> Result<(Self, Joined), ClientError> {
        let mut pause = Duration::from_millis(100);
        loop {
            let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
            match Self::join(
                url,
                room,
                name,
                token,
                resume,
                wait.max(Duration::from_millis(1)),
            )
            .await
            {
                Err(ClientError::Ws(_) | ClientError::Closed(_))
                    if tokio::time::Instant::now() + pause < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    /// Sends a message.
    pub async fn send(&mut self, m: &ClientMessage) -> Result<(), ClientError> {
        let text = serde_json::to_string(m).expect("client messages serialize");
        self.send_text(text).await
    }

    /// Sends any text (tests send malformed ones).
    pub async fn send_text(&mut self, text: String) -> Result<(), ClientError> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    /// Sends a binary message (tests).
    pub async fn send_binary(&mut self, data: Vec<u8>) -> Result<(), ClientError> {
        self.ws.send(Message::binary(data)).await?;
        Ok(())
    }

    /// The next server message, waiting at most `wait`.
    pub async fn recv(&mut self, wait: Duration) -> Result<ServerMessage, ClientError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| ClientError::Timeout(wait))?;
            match next {
                None => return Err(ClientError::Closed(None)),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(t.as_str())
                        .map_err(|_| ClientError::Unexpected(t.as_str().to_owned()));
                }
                Some(Ok(Message::Close(f))) => {
                    return Err(ClientError::Closed(
                        f.map(|f| format!("{} {}", u16::from(f.code), f.reason)),
                    ));
                }
                Some(Ok(_)) => {} // pings are answered by tungstenite; nothing else is sent
            }
        }
    }

    /// Closes with a close frame (the server frees the seat at once).
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.ws.close(None).await?;
        // Read until the server's close comes back.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
        Ok(())
    }

    /// Drops the TCP connection without a close frame, as a lost network would.
    pub fn abort(self) {
        drop(self.ws);
    }
}

/// `ws://h:p` → `ws://h:p/ws`; `http(s)://` → `ws(s)://`.
pub fn ws_url(url: &str) -> String {
    let url = if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        url.to_owned()
    };
    let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    if after_scheme.contains('/') {
        url
    } else {
        format!("{url}/ws")
    }
}

#[cfg(test)]
mod tests {
    use super::ws_url;

    #[test]
    fn urls_get_the_websocket_path() {
        assert_eq!(ws_url("ws://127.0.0.1:8080"), "ws://127.0.0.1:8080/ws");
        assert_eq!(ws_url("http://h:1"), "ws://h:1/ws");
        assert_eq!(ws_url("ws://h:1/ws"), "ws://h:1/ws");
        assert_eq!(ws_url("https://h/x"), "wss://h/x");
    }
}
