//! With a secret, joining needs a token signed for that room that has not expired.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use rtvc_signal::{Client, ClientError, ErrorCode, Secret};

fn refused(r: Result<(Client, rtvc_signal::Joined), ClientError>) -> ErrorCode {
    match r {
        Err(ClientError::Refused { code, .. }) => code,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_invited_participants_join() {
    let secret = Secret::new(b"a server secret of some length").expect("long enough");
    let s = server(|c| c.secret = Some(secret.clone())).await;
    let u = url(&s);
    let now = SystemTime::now();
    let good = secret.issue("standup", Duration::from_secs(3600), now);
    let other_room = secret.issue("other", Duration::from_secs(3600), now);
    let expired = secret.issue(
        "standup",
        Duration::from_secs(60),
        now - Duration::from_secs(120),
    );
    let foreign = Secret::new(b"somebody else's secret!!")
        .expect("long enough")
        .issue("standup", Duration::from_secs(3600), now);
    assert_eq!(
        refused(Client::join(&u, "standup", "a", None, None, WAIT).await),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        refused(Client::join(&u, "standup", "a", Some(&other_room), None, WAIT).await),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        refused(Client::join(&u, "standup", "a", Some(&foreign), None, WAIT).await),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        refused(Client::join(&u, "standup", "a", Some("garbage"), None, WAIT).await),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        refused(Client::join(&u, "standup", "a", Some(&expired), None, WAIT).await),
        ErrorCode::TokenExpired
    );
    assert_eq!(s.stats().participants, 0);
    let (_c, j) = Client::join(&u, "standup", "a", Some(&good), None, WAIT)
        .await
        .expect("invited");
    assert!(j.peers.is_empty());
}
