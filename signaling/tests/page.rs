//! The server serves the browser page, its script and a health check on the same port.

mod common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut body = String::new();
    s.read_to_string(&mut body).await.expect("response");
    let status = body[9..12].parse().expect("a status");
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_script_and_health() {
    let s = server(|_| {}).await;
    let (st, html) = get(s.local_addr(), "/?room=r&codec=h264").await;
    assert_eq!(st, 200);
    assert!(html.contains("text/html"));
    assert!(html.contains(r#"<script src="/app.js">"#));
    let (st, js) = get(s.local_addr(), "/app.js").await;
    assert_eq!(st, 200);
    assert!(js.contains("text/javascript"));
    for needle in [
        "setCodecPreferences",
        "getUserMedia",
        "facingMode",
        "stats_request",
        "iceRestart",
    ] {
        assert!(js.contains(needle), "{needle}");
    }
    assert_eq!(get(s.local_addr(), "/healthz").await.0, 200);
    let (st, stats) = get(s.local_addr(), "/stats").await;
    assert_eq!(st, 200);
    assert!(
        stats.contains(r#"{"rooms":0,"participants":0,"connections":0,"relayed":0,"errors":0}"#),
        "{stats}"
    );
    assert_eq!(get(s.local_addr(), "/nope").await.0, 404);
    // A plain GET on the WebSocket path is refused, not a crash.
    assert!(get(s.local_addr(), "/ws").await.0 >= 400);
}
