//! Rooms over a real server on loopback: who is told what when participants join, relay offers,
//! answers and candidates, and leave; a fifth participant is refused.

mod common;

use common::*;
use rtvc_signal::{ClientMessage, ErrorCode, LeaveReason, PeerInfo, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newcomer_offers_and_everything_is_relayed_to_the_right_peer() {
    let s = server(|_| {}).await;
    let (mut a, ja) = join(&s, "r1", "Ann").await;
    assert!(ja.peers.is_empty());
    assert!(!ja.resumed);
    let (mut b, jb) = join(&s, "r1", "Bob").await;
    assert_eq!(
        jb.peers,
        vec![PeerInfo {
            id: ja.id.clone(),
            name: "Ann".into()
        }]
    );
    assert_eq!(
        next(&mut a).await,
        ServerMessage::PeerJoined {
            id: jb.id.clone(),
            name: "Bob".into()
        }
    );
    // Another room is another world.
    let (mut other, jo) = join(&s, "r2", "Eve").await;
    assert!(jo.peers.is_empty());

    send(
        &mut b,
        ClientMessage::Offer {
            to: ja.id.clone(),
            sdp: "v=0 offer".into(),
        },
    )
    .await;
    assert_eq!(
        next(&mut a).await,
        ServerMessage::Offer {
            from: jb.id.clone(),
            sdp: "v=0 offer".into()
        }
    );
    send(
        &mut a,
        ClientMessage::Answer {
            to: jb.id.clone(),
            sdp: "v=0 answer".into(),
        },
    )
    .await;
    assert_eq!(
        next(&mut b).await,
        ServerMessage::Answer {
            from: ja.id.clone(),
            sdp: "v=0 answer".into()
        }
    );
    for i in 0..20u16 {
        send(
            &mut a,
            ClientMessage::Candidate {
                to: jb.id.clone(),
                candidate: format!("candidate:{i} 1 udp 1 127.0.0.1 {} typ host", 5000 + i),
                sdp_mid: Some("0".into()),
                sdp_mline_index: Some(0),
            },
        )
        .await;
    }
    for i in 0..20u16 {
        match next(&mut b).await {
            ServerMessage::Candidate {
                from,
                candidate,
                sdp_mid,
                ..
            } => {
                assert_eq!(from, ja.id);
                assert!(
                    candidate.starts_with(&format!("candidate:{i} ")),
                    "in order"
                );
                assert_eq!(sdp_mid.as_deref(), Some("0"));
            }
            other => panic!("{other:?}"),
        }
    }
    // Stats requests and reports are relayed as they are.
    send(&mut a, ClientMessage::StatsRequest { to: jb.id.clone() }).await;
    assert_eq!(
        next(&mut b).await,
        ServerMessage::StatsRequest {
            from: ja.id.clone()
        }
    );
    let mut report = serde_json::Map::new();
    report.insert("framesDecoded".into(), 42.into());
    send(
        &mut b,
        ClientMessage::Stats {
            to: ja.id.clone(),
            report: report.clone(),
        },
    )
    .await;
    assert_eq!(
        next(&mut a).await,
        ServerMessage::Stats {
            from: jb.id.clone(),
            report
        }
    );

    // Nobody else heard anything.
    silent(&mut other, std::time::Duration::from_millis(200)).await;
    assert_eq!(s.stats().relayed, 24);

    // Leaving frees the seat and tells the others.
    send(&mut b, ClientMessage::Leave).await;
    assert_eq!(
        next(&mut a).await,
        ServerMessage::PeerLeft {
            id: jb.id.clone(),
            reason: LeaveReason::Left
        }
    );
    // A clean close is a leave too.
    other.close().await.expect("closed");
    a.close().await.expect("closed");
    b.close().await.expect("closed");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let st = s.stats();
    assert_eq!((st.rooms, st.participants), (0, 0), "{st:?}");
    s.shutdown().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_holds_four_and_refuses_the_fifth() {
    let s = server(|_| {}).await;
    let mut clients = Vec::new();
    for i in 0..4 {
        let (c, j) = join(&s, "full", &format!("p{i}")).await;
        assert_eq!(j.peers.len(), i);
        clients.push(c);
    }
    let refused = rtvc_signal::Client::join(&url(&s), "full", "p4", None, None, WAIT).await;
    match refused {
        Err(rtvc_signal::ClientError::Refused { code, .. }) => {
            assert_eq!(code, ErrorCode::RoomFull)
        }
        other => panic!("{other:?}"),
    }
    // The four were told about each other only.
    for (i, c) in clients.iter_mut().enumerate() {
        for _ in i + 1..4 {
            assert!(matches!(next(c).await, ServerMessage::PeerJoined { .. }));
        }
        silent(c, std::time::Duration::from_millis(100)).await;
    }
    // A seat freed is a seat free.
    clients.pop().expect("four").close().await.expect("closed");
    let (_c, j) = join(&s, "full", "p4 again").await;
    assert_eq!(j.peers.len(), 3);
    assert_eq!(s.stats().participants, 4);
}
