//! `rtvc serve` as a real process on loopback, under load and faults:
//! - 250 rooms × 4 clients join, exchange offers, answers and 20 candidates per peer, leave:
//!   every message arrives once, in order, at the right peer; relay latency p50/p99 and the
//!   server's memory are printed (README, "Signaling");
//! - killed client connections (no close frame) free their seats after the resume window;
//! - a restart of the server is survived by clients that reconnect, rejoin and renegotiate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtvc_signal::{Client, ClientMessage, Joined, ServerMessage};

const ROOMS: usize = 250;
const PER_ROOM: usize = 4;
const CANDIDATES: usize = 20;
const WAIT: Duration = Duration::from_secs(30);

mod common;

use common::ServeProcess;

/// `rtvc serve` with a 1 s resume window (killed clients' seats come free quickly).
fn serve(listen: &str) -> ServeProcess {
    ServeProcess::start(listen, &["--resume-window", "1"])
}

impl ServeProcess {
    /// (VmRSS, VmHWM) in KiB.
    fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .expect("a memory field")
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn stats(&self) -> String {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&self.addr).expect("connects");
        s.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("request");
        let mut r = String::new();
        s.read_to_string(&mut r).expect("response");
        r.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
    }
}

fn base() -> Instant {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// A payload that says who sent it to whom, its index and when (µs since [`base`]).
fn stamp(from: &str, to: &str, kind: &str, i: usize) -> String {
    format!("{kind} {from} {to} {i} {}", base().elapsed().as_micros())
}

/// Checks a stamped payload: sender, recipient, kind, index; returns its latency in µs.
fn check(payload: &str, from: &str, me: &str, kind: &str, i: usize) -> u64 {
    let parts: Vec<&str> = payload.split(' ').collect();
    assert_eq!(parts.len(), 5, "{payload}");
    assert_eq!(
        (parts[0], parts[1], parts[2]),
        (kind, from, me),
        "misrouted: {payload}"
    );
    assert_eq!(
        parts[3].parse::<usize>().expect("index"),
        i,
        "out of order: {payload}"
    );
    let sent: u64 = parts[4].parse().expect("time");
    (base().elapsed().as_micros() as u64).saturating_sub(sent)
}

/// One participant: offers to those present, answers the others, sends 20 candidates to each
/// peer, and returns once it has everything from the other three.
async fn participant(mut c: Client, j: Joined, latencies: Arc<Mutex<Vec<u64>>>) -> Client {
    let me = j.id.clone();
    let mut got_sdp: HashMap<String, bool> = HashMap::new();
    let mut got_cand: HashMap<String, usize> = HashMap::new();
    let mut lat = Vec::new();
    let send_candidates = |to: &str| {
        (0..CANDIDATES)
            .map(|i| ClientMessage::Candidate {
                to: to.to_owned(),
                candidate: stamp(&me, to, "cand", i),
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
            })
            .collect::<Vec<_>>()
    };
    for p in &j.peers {
        let offer = ClientMessage::Offer {
            to: p.id.clone(),
            sdp: stamp(&me, &p.id, "offer", 0),
        };
        c.send(&offer).await.expect("sent");
        for m in send_candidates(&p.id) {
            c.send(&m).await.expect("sent");
        }
    }
    let done = |s: &HashMap<String, bool>, k: &HashMap<String, usize>| {
        s.len() == PER_ROOM - 1 && k.values().filter(|&&n| n == CANDIDATES).count() == PER_ROOM - 1
    };
    while !done(&got_sdp, &got_cand) {
        match c.recv(WAIT).await.expect("a message") {
            ServerMessage::PeerJoined { .. } => {}
            ServerMessage::Offer { from, sdp } => {
                lat.push(check(&sdp, &from, &me, "offer", 0));
                assert!(got_sdp.insert(from.clone(), true).is_none(), "one offer");
                let answer = ClientMessage::Answer {
                    to: from.clone(),
                    sdp: stamp(&me, &from, "answer", 0),
                };
                c.send(&answer).await.expect("sent");
                for m in send_candidates(&from) {
                    c.send(&m).await.expect("sent");
                }
            }
            ServerMessage::Answer { from, sdp } => {
                lat.push(check(&sdp, &from, &me, "answer", 0));
                assert!(got_sdp.insert(from, true).is_none(), "one answer");
            }
            ServerMessage::Candidate {
                from, candidate, ..
            } => {
                let n = got_cand.entry(from.clone()).or_default();
                lat.push(check(&candidate, &from, &me, "cand", *n));
                *n += 1;
            }
            other => panic!("{me}: unexpected {other:?}"),
        }
    }
    latencies.lock().expect("not poisoned").extend(lat);
    c
}

fn percentile(v: &mut [u64], p: f64) -> f64 {
    v.sort_unstable();
    v[((v.len() as f64 * p).ceil() as usize).saturating_sub(1)] as f64 / 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_rooms_relay_every_message_once_to_the_right_peer() {
    let server = serve("127.0.0.1:0");
    let url = server.url();
    let (_, hwm_idle) = server.memory_kib();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut rooms = Vec::new();
    for r in 0..ROOMS {
        let url = url.clone();
        let latencies = latencies.clone();
        rooms.push(tokio::spawn(async move {
            let room = format!("load-{r}");
            let mut tasks = Vec::new();
            // They come one after the other, so each newcomer offers to those present.
            for k in 0..PER_ROOM {
                let (c, j) = Client::join(&url, &room, &format!("c{k}"), None, None, WAIT)
                    .await
                    .expect("joined");
                assert_eq!(j.peers.len(), k);
                tasks.push(tokio::spawn(participant(c, j, latencies.clone())));
            }
            let mut clients = Vec::new();
            for t in tasks {
                clients.push(t.await.expect("participant ran"));
            }
            // Everyone has everything: leave.
            for c in clients {
                c.close().await.expect("closed");
            }
        }));
    }
    for r in rooms {
        r.await.expect("room ran");
    }
    let elapsed = started.elapsed();
    let (rss, hwm) = server.memory_kib();
    let mut lat = latencies.lock().expect("not poisoned").clone();
    let per_room = PER_ROOM * (PER_ROOM - 1) * (1 + CANDIDATES);
    assert_eq!(lat.len(), ROOMS * per_room, "every message arrived once");
    let (p50, p99) = (percentile(&mut lat, 0.5), percentile(&mut lat, 0.99));
    eprintln!(
        "load: {ROOMS} rooms × {PER_ROOM}: {} messages relayed in {:.1} s; relay latency p50 {p50:.2} ms, p99 {p99:.2} ms; server memory: {} KiB idle peak, {} KiB peak, {} KiB after",
        lat.len(),
        elapsed.as_secs_f64(),
        hwm_idle,
        hwm,
        rss
    );
    // One message at a time (no queueing): the server's own relay latency.
    let (mut a, ja) = Client::join(&url, "quiet", "a", None, None, WAIT)
        .await
        .expect("joined");
    let (mut b, jb) = Client::join(&url, "quiet", "b", None, None, WAIT)
        .await
        .expect("joined");
    let _ = a.recv(WAIT).await.expect("peer_joined");
    let mut quiet = Vec::new();
    // (Fewer than a burst: the rate limit does not come into it.)
    for i in 0..150 {
        let sdp = stamp(&jb.id, &ja.id, "offer", i);
        b.send(&ClientMessage::Offer {
            to: ja.id.clone(),
            sdp,
        })
        .await
        .expect("sent");
        match a.recv(WAIT).await.expect("relayed") {
            ServerMessage::Offer { from, sdp } => {
                quiet.push(check(&sdp, &from, &ja.id, "offer", i))
            }
            other => panic!("{other:?}"),
        }
    }
    eprintln!(
        "unloaded: relay latency p50 {:.3} ms, p99 {:.3} ms",
        percentile(&mut quiet, 0.5),
        percentile(&mut quiet, 0.99)
    );
    a.close().await.expect("closed");
    b.close().await.expect("closed");
    // All seats are free again, nothing is left behind.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = server.stats();
        if stats.contains(r#""rooms":0,"participants":0,"connections":0"#) {
            assert!(
                stats.contains(&format!(r#""relayed":{}"#, lat.len() + 150)),
                "{stats}"
            );
            assert!(stats.contains(r#""errors":0"#), "{stats}");
            break;
        }
        assert!(Instant::now() < deadline, "seats left: {stats}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_connections_free_their_seats_and_a_restart_is_survived() {
    let server = serve("127.0.0.1:0");
    let url = server.url();
    // Killed clients: their connections drop without a close frame.
    for r in 0..20 {
        for k in 0..PER_ROOM {
            let (c, _) = Client::join(
                &url,
                &format!("kill-{r}"),
                &format!("c{k}"),
                None,
                None,
                WAIT,
            )
            .await
            .expect("joined");
            c.abort();
        }
    }
    // The seats are held for the resume window (1 s here), then freed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.stats().contains(r#""rooms":0,"participants":0"#) {
        assert!(Instant::now() < deadline, "{}", server.stats());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A room of the killed ones takes four new participants.
    let mut four = Vec::new();
    for k in 0..PER_ROOM {
        four.push(
            Client::join(&url, "kill-0", &format!("n{k}"), None, None, WAIT)
                .await
                .expect("a free seat"),
        );
    }
    drop(four);

    // Two in a call; the server restarts on the same port.
    let (a, ja) = Client::join(&url, "restart", "Ann", None, None, WAIT)
        .await
        .expect("joined");
    let (b, jb) = Client::join(&url, "restart", "Bob", None, None, WAIT)
        .await
        .expect("joined");
    let addr = server.addr.clone();
    drop(server); // killed
    let restarted = serve(&addr);
    drop((a, b));
    // They reconnect (retrying while the server is down) and rejoin; their resume tokens are
    // unknown to the new process, so each gets a fresh seat.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (mut a, ja2) = Client::join_retrying(
        &restarted.url(),
        "restart",
        "Ann",
        None,
        Some(&ja.resume),
        deadline,
    )
    .await
    .expect("Ann back");
    assert!(!ja2.resumed);
    let (mut b, jb2) = Client::join_retrying(
        &restarted.url(),
        "restart",
        "Bob",
        None,
        Some(&jb.resume),
        deadline,
    )
    .await
    .expect("Bob back");
    assert!(!jb2.resumed);
    // Bob came second, so he offers to Ann: they renegotiate.
    assert_eq!(jb2.peers.len(), 1);
    b.send(&ClientMessage::Offer {
        to: ja2.id.clone(),
        sdp: "v=0 again".into(),
    })
    .await
    .expect("sent");
    assert!(matches!(
        a.recv(WAIT).await.expect("peer_joined"),
        ServerMessage::PeerJoined { .. }
    ));
    assert_eq!(
        a.recv(WAIT).await.expect("offer"),
        ServerMessage::Offer {
            from: jb2.id.clone(),
            sdp: "v=0 again".into()
        }
    );
    a.send(&ClientMessage::Answer {
        to: jb2.id.clone(),
        sdp: "v=0 answer".into(),
    })
    .await
    .expect("sent");
    assert_eq!(
        b.recv(WAIT).await.expect("answer"),
        ServerMessage::Answer {
            from: ja2.id.clone(),
            sdp: "v=0 answer".into()
        }
    );
}
