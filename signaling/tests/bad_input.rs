//! Bad input gets a typed error and changes nothing: malformed and unknown messages, binary,
//! messages before joining or to strangers, bad names, oversized messages, floods.

mod common;

use std::time::Duration;

use common::*;
use rtvc_signal::protocol::MAX_MESSAGE_BYTES;
use rtvc_signal::{Client, ClientError, ClientMessage, ErrorCode, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_misaddressed_messages_get_errors_and_change_nothing() {
    let s = server(|_| {}).await;
    let mut c = Client::connect(&url(&s)).await.expect("connects");
    // Before joining, only join and ping.
    send(
        &mut c,
        ClientMessage::Offer {
            to: "x".into(),
            sdp: "v=0".into(),
        },
    )
    .await;
    assert_eq!(error_code(&next(&mut c).await), ErrorCode::NotJoined);
    send(&mut c, ClientMessage::Ping).await;
    assert_eq!(next(&mut c).await, ServerMessage::Pong);
    for bad in [
        "",
        "{",
        "null",
        "[1,2]",
        r#"{"type":"shout"}"#,
        r#"{"type":"offer","to":1,"sdp":"x"}"#,
    ] {
        c.send_text(bad.into()).await.expect("sent");
        assert_eq!(
            error_code(&next(&mut c).await),
            ErrorCode::BadMessage,
            "{bad:?}"
        );
    }
    c.send_binary(vec![1, 2, 3]).await.expect("sent");
    assert_eq!(error_code(&next(&mut c).await), ErrorCode::BadMessage);
    for (room, name) in [("", "a"), ("has space", "a"), ("r", ""), ("r", "tab\there")] {
        send(&mut c, join_msg(room, name)).await;
        assert_eq!(
            error_code(&next(&mut c).await),
            ErrorCode::BadName,
            "{room:?} {name:?}"
        );
    }
    assert_eq!(s.stats().participants, 0);

    // Joined: a stranger, a peer of another room and oneself are not addressable.
    send(&mut c, join_msg("r", "Ann")).await;
    let ServerMessage::Joined { id, .. } = next(&mut c).await else {
        panic!("joined")
    };
    let (_elsewhere, je) = join(&s, "elsewhere", "Eve").await;
    for to in ["nobody", je.id.as_str(), id.as_str()] {
        send(
            &mut c,
            ClientMessage::Offer {
                to: to.into(),
                sdp: "v=0".into(),
            },
        )
        .await;
        assert_eq!(
            error_code(&next(&mut c).await),
            ErrorCode::UnknownPeer,
            "{to}"
        );
    }
    send(&mut c, join_msg("r", "Ann")).await;
    assert_eq!(error_code(&next(&mut c).await), ErrorCode::AlreadyJoined);
    // Still connected and still in the room.
    send(&mut c, ClientMessage::Ping).await;
    assert_eq!(next(&mut c).await, ServerMessage::Pong);
    let st = s.stats();
    assert_eq!((st.participants, st.relayed), (2, 0), "{st:?}");
    assert!(st.errors >= 15, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_refused_and_the_connection_closed() {
    let s = server(|_| {}).await;
    let (mut a, ja) = join(&s, "r", "Ann").await;
    let (mut b, jb) = join(&s, "r", "Bob").await;
    let _ = next(&mut a).await; // peer_joined
    // Just under the limit goes through.
    let sdp = "x".repeat(MAX_MESSAGE_BYTES - 200);
    send(
        &mut b,
        ClientMessage::Offer {
            to: ja.id.clone(),
            sdp: sdp.clone(),
        },
    )
    .await;
    assert_eq!(
        next(&mut a).await,
        ServerMessage::Offer {
            from: jb.id.clone(),
            sdp
        }
    );
    // Over it: an error, then the connection is closed; nothing reaches the peer.
    let huge = "y".repeat(4 * MAX_MESSAGE_BYTES);
    let _ = b
        .send(&ClientMessage::Offer {
            to: ja.id.clone(),
            sdp: huge,
        })
        .await;
    let mut saw_error = false;
    loop {
        match b.recv(WAIT).await {
            Ok(m) => {
                assert_eq!(error_code(&m), ErrorCode::TooLarge);
                saw_error = true;
            }
            Err(ClientError::Closed(_)) | Err(ClientError::Ws(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(saw_error, "the error came before the close");
    // Ann only hears that Bob's connection is gone (his seat is held for a resume).
    assert!(matches!(
        next(&mut a).await,
        ServerMessage::PeerDisconnected { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_rate_limited_then_cut_off() {
    let s = server(|c| {
        c.rate_per_s = 20.0;
        c.burst = 40.0;
    })
    .await;
    let (mut a, _) = join(&s, "r", "Ann").await;
    // 40 at once pass (the burst); the rest of 100 is dropped with rate_limited.
    for _ in 0..100 {
        a.send(&ClientMessage::Ping).await.expect("sent");
    }
    let (mut pongs, mut limited) = (0, 0);
    for _ in 0..100 {
        match next(&mut a).await {
            ServerMessage::Pong => pongs += 1,
            m => {
                assert_eq!(error_code(&m), ErrorCode::RateLimited);
                limited += 1;
            }
        }
    }
    // The join took one token; a few more may have refilled while we sent.
    assert!(
        (39..=45).contains(&pongs),
        "{pongs} pongs, {limited} limited"
    );
    // After a pause the bucket refills.
    tokio::time::sleep(Duration::from_millis(500)).await;
    send(&mut a, ClientMessage::Ping).await;
    assert_eq!(next(&mut a).await, ServerMessage::Pong);
    // Flooding on: after four bursts refused, the server hangs up.
    let mut closed = false;
    for _ in 0..400 {
        if a.send(&ClientMessage::Ping).await.is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        loop {
            match a.recv(WAIT).await {
                Ok(_) => {}
                Err(ClientError::Closed(_)) | Err(ClientError::Ws(_)) => break,
                Err(e) => panic!("not closed: {e}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_over_the_rate_loses_only_the_excess() {
    let s = server(|c| {
        c.rate_per_s = 20.0;
        c.burst = 40.0;
    })
    .await;
    let (mut a, ja) = join(&s, "r", "Ann").await;
    let (mut b, _) = join(&s, "r", "Bob").await;
    let _ = next(&mut a).await;
    for i in 0..60 {
        send(
            &mut b,
            ClientMessage::Offer {
                to: ja.id.clone(),
                sdp: format!("{i}"),
            },
        )
        .await;
    }
    let mut relayed = 0;
    while let Ok(m) = a.recv(Duration::from_millis(300)).await {
        assert!(matches!(m, ServerMessage::Offer { .. }), "{m:?}");
        relayed += 1;
    }
    let mut limited = 0;
    while let Ok(m) = b.recv(Duration::from_millis(300)).await {
        assert_eq!(error_code(&m), ErrorCode::RateLimited);
        limited += 1;
    }
    assert_eq!(
        relayed + limited,
        60,
        "{relayed} relayed, {limited} limited"
    );
    assert!(relayed >= 38, "{relayed}");
}
