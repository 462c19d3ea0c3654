//! `rtvc interop chromium`: rtvc and headless Chromium (Debian's `chromium`) in one room of an
//! in-process `rtvc serve`, on loopback. Chromium runs the browser page with its fake camera
//! and microphone; rtvc runs `rtvc join`'s endpoint. At the end rtvc asks each page for its
//! `getStats()` and reports both sides. Chromium is killed and its profile removed however the
//! run ends (a guard), and every wait has a deadline.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use rtvc_codec::CodecKind;
use rtvc_signal::{Server, ServerConfig};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::CliError;
use crate::encode::parse_codec;
use crate::join::{JoinArgs, JoinReport};

/// `rtvc interop` arguments.
#[derive(Debug, Args)]
pub struct InteropArgs {
    /// The other side (only `chromium`).
    #[arg(value_parser = ["chromium"])]
    pub with: String,
    /// Codec both sides prefer.
    #[arg(long, default_value = "av1", value_parser = parse_codec)]
    pub codec: CodecKind,
    /// Length of the call, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Loss injected on rtvc's side, both directions, percent.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Participants: rtvc and 1 or 2 Chromium pages.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
    pub peers: u8,
    /// Save a screenshot of the first page (PNG) near the end of the call.
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One video stream of the room and how much of it was decoded.
#[derive(Debug, Clone, Serialize)]
pub struct VideoStream {
    pub from: String,
    pub to: String,
    pub decoded: u64,
}

/// A remote video tile on the first page: its size and mean luma (0–255) when sampled.
#[derive(Debug, Clone, Serialize)]
pub struct Tile {
    pub peer: String,
    pub width: u32,
    pub height: u32,
    pub mean_luma: f64,
}

/// What `rtvc interop chromium --json` prints. The first Chromium page is "chrome".
#[derive(Debug, Serialize)]
pub struct InteropReport {
    pub codec: String,
    pub seconds: f64,
    pub loss_pct: f64,
    /// Frames rtvc sent to Chromium.
    pub sent: u64,
    pub chrome_decoded: u64,
    pub chrome_keyframes: u64,
    pub chrome_freezes: u64,
    pub chrome_width: u32,
    pub chrome_height: u32,
    pub chrome_frames_dropped: u64,
    pub chrome_nacks_sent: u64,
    pub chrome_plis_sent: u64,
    pub chrome_decoder: String,
    pub chrome_audio_samples: u64,
    pub chrome_audio_concealed: u64,
    /// Chromium's keyframes encoded and PLIs it received (ours).
    pub chrome_keyframes_encoded: u64,
    pub chrome_plis_received: u64,
    /// Frames rtvc received from Chromium and decoded.
    pub received: u64,
    pub decoded: u64,
    pub decode_errors: u64,
    pub keyframes_received: u64,
    pub plis_sent: u64,
    pub plis_received: u64,
    /// The size rtvc sent at the end.
    pub sent_width: u32,
    pub sent_height: u32,
    pub audio_received: u64,
    pub audio_decoded: u64,
    /// Every video stream of the room (6 with 3 participants).
    pub video_streams: Vec<VideoStream>,
    /// The first page's remote tiles (with `--screenshot` or 3 participants).
    pub tiles: Vec<Tile>,
    /// rtvc's own report.
    pub rtvc: JoinReport,
}

/// A headless Chromium with the browser page; killed (and its profile removed) on drop.
pub struct Chromium {
    child: Child,
    profile: PathBuf,
    devtools_port: u16,
}

impl std::fmt::Debug for Chromium {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chromium")
            .field("pid", &self.child.id())
            .finish()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The Chromium binary: `$RTVC_CHROMIUM`, else `chromium`.
pub fn chromium_binary() -> String {
    std::env::var("RTVC_CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

impl Chromium {
    /// Starts Chromium on `url` (flags from REFERENCE.md: fake devices, loopback candidates,
    /// no proxy, no background traffic).
    pub fn launch(url: &str, n: usize) -> Result<Self, CliError> {
        let profile =
            std::env::temp_dir().join(format!("rtvc-chromium-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let mut child = Command::new(chromium_binary())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                "--allow-loopback-in-peer-connection",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
                "--no-proxy-server",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--autoplay-policy=no-user-gesture-required",
                "--window-size=1280,800",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                CliError::Usage(format!(
                    "{}: {e} (scripts/bootstrap installs chromium)",
                    chromium_binary()
                ))
            })?;
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        // Chromium says where DevTools listens; the rest of its stderr is drained (a full pipe
        // would stall it).
        std::thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut line = String::new();
            let mut sent = false;
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if !sent
                    && let Some(rest) = line.split("DevTools listening on ws://127.0.0.1:").nth(1)
                {
                    let port: Option<u16> = rest.split('/').next().and_then(|p| p.parse().ok());
                    let _ = tx.send(port);
                    sent = true;
                }
                line.clear();
            }
        });
        let mut c = Self {
            child,
            profile,
            devtools_port: 0,
        };
        c.devtools_port = rx
            .recv_timeout(Duration::from_secs(20))
            .ok()
            .flatten()
            .ok_or_else(|| {
                CliError::Check("chromium did not start (no DevTools port in 20 s)".into())
            })?;
        Ok(c)
    }

    /// The page's DevTools WebSocket URL, from `/json/list` (read with a deadline).
    async fn page_ws(&self) -> Result<String, CliError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let e = |e: std::io::Error| CliError::Check(format!("DevTools: {e}"));
        let body = tokio::time::timeout(Duration::from_secs(5), async {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.devtools_port))
                .await
                .map_err(e)?;
            // Chromium builds the page's WebSocket URL from the Host header: give it the port.
            let request = format!(
                "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.devtools_port
            );
            s.write_all(request.as_bytes()).await.map_err(e)?;
            let mut raw = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = s.read(&mut chunk).await.map_err(e)?;
                raw.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&raw);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok());
                    if n == 0 || len.is_some_and(|l| body.len() >= l) {
                        return Ok::<_, CliError>(body.to_owned());
                    }
                } else if n == 0 {
                    return Err(CliError::Check("DevTools: no response".into()));
                }
            }
        })
        .await
        .map_err(|_| CliError::Check("DevTools /json/list timed out".into()))??;
        let list: Value = serde_json::from_str(&body)
            .map_err(|e| CliError::Check(format!("DevTools /json/list: {e}")))?;
        list.as_array()
            .and_then(|a| a.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| CliError::Check("DevTools: no page".into()))
    }

    /// Sends DevTools commands to the page and returns their results.
    async fn devtools(&self, commands: &[(&str, Value)]) -> Result<Vec<Value>, CliError> {
        let url = self.page_ws().await?;
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| CliError::Check(format!("DevTools {url}: {e}")))?;
        let mut out = Vec::new();
        for (i, (method, params)) in commands.iter().enumerate() {
            let id = i as u64 + 1;
            let msg = json!({"id": id, "method": method, "params": params});
            ws.send(Message::text(msg.to_string()))
                .await
                .map_err(|e| CliError::Check(format!("DevTools: {e}")))?;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let m = tokio::time::timeout_at(deadline, ws.next())
                    .await
                    .map_err(|_| CliError::Check(format!("DevTools: {method} timed out")))?;
                let Some(Ok(Message::Text(t))) = m else {
                    if m.is_none() {
                        return Err(CliError::Check("DevTools closed".into()));
                    }
                    continue;
                };
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                if v["id"] == id {
                    out.push(v["result"].clone());
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The page's remote tiles: size and mean luma of each video, sampled on a canvas.
    pub async fn tiles(&self) -> Result<Vec<Tile>, CliError> {
        const JS: &str = r#"(() => {
          const out = [];
          for (const v of document.querySelectorAll('.tile.remote video')) {
            const c = document.createElement('canvas'); c.width = 64; c.height = 36;
            const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 36);
            const d = g.getImageData(0, 0, 64, 36).data; let s = 0;
            for (let i = 0; i < d.length; i += 4) s += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
            out.push({ peer: v.parentElement.dataset.peer, width: v.videoWidth, height: v.videoHeight, mean_luma: s / (d.length / 4) });
          }
          return JSON.stringify(out);
        })()"#;
        let r = self
            .devtools(&[(
                "Runtime.evaluate",
                json!({"expression": JS, "returnByValue": true}),
            )])
            .await?;
        let text = r[0]["result"]["value"].as_str().unwrap_or("[]");
        let v: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
        Ok(v.iter()
            .map(|t| Tile {
                peer: t["peer"].as_str().unwrap_or_default().to_owned(),
                width: t["width"].as_u64().unwrap_or(0) as u32,
                height: t["height"].as_u64().unwrap_or(0) as u32,
                mean_luma: (t["mean_luma"].as_f64().unwrap_or(0.0) * 10.0).round() / 10.0,
            })
            .collect())
    }

    /// A PNG of the page.
    pub async fn screenshot(&self) -> Result<Vec<u8>, CliError> {
        let r = self
            .devtools(&[("Page.captureScreenshot", json!({"format": "png"}))])
            .await?;
        let b64 = r[0]["data"]
            .as_str()
            .ok_or_else(|| CliError::Check("DevTools: no screenshot".into()))?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| CliError::Check(format!("screenshot: {e}")))
    }
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_f64().map(|f| f as u64))
        .unwrap_or(0)
}

/// Runs the interop call.
pub fn run(args: &InteropArgs) -> Result<InteropReport, CliError> {
    if !(args.seconds.is_finite() && (3.0..=600.0).contains(&args.seconds)) {
        return Err(CliError::Usage("--seconds is 3–600".into()));
    }
    if !(0.0..=50.0).contains(&args.loss) {
        return Err(CliError::Usage("--loss is 0–50 (percent)".into()));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Write)?;
    rt.block_on(run_async(args))
}

async fn run_async(args: &InteropArgs) -> Result<InteropReport, CliError> {
    let server = Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        ..ServerConfig::default()
    })
    .await
    .map_err(CliError::Write)?;
    let addr = server.local_addr();
    let room = format!("interop-{}", std::process::id());
    let codec = args.codec.to_string();
    let browsers = usize::from(args.peers) - 1;
    let mut chromes = Vec::new();
    for n in 0..browsers {
        let url = format!("http://{addr}/?room={room}&codec={codec}&loopback=1&name=chrome{n}");
        chromes.push(Chromium::launch(&url, n)?);
        // One after the other, so the second page offers to the first.
        let deadline = Instant::now() + Duration::from_secs(20);
        while server.stats().participants < n + 1 {
            if Instant::now() > deadline {
                return Err(CliError::Check(format!(
                    "chrome{n} did not join within 20 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let join = JoinArgs {
        url: format!("ws://{addr}"),
        room: room.clone(),
        codec: args.codec,
        input: "synthetic:640x360".into(),
        audio: "tone".into(),
        seconds: args.seconds,
        name: "rtvc".into(),
        token: None,
        // A resolution change mid-call: Chromium must follow it.
        resize: Some(format!("{:.1}:480x270", args.seconds * 0.6)),
        loss: args.loss,
        pli_at: Some(args.seconds * 0.4),
        verbose: false,
        // The keyframe that starts the new size is lost: Chromium has to ask for one.
        drop_keyframe_at: Some(args.seconds * 0.6),
        json: true,
    };
    let resize = crate::join::parse_resize(join.resize.as_deref().expect("set"))?;
    // The first page is looked at near the end of the call, while video plays.
    let look_at = Duration::from_secs_f64(args.seconds * 0.75 + 1.0);
    let want_tiles = args.screenshot.is_some() || browsers > 1;
    let chromes: Vec<std::sync::Arc<Chromium>> =
        chromes.into_iter().map(std::sync::Arc::new).collect();
    let first = chromes[0].clone();
    let shot = args.screenshot.is_some();
    // Its own task: DevTools must never hold up the call's loop.
    let look = tokio::spawn(async move {
        if !want_tiles {
            return Ok::<_, CliError>((Vec::new(), None));
        }
        tokio::time::sleep(look_at).await;
        let tiles = first.tiles().await?;
        let png = if shot {
            Some(first.screenshot().await?)
        } else {
            None
        };
        Ok((tiles, png))
    });
    let rtvc = crate::join::run_async(&join, Some(resize)).await;
    let looked = look
        .await
        .map_err(|e| CliError::Check(format!("DevTools task: {e}")))?;
    let rtvc = rtvc?;
    let (tiles, png) = looked?;
    if let (Some(path), Some(png)) = (&args.screenshot, png) {
        std::fs::write(path, png).map_err(|e| CliError::io(path, e))?;
    }
    drop(chromes);
    let _ = server.shutdown().await;
    Ok(report(args, rtvc, tiles))
}

fn report(args: &InteropArgs, rtvc: JoinReport, tiles: Vec<Tile>) -> InteropReport {
    let me = rtvc.id.clone();
    // The first page is the peer whose report names itself chrome0... its id is the key whose
    // report has the smallest join order; pages report `id`, so find the first one we sent to.
    let browsers: Vec<(String, Value)> = rtvc
        .peer_stats
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let first = rtvc
        .streams
        .iter()
        .find(|s| s.from == me)
        .map(|s| s.to.clone())
        .unwrap_or_default();
    let chrome = browsers
        .iter()
        .find(|(id, _)| *id == first)
        .map(|(_, v)| v.clone())
        .unwrap_or(Value::Null);
    let from_us = &chrome["peers"][&me];
    let iv = &from_us["in_video"];
    let ia = &from_us["in_audio"];
    let ov = &from_us["out_video"];
    let out = rtvc.streams.iter().find(|s| s.from == me && s.to == first);
    let inn = rtvc.streams.iter().find(|s| s.to == me && s.from == first);
    let mut video_streams = Vec::new();
    for s in rtvc.streams.iter().filter(|s| s.to == me) {
        video_streams.push(VideoStream {
            from: s.from.clone(),
            to: me.clone(),
            decoded: s.frames_decoded,
        });
    }
    for (id, v) in &browsers {
        if let Some(peers) = v["peers"].as_object() {
            for (from, p) in peers {
                video_streams.push(VideoStream {
                    from: from.clone(),
                    to: id.clone(),
                    decoded: u(&p["in_video"]["framesDecoded"]),
                });
            }
        }
    }
    InteropReport {
        codec: args.codec.to_string(),
        seconds: rtvc.seconds,
        loss_pct: args.loss,
        sent: out.map_or(0, |s| s.frames_sent),
        chrome_decoded: u(&iv["framesDecoded"]),
        chrome_keyframes: u(&iv["keyFramesDecoded"]),
        chrome_freezes: u(&iv["freezeCount"]),
        chrome_width: u(&iv["frameWidth"]) as u32,
        chrome_height: u(&iv["frameHeight"]) as u32,
        chrome_frames_dropped: u(&iv["framesDropped"]),
        chrome_nacks_sent: u(&iv["nackCount"]),
        chrome_plis_sent: u(&iv["pliCount"]),
        chrome_decoder: iv["decoderImplementation"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        chrome_audio_samples: u(&ia["totalSamplesReceived"]),
        chrome_audio_concealed: u(&ia["concealedSamples"]),
        chrome_keyframes_encoded: u(&ov["keyFramesEncoded"]),
        chrome_plis_received: u(&ov["pliCount"]),
        received: inn.map_or(0, |s| s.frames_received),
        decoded: inn.map_or(0, |s| s.frames_decoded),
        decode_errors: inn.map_or(0, |s| s.decode_errors),
        keyframes_received: inn.map_or(0, |s| s.keyframes),
        plis_sent: inn.map_or(0, |s| s.keyframe_requests),
        plis_received: out.map_or(0, |s| s.keyframe_requests),
        sent_width: out.map_or(0, |s| s.width),
        sent_height: out.map_or(0, |s| s.height),
        audio_received: inn.map_or(0, |s| s.audio_packets_received),
        audio_decoded: inn.map_or(0, |s| s.audio_packets_decoded),
        video_streams,
        tiles,
        rtvc,
    }
}

/// Prints the report for people.
pub fn print(r: &InteropReport) {
    println!(
        "rtvc → chromium ({}): sent {}, chromium decoded {} ({}, {} keyframes, {} freezes, {} dropped) at {}x{} (we sent {}x{}), {} NACKs and {} PLIs from it",
        r.codec,
        r.sent,
        r.chrome_decoded,
        r.chrome_decoder,
        r.chrome_keyframes,
        r.chrome_freezes,
        r.chrome_frames_dropped,
        r.chrome_width,
        r.chrome_height,
        r.sent_width,
        r.sent_height,
        r.chrome_nacks_sent,
        r.plis_received
    );
    println!(
        "chromium → rtvc: received {}, decoded {}, {} decode errors, {} keyframes, {} PLIs sent (chromium encoded {} keyframes)",
        r.received,
        r.decoded,
        r.decode_errors,
        r.keyframes_received,
        r.plis_sent,
        r.chrome_keyframes_encoded
    );
    println!(
        "audio: chromium received {} samples ({} concealed); rtvc decoded {} of {} packets",
        r.chrome_audio_samples, r.chrome_audio_concealed, r.audio_decoded, r.audio_received
    );
    for s in &r.video_streams {
        println!("video {} → {}: {} frames decoded", s.from, s.to, s.decoded);
    }
    for t in &r.tiles {
        println!(
            "tile {}: {}x{}, mean luma {}",
            t.peer, t.width, t.height, t.mean_luma
        );
    }
}
