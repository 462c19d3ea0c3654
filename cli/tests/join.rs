//! Two `rtvc join` processes in a room of an `rtvc serve` process, on loopback: str0m on real
//! UDP sockets, our codecs both ways, Opus both ways, and each asks the other for its stats.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

mod common;

use common::ServeProcess;

fn serve() -> ServeProcess {
    ServeProcess::start("127.0.0.1:0", &[])
}

fn join(url: &str, name: &str, codec: &str, seconds: &str) -> Child {
    join_with(url, name, codec, seconds, "tone")
}

fn join_with(url: &str, name: &str, codec: &str, seconds: &str, audio: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rtvc"))
        .args([
            "join", url, "--room", "native", "--name", name, "--codec", codec,
        ])
        .args(["--seconds", seconds, "--json", "--audio", audio])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("rtvc join starts")
}

fn report(c: Child) -> Value {
    let out = c.wait_with_output().expect("finished");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn two_native_endpoints_call_each_other() {
    let wav = std::env::temp_dir().join(format!("rtvc-join-{}.wav", std::process::id()));
    write_wav(&wav, 48_000, 2);
    for codec in ["av1", "h264"] {
        let s = serve();
        let a = join(&s.url(), "A", codec, "6");
        std::thread::sleep(Duration::from_millis(500));
        // B sends a WAV file instead of the tone.
        let b = join_with(&s.url(), "B", codec, "5", wav.to_str().expect("a path"));
        let (ra, rb) = (report(a), report(b));
        eprintln!("{ra}\n{rb}");
        let (ida, idb) = (
            ra["id"].as_str().expect("id"),
            rb["id"].as_str().expect("id"),
        );
        for (r, me, peer) in [(&ra, ida, idb), (&rb, idb, ida)] {
            let streams = r["streams"].as_array().expect("streams");
            let inn = streams
                .iter()
                .find(|s| s["from"] == peer && s["to"] == me)
                .expect("a stream in");
            let out = streams
                .iter()
                .find(|s| s["from"] == me && s["to"] == peer)
                .expect("a stream out");
            assert_eq!(inn["codec"], codec);
            // ~4.5 s together at 30 fps; every frame that arrived decodes.
            let received = inn["frames_received"].as_u64().expect("count");
            assert!(received > 100, "{inn}");
            assert_eq!(inn["frames_decoded"], received, "{inn}");
            assert_eq!(inn["decode_errors"], 0, "{inn}");
            assert_eq!(
                (inn["width"].as_u64(), inn["height"].as_u64()),
                (Some(640), Some(360))
            );
            assert!(out["frames_sent"].as_u64().expect("count") > 100, "{out}");
            // Opus both ways, every packet decoded.
            let audio = inn["audio_packets_received"].as_u64().expect("count");
            assert!(audio > 150, "{inn}");
            assert_eq!(inn["audio_packets_decoded"], audio, "{inn}");
        }
        // B asked A for its stats at the end (A was still there): A's view of B's video.
        let a_view = &rb["peer_stats"][ida][idb];
        assert!(
            a_view["frames_decoded"].as_u64().expect("A's report") > 100,
            "{rb}"
        );
    }
}

/// The server restarts mid-call: media goes on peer to peer, both reconnect; the restarted
/// server does not know their resume tokens, so they get new seats, the second to come back
/// calls the first again, and video flows on the new connections too.
#[test]
fn a_server_restart_mid_call_is_survived() {
    let s = serve();
    let addr = s.addr.clone();
    let a = join(&s.url(), "A", "av1", "12");
    std::thread::sleep(Duration::from_millis(500));
    let b = join(&s.url(), "B", "av1", "11");
    std::thread::sleep(Duration::from_secs(4));
    drop(s); // killed
    std::thread::sleep(Duration::from_millis(500));
    let _s2 = ServeProcess::start(&addr, &[]);
    let (ra, rb) = (report(a), report(b));
    eprintln!("{ra}\n{rb}");
    for r in [&ra, &rb] {
        let me = r["id"].as_str().expect("id");
        let incoming: Vec<&Value> = r["streams"]
            .as_array()
            .expect("streams")
            .iter()
            .filter(|s| s["frames_received"].as_u64().unwrap_or(0) > 0)
            .filter(|s| s["from"] != me)
            .collect();
        // The first connection (before and during the restart) and the one after it.
        assert_eq!(incoming.len(), 2, "{r}");
        for s in incoming {
            assert!(s["frames_decoded"].as_u64().expect("count") > 30, "{s}");
            assert_eq!(s["decode_errors"], 0, "{s}");
        }
    }
}

/// A 1 s sweep, 16-bit.
fn write_wav(path: &std::path::Path, rate: u32, channels: u16) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("WAV written");
    for i in 0..rate {
        let t = f64::from(i) / f64::from(rate);
        let v = (8000.0 * (2.0 * std::f64::consts::PI * (200.0 + 800.0 * t) * t).sin()) as i16;
        for _ in 0..channels {
            w.write_sample(v).expect("sample");
        }
    }
    w.finalize().expect("WAV closed");
}

#[test]
fn a_wav_that_is_not_48_khz_is_refused_before_joining() {
    let wav = std::env::temp_dir().join(format!("rtvc-join-44k-{}.wav", std::process::id()));
    write_wav(&wav, 44_100, 1);
    // No server at all: the input is checked first.
    let out = Command::new(env!("CARGO_BIN_EXE_rtvc"))
        .args(["join", "ws://127.0.0.1:9", "--room", "r", "--audio"])
        .arg(&wav)
        .output()
        .expect("runs");
    let _ = std::fs::remove_file(&wav);
    assert_eq!(out.status.code(), Some(1), "refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("44100 Hz") && err.contains("48000 Hz"),
        "{err}"
    );
}
