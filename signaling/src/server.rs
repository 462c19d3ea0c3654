//! The room server: axum on tokio, one WebSocket per participant, rooms of up to
//! [`MAX_PEERS`], and the browser page on the same port.
//!
//! Costs are bounded per connection: messages over [`MAX_MESSAGE_BYTES`] are refused by the
//! WebSocket layer before they are buffered whole, a token bucket limits the message rate (an
//! excess message is dropped with `rate_limited`; a connection that keeps flooding, more than
//! four bursts refused, is closed),
//! each connection's outgoing queue is bounded (a peer that does not read gets
//! `peer_unavailable` for the messages meant for it), and the number of connections is capped.
//! The server pings every [`ServerConfig::heartbeat`]; a connection that sends nothing (not
//! even a pong) for [`ServerConfig::dead_after`] is dead. A connection that drops without a
//! close frame keeps its seat for [`ServerConfig::resume_window`]: the others hear
//! `peer_disconnected`, and if it comes back with its resume token, `peer_resumed`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::protocol::{
    ClientMessage, ErrorCode, LeaveReason, MAX_MESSAGE_BYTES, MAX_PEERS, PeerInfo, ServerMessage,
    check_display_name, check_room, parse_client,
};
use crate::token::{Secret, TokenError};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// With a secret, joining needs a token signed for the room.
    pub secret: Option<Secret>,
    /// How often the server pings each connection.
    pub heartbeat: Duration,
    /// Nothing received for this long: the connection is dead.
    pub dead_after: Duration,
    /// How long a dropped participant's seat is held for it.
    pub resume_window: Duration,
    /// Messages per second a connection may send on average...
    pub rate_per_s: f64,
    /// ...and at once.
    pub burst: f64,
    /// Messages waiting to be written to one connection.
    pub outbox: usize,
    /// Open WebSocket connections at most.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            secret: None,
            heartbeat: Duration::from_secs(5),
            dead_after: Duration::from_secs(15),
            resume_window: Duration::from_secs(15),
            rate_per_s: 50.0,
            burst: 200.0,
            outbox: 512,
            max_connections: 10_000,
        }
    }
}

/// Counters, for tests and the load report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerStats {
    /// Rooms with someone in them.
    pub rooms: usize,
    /// Seats taken (including held ones).
    pub participants: usize,
    /// Open WebSocket connections.
    pub connections: usize,
    /// Messages relayed from one participant to another.
    pub relayed: u64,
    /// `error` messages sent.
    pub errors: u64,
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    hub: Arc<Hub>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds and starts serving in the background (on the current tokio runtime).
    pub async fn start(config: ServerConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let hub = Arc::new(Hub::new(config, stopped.clone()));
        let app = Router::new()
            .route("/", get(page_html))
            .route("/app.js", get(page_js))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/stats", get(stats_json))
            .route("/ws", get(upgrade))
            .with_state(hub.clone());
        let mut shutdown = stopped;
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|s| *s).await;
            })
            .await
        });
        Ok(Self {
            addr,
            hub,
            stop,
            task,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Current counters.
    pub fn stats(&self) -> ServerStats {
        self.hub.stats()
    }

    /// Closes every connection and stops listening.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// Serves until the task ends (it ends only on an accept error or [`Server::shutdown`]).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// Counts only (no room names or ids): `{"rooms", "participants", "connections", "relayed",
/// "errors"}`.
async fn stats_json(State(hub): State<Arc<Hub>>) -> Response {
    let s = hub.stats();
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!(
            r#"{{"rooms":{},"participants":{},"connections":{},"relayed":{},"errors":{}}}"#,
            s.rooms, s.participants, s.connections, s.relayed, s.errors
        ),
    )
        .into_response()
}

async fn page_html() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        crate::PAGE_HTML,
    )
        .into_response()
}

async fn page_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        crate::PAGE_JS,
    )
        .into_response()
}

async fn upgrade(
    State(hub): State<Arc<Hub>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let open = hub.connections.fetch_add(1, Ordering::SeqCst);
    if open >= hub.config.max_connections {
        hub.connections.fetch_sub(1, Ordering::SeqCst);
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections\n").into_response();
    }
    let guard = ConnectionCount(hub.clone());
    // A little over the message limit so that the frame header and our own check fit; anything
    // bigger is refused while it arrives, not after it was buffered.
    // Small socket buffers (tungstenite's defaults are 128 KiB each way per connection): most
    // messages are candidates of ~100 bytes and SDPs of a few KB.
    ws.max_message_size(MAX_MESSAGE_BYTES + 1024)
        .max_frame_size(MAX_MESSAGE_BYTES + 1024)
        .read_buffer_size(8 * 1024)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| async move {
            let _guard = guard;
            Connection::run(hub, socket, peer).await;
        })
}

/// Decrements the connection count however the connection ends.
struct ConnectionCount(Arc<Hub>);

impl Drop for ConnectionCount {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a connection's writer sends.
#[derive(Debug)]
enum Out {
    Text(Utf8Bytes),
    Close(u16, &'static str),
}

#[derive(Debug)]
struct Seat {
    id: String,
    name: String,
    resume: String,
    /// The connection holding the seat (`None`: dropped, held for a resume).
    conn: Option<(u64, mpsc::Sender<Out>)>,
    /// Changes whenever `conn` does, so that a stale hold timer does nothing.
    epoch: u64,
}

#[derive(Debug, Default)]
struct Room {
    seats: Vec<Seat>,
}

#[derive(Debug)]
struct Hub {
    config: ServerConfig,
    rooms: Mutex<HashMap<String, Room>>,
    connections: AtomicUsize,
    next_conn: AtomicU64,
    relayed: AtomicU64,
    errors: AtomicU64,
    stopped: watch::Receiver<bool>,
}

fn encode(m: &ServerMessage) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(m).expect("server messages serialize"))
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the OS has randomness");
    hex::encode(b)
}

impl Hub {
    fn new(config: ServerConfig, stopped: watch::Receiver<bool>) -> Self {
        Self {
            config,
            rooms: Mutex::new(HashMap::new()),
            connections: AtomicUsize::new(0),
            next_conn: AtomicU64::new(1),
            relayed: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            stopped,
        }
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<String, Room>> {
        // A panic while holding the lock cannot leave a room half-changed in a way that matters
        // more than losing the server: carry on with the data as it is.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stats(&self) -> ServerStats {
        let rooms = self.rooms();
        ServerStats {
            rooms: rooms.len(),
            participants: rooms.values().map(|r| r.seats.len()).sum(),
            connections: self.connections.load(Ordering::SeqCst),
            relayed: self.relayed.load(Ordering::SeqCst),
            errors: self.errors.load(Ordering::SeqCst),
        }
    }

    /// Sends to everyone in `room` but `except` (best effort: a full queue drops it).
    fn broadcast(room: &Room, except: &str, m: &ServerMessage) {
        let text = encode(m);
        for s in room.seats.iter().filter(|s| s.id != except) {
            if let Some((_, tx)) = &s.conn {
                let _ = tx.try_send(Out::Text(text.clone()));
            }
        }
    }

    fn join(
        self: &Arc<Self>,
        conn: u64,
        tx: &mpsc::Sender<Out>,
        room_name: &str,
        name: &str,
        token: Option<&str>,
        resume: Option<&str>,
    ) -> Result<(String, ServerMessage), ServerMessage> {
        check_room(room_name)?;
        check_display_name(name)?;
        if let Some(secret) = &self.config.secret {
            let token = token.ok_or_else(|| {
                ServerMessage::error(ErrorCode::Unauthorized, "this server needs a room token")
            })?;
            secret
                .verify(room_name, token, SystemTime::now())
                .map_err(|e| match e {
                    TokenError::Expired => {
                        ServerMessage::error(ErrorCode::TokenExpired, e.to_string())
                    }
                    _ => ServerMessage::error(ErrorCode::Unauthorized, e.to_string()),
                })?;
        }
        let mut rooms = self.rooms();
        let room = rooms.entry(room_name.to_owned()).or_default();
        if let Some(resume) = resume
            && let Some(i) = room.seats.iter().position(|s| s.resume == resume)
        {
            let seat = &mut room.seats[i];
            if let Some((_, old)) = seat.conn.take() {
                let _ = old.try_send(Out::Close(4000, "replaced by a resumed connection"));
            }
            seat.conn = Some((conn, tx.clone()));
            seat.epoch += 1;
            seat.name = name.to_owned();
            let id = seat.id.clone();
            let resume = seat.resume.clone();
            Self::broadcast(room, &id, &ServerMessage::PeerResumed { id: id.clone() });
            let peers = Self::peers_of(room, &id);
            return Ok((
                id.clone(),
                ServerMessage::Joined {
                    id,
                    resume,
                    resumed: true,
                    peers,
                    max_peers: MAX_PEERS,
                },
            ));
        }
        if room.seats.len() >= MAX_PEERS {
            if room.seats.is_empty() {
                rooms.remove(room_name);
            }
            return Err(ServerMessage::error(
                ErrorCode::RoomFull,
                format!("room {room_name:?} has {MAX_PEERS} participants"),
            ));
        }
        let id = loop {
            let id = random_hex(4);
            if room.seats.iter().all(|s| s.id != id) {
                break id;
            }
        };
        let resume = random_hex(16);
        let peers = Self::peers_of(room, &id);
        Self::broadcast(
            room,
            &id,
            &ServerMessage::PeerJoined {
                id: id.clone(),
                name: name.to_owned(),
            },
        );
        room.seats.push(Seat {
            id: id.clone(),
            name: name.to_owned(),
            resume: resume.clone(),
            conn: Some((conn, tx.clone())),
            epoch: 0,
        });
        Ok((
            id.clone(),
            ServerMessage::Joined {
                id,
                resume,
                resumed: false,
                peers,
                max_peers: MAX_PEERS,
            },
        ))
    }

    fn peers_of(room: &Room, me: &str) -> Vec<PeerInfo> {
        room.seats
            .iter()
            .filter(|s| s.id != me)
            .map(|s| PeerInfo {
                id: s.id.clone(),
                name: s.name.clone(),
            })
            .collect()
    }

    /// Relays `m` from `from` to `to` in `room`.
    fn relay(
        &self,
        room: &str,
        from: &str,
        to: &str,
        m: &ServerMessage,
    ) -> Result<(), ServerMessage> {
        let rooms = self.rooms();
        let seat = rooms
            .get(room)
            .and_then(|r| r.seats.iter().find(|s| s.id == to))
            .filter(|s| s.id != from)
            .ok_or_else(|| {
                ServerMessage::error(
                    ErrorCode::UnknownPeer,
                    format!("{to:?} is not another participant of your room"),
                )
            })?;
        let unavailable = || {
            ServerMessage::error(
                ErrorCode::PeerUnavailable,
                format!("{to:?} is not connected right now"),
            )
        };
        let (_, tx) = seat.conn.as_ref().ok_or_else(unavailable)?;
        tx.try_send(Out::Text(encode(m)))
            .map_err(|_| unavailable())?;
        self.relayed.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// `id` left on purpose: its seat is free at once.
    fn leave(&self, room_name: &str, id: &str, conn: u64) {
        let mut rooms = self.rooms();
        let Some(room) = rooms.get_mut(room_name) else {
            return;
        };
        let Some(i) = room
            .seats
            .iter()
            .position(|s| s.id == id && s.conn.as_ref().is_some_and(|c| c.0 == conn))
        else {
            return;
        };
        room.seats.remove(i);
        Self::broadcast(
            room,
            id,
            &ServerMessage::PeerLeft {
                id: id.to_owned(),
                reason: LeaveReason::Left,
            },
        );
        if room.seats.is_empty() {
            rooms.remove(room_name);
        }
    }

    /// `id`'s connection dropped: hold its seat for the resume window.
    fn dropped(self: &Arc<Self>, room_name: &str, id: &str, conn: u64) {
        let epoch = {
            let mut rooms = self.rooms();
            let Some(room) = rooms.get_mut(room_name) else {
                return;
            };
            let Some(seat) = room
                .seats
                .iter_mut()
                .find(|s| s.id == id && s.conn.as_ref().is_some_and(|c| c.0 == conn))
            else {
                return; // replaced by a resumed connection already
            };
            seat.conn = None;
            seat.epoch += 1;
            let epoch = seat.epoch;
            Self::broadcast(
                room,
                id,
                &ServerMessage::PeerDisconnected { id: id.to_owned() },
            );
            epoch
        };
        let hub = self.clone();
        let (room_name, id) = (room_name.to_owned(), id.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(hub.config.resume_window).await;
            let mut rooms = hub.rooms();
            let Some(room) = rooms.get_mut(&room_name) else {
                return;
            };
            let Some(i) = room
                .seats
                .iter()
                .position(|s| s.id == id && s.epoch == epoch && s.conn.is_none())
            else {
                return; // resumed (or gone) meanwhile
            };
            room.seats.remove(i);
            Self::broadcast(
                room,
                &id,
                &ServerMessage::PeerLeft {
                    id: id.clone(),
                    reason: LeaveReason::Timeout,
                },
            );
            if room.seats.is_empty() {
                rooms.remove(&room_name);
            }
        });
    }
}

/// A connection refused this many bursts' worth of messages since its bucket was last full
/// is flooding on purpose: it is closed (1008).
const FLOOD_KICK: f64 = 4.0;

/// Resolves once the server is told to stop.
async fn stop_signal(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// A token bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// A close frame: the participant left.
    Closed,
    /// Gone without a word (network, crash, heartbeat): hold the seat.
    Dropped,
    /// We closed it (flood, oversized message, shutdown).
    Kicked,
}

struct Connection {
    hub: Arc<Hub>,
    id: u64,
    tx: mpsc::Sender<Out>,
    /// (room, participant id) once joined.
    seat: Option<(String, String)>,
    bucket: Bucket,
    refused: u32,
}

impl Connection {
    async fn run(hub: Arc<Hub>, socket: WebSocket, _peer: SocketAddr) {
        let (mut sink, mut stream) = socket.split();
        let (tx, mut rx) = mpsc::channel::<Out>(hub.config.outbox);
        let heartbeat = hub.config.heartbeat;
        let mut stopped = hub.stopped.clone();
        let writer = tokio::spawn(async move {
            let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
            ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    out = rx.recv() => match out {
                        Some(Out::Text(t)) => {
                            if sink.send(Message::Text(t)).await.is_err() {
                                break;
                            }
                        }
                        Some(Out::Close(code, reason)) => {
                            let _ = sink
                                .send(Message::Close(Some(CloseFrame {
                                    code,
                                    reason: reason.into(),
                                })))
                                .await;
                            break;
                        }
                        None => break,
                    },
                    _ = ping.tick() => {
                        if sink.send(Message::Ping(Default::default())).await.is_err() {
                            break;
                        }
                    }
                    _ = stop_signal(&mut stopped) => {
                        let _ = sink
                            .send(Message::Close(Some(CloseFrame {
                                code: 1001,
                                reason: "server shutting down".into(),
                            })))
                            .await;
                        break;
                    }
                }
            }
        });
        let mut c = Connection {
            id: hub.next_conn.fetch_add(1, Ordering::Relaxed),
            bucket: Bucket {
                tokens: hub.config.burst,
                at: Instant::now(),
            },
            hub,
            tx,
            seat: None,
            refused: 0,
        };
        let end = c.read(&mut stream).await;
        if let Some((room, id)) = c.seat.take() {
            match end {
                End::Closed => c.hub.leave(&room, &id, c.id),
                End::Dropped | End::Kicked => c.hub.dropped(&room, &id, c.id),
            }
        }
        drop(c);
        let _ = writer.await;
    }

    async fn read(&mut self, stream: &mut futures_util::stream::SplitStream<WebSocket>) -> End {
        let mut stopped = self.hub.stopped.clone();
        loop {
            let next = tokio::select! {
                n = tokio::time::timeout(self.hub.config.dead_after, stream.next()) => n,
                _ = stop_signal(&mut stopped) => return End::Kicked,
            };
            let msg = match next {
                Err(_) | Ok(None) => return End::Dropped,
                Ok(Some(Err(e))) => {
                    // tungstenite refuses an oversized message while reading it.
                    if e.to_string().contains("too long") || e.to_string().contains("too big") {
                        self.send(&ServerMessage::error(
                            ErrorCode::TooLarge,
                            format!("messages are limited to {MAX_MESSAGE_BYTES} bytes"),
                        ));
                        let _ = self.tx.try_send(Out::Close(1009, "message too big"));
                        return End::Kicked;
                    }
                    return End::Dropped;
                }
                Ok(Some(Ok(m))) => m,
            };
            match msg {
                Message::Text(t) => {
                    if !self.take_token() {
                        self.refused += 1;
                        self.send(&ServerMessage::error(
                            ErrorCode::RateLimited,
                            format!(
                                "at most {} messages a second ({} at once): dropped",
                                self.hub.config.rate_per_s, self.hub.config.burst
                            ),
                        ));
                        if f64::from(self.refused) > FLOOD_KICK * self.hub.config.burst {
                            let _ = self.tx.try_send(Out::Close(1008, "flooding"));
                            return End::Kicked;
                        }
                        continue;
                    }
                    self.on_text(t.as_str());
                }
                Message::Binary(_) => self.send(&ServerMessage::error(
                    ErrorCode::BadMessage,
                    "messages are JSON text, not binary",
                )),
                Message::Close(_) => return End::Closed,
                Message::Ping(_) | Message::Pong(_) => {}
            }
        }
    }

    fn take_token(&mut self) -> bool {
        let now = Instant::now();
        let cfg = &self.hub.config;
        let elapsed = now.duration_since(self.bucket.at).as_secs_f64();
        self.bucket.tokens = (self.bucket.tokens + elapsed * cfg.rate_per_s).min(cfg.burst);
        self.bucket.at = now;
        if self.bucket.tokens >= cfg.burst {
            // Quiet long enough to refill: an earlier burst is forgiven.
            self.refused = 0;
        }
        if self.bucket.tokens >= 1.0 {
            self.bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn send(&self, m: &ServerMessage) {
        if matches!(m, ServerMessage::Error { .. }) {
            self.hub.errors.fetch_add(1, Ordering::Relaxed);
        }
        let _ = self.tx.try_send(Out::Text(encode(m)));
    }

    fn on_text(&mut self, text: &str) {
        let m = match parse_client(text) {
            Ok(m) => m,
            Err(e) => return self.send(&e),
        };
        if let Err(e) = self.handle(m) {
            self.send(&e);
        }
    }

    fn handle(&mut self, m: ClientMessage) -> Result<(), ServerMessage> {
        let not_joined = || ServerMessage::error(ErrorCode::NotJoined, "send join first");
        match m {
            ClientMessage::Ping => {
                self.send(&ServerMessage::Pong);
                Ok(())
            }
            ClientMessage::Join {
                room,
                name,
                token,
                resume,
            } => {
                if self.seat.is_some() {
                    return Err(ServerMessage::error(
                        ErrorCode::AlreadyJoined,
                        "this connection has a seat already",
                    ));
                }
                let (id, joined) = self.hub.join(
                    self.id,
                    &self.tx,
                    &room,
                    &name,
                    token.as_deref(),
                    resume.as_deref(),
                )?;
                self.send(&joined);
                self.seat = Some((room, id));
                Ok(())
            }
            ClientMessage::Leave => {
                let (room, id) = self.seat.take().ok_or_else(not_joined)?;
                self.hub.leave(&room, &id, self.id);
                Ok(())
            }
            ClientMessage::Offer { to, sdp } => {
                self.relay(to, |from| ServerMessage::Offer { from, sdp })
            }
            ClientMessage::Answer { to, sdp } => {
                self.relay(to, |from| ServerMessage::Answer { from, sdp })
            }
            ClientMessage::Candidate {
                to,
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => self.relay(to, |from| ServerMessage::Candidate {
                from,
                candidate,
                sdp_mid,
                sdp_mline_index,
            }),
            ClientMessage::StatsRequest { to } => {
                self.relay(to, |from| ServerMessage::StatsRequest { from })
            }
            ClientMessage::Stats { to, report } => {
                self.relay(to, |from| ServerMessage::Stats { from, report })
            }
        }
    }

    fn relay(
        &self,
        to: String,
        message: impl FnOnce(String) -> ServerMessage,
    ) -> Result<(), ServerMessage> {
        let (room, from) = self
            .seat
            .as_ref()
            .ok_or_else(|| ServerMessage::error(ErrorCode::NotJoined, "send join first"))?;
        self.hub.relay(room, from, &to, &message(from.clone()))
    }
}
