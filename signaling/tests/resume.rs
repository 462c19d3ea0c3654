//! Dropped connections: the heartbeat finds a silent one, the seat is held for the resume
//! window, a resume takes it back (the others hear `peer_resumed` and restart ICE), and a seat
//! not taken back is freed.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rtvc_signal::{Client, ClientMessage, LeaveReason, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_peer_resumes_its_seat_within_the_window() {
    let s = server(|_| {}).await;
    let (mut a, ja) = join(&s, "r", "Ann").await;
    let (b, jb) = join(&s, "r", "Bob").await;
    assert!(matches!(
        next(&mut a).await,
        ServerMessage::PeerJoined { .. }
    ));
    // Bob's network goes: no close frame.
    b.abort();
    assert_eq!(
        next(&mut a).await,
        ServerMessage::PeerDisconnected { id: jb.id.clone() }
    );
    // Messages for him meanwhile are refused, not lost silently.
    send(
        &mut a,
        ClientMessage::Offer {
            to: jb.id.clone(),
            sdp: "v=0".into(),
        },
    )
    .await;
    assert_eq!(
        error_code(&next(&mut a).await),
        rtvc_signal::ErrorCode::PeerUnavailable
    );
    // He is back with his resume token: same seat, same id.
    let (mut b2, jb2) = Client::join(&url(&s), "r", "Bob", None, Some(&jb.resume), WAIT)
        .await
        .expect("resumed");
    assert!(jb2.resumed);
    assert_eq!(jb2.id, jb.id);
    assert_eq!(jb2.peers.len(), 1);
    assert_eq!(
        next(&mut a).await,
        ServerMessage::PeerResumed { id: jb.id.clone() }
    );
    // Ann restarts ICE with him: her offer reaches the new connection.
    send(
        &mut a,
        ClientMessage::Offer {
            to: jb.id.clone(),
            sdp: "v=0 restart".into(),
        },
    )
    .await;
    assert_eq!(
        next(&mut b2).await,
        ServerMessage::Offer {
            from: ja.id.clone(),
            sdp: "v=0 restart".into()
        }
    );
    // The hold timer of the old connection does not free the resumed seat.
    // (Both keep reading meanwhile, and so answer the server's pings.)
    tokio::join!(
        silent(&mut a, Duration::from_millis(1800)),
        silent(&mut b2, Duration::from_millis(1800))
    );
    assert_eq!(s.stats().participants, 2);
    // A wrong resume token is just a new seat.
    let (_c, jc) = Client::join(&url(&s), "r", "Cy", None, Some("not-a-token"), WAIT)
        .await
        .expect("joined");
    assert!(!jc.resumed);
    assert_ne!(jc.id, jb.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_not_taken_back_is_freed_after_the_window() {
    let s = server(|_| {}).await;
    let (mut a, _) = join(&s, "r", "Ann").await;
    let (b, jb) = join(&s, "r", "Bob").await;
    let _ = next(&mut a).await;
    let t = Instant::now();
    b.abort();
    assert_eq!(
        next(&mut a).await,
        ServerMessage::PeerDisconnected { id: jb.id.clone() }
    );
    assert_eq!(
        next(&mut a).await,
        ServerMessage::PeerLeft {
            id: jb.id.clone(),
            reason: LeaveReason::Timeout
        }
    );
    assert!(
        t.elapsed() >= Duration::from_millis(1400),
        "held for the window: {:?}",
        t.elapsed()
    );
    assert_eq!(s.stats().participants, 1);
    // Too late to resume: a new seat.
    let (_b2, jb2) = Client::join(&url(&s), "r", "Bob", None, Some(&jb.resume), WAIT)
        .await
        .expect("joined");
    assert!(!jb2.resumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_finds_a_connection_that_went_silent() {
    let s = server(|_| {}).await;
    let (mut a, _) = join(&s, "r", "Ann").await;
    // Bob's connection stays open but he never reads again, so never answers the server's
    // pings (as a phone whose network vanished without a reset).
    let (b, jb) = join(&s, "r", "Bob").await;
    let _ = next(&mut a).await;
    let t = Instant::now();
    // Ann keeps reading (and so answers pings): she stays.
    assert_eq!(
        next(&mut a).await,
        ServerMessage::PeerDisconnected { id: jb.id.clone() }
    );
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(3000),
        "dead after ~1 s of silence: {waited:?}"
    );
    drop(b);
    assert_eq!(s.stats().participants, 2, "Ann, and Bob's held seat");
}
