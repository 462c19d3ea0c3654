// rtvc's browser page: joins a room of `rtvc serve` and calls everyone in it (a mesh).
// URL: /?room=R&codec=av1|h264[&name=N][&token=T][&loopback=1]
//   loopback=1 keeps only 127.0.0.1 ICE candidates (tests on one machine).
// The protocol is documented in signaling/src/protocol.rs. No build step, no dependencies.
"use strict";

const params = new URLSearchParams(location.search);
const room = params.get("room") || "lobby";
const codec = (params.get("codec") || "av1").toLowerCase();
const displayName = params.get("name") || "browser";
const token = params.get("token") || undefined;
const loopbackOnly = params.get("loopback") === "1";
const MIME = { av1: "video/AV1", h264: "video/H264", vp8: "video/VP8", vp9: "video/VP9" }[codec] || "video/AV1";

const $ = (id) => document.getElementById(id);
const peers = new Map(); // id -> { pc, name, tile, video, pending: [], stats: {} }
let ws = null;
let myId = null;
let resumeToken = null;
let localStream = null;
let cameraOn = true;
let micOn = true;
let facing = "user";
let leaving = false;
let reconnectDelay = 500;
window.__log = [];

$("room").textContent = `room ${room} · ${codec}`;

function status(text) { $("status").textContent = text; }

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

async function startMedia() {
  try {
    localStream = await navigator.mediaDevices.getUserMedia({
      video: { width: 1280, height: 720, frameRate: 30, facingMode: facing },
      audio: true,
    });
  } catch (e) {
    status(`no camera/microphone: ${e.name}`);
    localStream = new MediaStream();
  }
  $("local").srcObject = localStream;
}

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  ws = new WebSocket(url);
  ws.onopen = () => {
    reconnectDelay = 500;
    send({ type: "join", room, name: displayName, token, resume: resumeToken || undefined });
  };
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    // The last 200 message types with their time, for debugging through DevTools.
    window.__log.push(`${Math.round(performance.now())} ${msg.type} ${msg.from || msg.id || ""}`);
    if (window.__log.length > 200) window.__log.shift();
    onMessage(msg).catch((e) => console.error("signaling", msg.type, e));
  };
  ws.onclose = () => {
    if (leaving) return;
    status("signaling lost: reconnecting…");
    setTimeout(connect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 5000);
  };
}

async function onMessage(msg) {
  switch (msg.type) {
    case "joined": {
      const sameSeat = msg.resumed && msg.id === myId;
      myId = msg.id;
      resumeToken = msg.resume;
      status(`joined as ${myId}${msg.resumed ? " (resumed)" : ""}`);
      if (!sameSeat) {
        // A fresh seat (first join, or the server restarted): everything before is gone and
        // we are the newcomer, who offers to everyone present.
        for (const id of [...peers.keys()]) closePeer(id);
        for (const p of msg.peers) await offerTo(p.id, p.name, false);
      }
      break;
    }
    case "peer_joined":
      ensurePeer(msg.id, msg.name); // it will offer to us
      break;
    case "peer_left":
      closePeer(msg.id);
      break;
    case "peer_disconnected":
      if (peers.has(msg.id)) peers.get(msg.id).label.textContent = `${peers.get(msg.id).name} (reconnecting…)`;
      break;
    case "peer_resumed":
      // It kept its seat: we restart ICE with it (we offer, it answers).
      await offerTo(msg.id, peers.get(msg.id)?.name || msg.id, true);
      break;
    case "offer": {
      const p = ensurePeer(msg.from, peers.get(msg.from)?.name || msg.from);
      await p.pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
      attachLocal(p);
      preferCodec(p.pc);
      await p.pc.setLocalDescription(await p.pc.createAnswer());
      send({ type: "answer", to: msg.from, sdp: p.pc.localDescription.sdp });
      await flushCandidates(p);
      break;
    }
    case "answer": {
      const p = peers.get(msg.from);
      if (!p) return;
      await p.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      await flushCandidates(p);
      break;
    }
    case "candidate": {
      const p = peers.get(msg.from);
      if (!p) return;
      const c = msg.candidate
        ? { candidate: msg.candidate, sdpMid: msg.sdp_mid ?? null, sdpMLineIndex: msg.sdp_mline_index ?? null }
        : null;
      if (c && loopbackOnly && !c.candidate.includes(" 127.0.0.1 ")) return;
      if (p.pc.remoteDescription) await p.pc.addIceCandidate(c ?? undefined);
      else p.pending.push(c);
      break;
    }
    case "stats_request": {
      const report = await collectStats();
      window.__log.push(`${Math.round(performance.now())} stats sent to ${msg.from}`);
      send({ type: "stats", to: msg.from, report });
      break;
    }
    case "error":
      status(`server: ${msg.code}: ${msg.message}`);
      console.warn("server error", msg.code, msg.message);
      if (msg.code === "room_full" || msg.code === "unauthorized" || msg.code === "token_expired") {
        leaving = true;
        ws.close();
      }
      break;
    default:
      break;
  }
}

async function flushCandidates(p) {
  for (const c of p.pending.splice(0)) await p.pc.addIceCandidate(c ?? undefined);
}

function ensurePeer(id, name) {
  let p = peers.get(id);
  if (p) return p;
  const pc = new RTCPeerConnection({ iceServers: [] });
  const tile = document.createElement("div");
  tile.className = "tile remote";
  tile.dataset.peer = id;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = name;
  const overlay = document.createElement("span");
  overlay.className = "stats";
  tile.append(video, label, overlay);
  $("grid").append(tile);
  p = { pc, name, tile, video, label, overlay, pending: [], last: null, report: {}, attached: false };
  peers.set(id, p);
  const remote = new MediaStream();
  video.srcObject = remote;
  pc.ontrack = (ev) => {
    remote.addTrack(ev.track);
    video.play().catch(() => {});
  };
  pc.onicecandidate = (ev) => {
    const c = ev.candidate;
    if (c && loopbackOnly && !c.candidate.includes(" 127.0.0.1 ")) return;
    send({
      type: "candidate",
      to: id,
      candidate: c ? c.candidate : "",
      sdp_mid: c?.sdpMid ?? undefined,
      sdp_mline_index: c?.sdpMLineIndex ?? undefined,
    });
  };
  pc.onconnectionstatechange = () => {
    label.textContent = `${name} · ${pc.connectionState}`;
  };
  return p;
}

function closePeer(id) {
  const p = peers.get(id);
  if (!p) return;
  p.pc.close();
  p.tile.remove();
  peers.delete(id);
}

// Our camera and microphone on this connection (once), on the transceivers the offer made.
function attachLocal(p) {
  if (p.attached) return;
  p.attached = true;
  for (const track of localStream.getTracks()) p.pc.addTrack(track, localStream);
  for (const kind of ["audio", "video"]) {
    if (!localStream.getTracks().some((t) => t.kind === kind)) {
      // No device of this kind: still receive the peer's.
      if (!p.pc.getTransceivers().some((t) => t.receiver.track.kind === kind)) {
        p.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
  }
}

// The chosen codec first, then its retransmission format, then the rest.
function preferCodec(pc) {
  const caps = RTCRtpReceiver.getCapabilities("video");
  if (!caps) return;
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === MIME.toLowerCase());
  if (!first.length) return;
  const rest = caps.codecs.filter((c) => !first.includes(c));
  for (const t of pc.getTransceivers()) {
    if (t.receiver.track.kind === "video" && t.setCodecPreferences) {
      try { t.setCodecPreferences([...first, ...rest]); } catch (e) { console.warn(e); }
    }
  }
}

async function offerTo(id, name, iceRestart) {
  const p = ensurePeer(id, name);
  attachLocal(p);
  preferCodec(p.pc);
  await p.pc.setLocalDescription(await p.pc.createOffer({ iceRestart }));
  send({ type: "offer", to: id, sdp: p.pc.localDescription.sdp });
}

// The stats a test or the overlay needs, per peer, named as getStats() names them.
async function collectStats() {
  const out = { id: myId, room, codec, camera_on: cameraOn, mic_on: micOn, peers: {} };
  for (const [id, p] of peers) {
    const r = { connection_state: p.pc.connectionState };
    const stats = await p.pc.getStats();
    const codecs = {};
    stats.forEach((s) => { if (s.type === "codec") codecs[s.id] = s.mimeType; });
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" || s.type === "outbound-rtp") {
        const key = `${s.type === "inbound-rtp" ? "in" : "out"}_${s.kind}`;
        r[key] = {
          codec: codecs[s.codecId] || null,
          packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, packetsSent: s.packetsSent,
          bytesReceived: s.bytesReceived, bytesSent: s.bytesSent,
          framesDecoded: s.framesDecoded, framesReceived: s.framesReceived, keyFramesDecoded: s.keyFramesDecoded,
          framesDropped: s.framesDropped, framesEncoded: s.framesEncoded, keyFramesEncoded: s.keyFramesEncoded,
          frameWidth: s.frameWidth, frameHeight: s.frameHeight, framesPerSecond: s.framesPerSecond,
          freezeCount: s.freezeCount, totalFreezesDuration: s.totalFreezesDuration,
          pliCount: s.pliCount, nackCount: s.nackCount, firCount: s.firCount,
          decoderImplementation: s.decoderImplementation, encoderImplementation: s.encoderImplementation,
          totalSamplesReceived: s.totalSamplesReceived, concealedSamples: s.concealedSamples,
        };
      }
    });
    out.peers[id] = r;
  }
  return out;
}

// The overlay: codec, decoder, resolution, fps, bitrate, freezes, once a second.
async function refreshOverlays() {
  const report = await collectStats();
  for (const [id, p] of peers) {
    const v = report.peers[id]?.in_video;
    if (!v) { p.overlay.textContent = "no video yet"; continue; }
    const now = performance.now();
    let kbps = 0;
    if (p.last && v.bytesReceived != null) kbps = (8 * (v.bytesReceived - p.last.bytes)) / (now - p.last.t);
    p.last = { bytes: v.bytesReceived || 0, t: now };
    p.overlay.textContent =
      `${(v.codec || "?").replace("video/", "")} · ${v.decoderImplementation || "?"}\n` +
      `${v.frameWidth || 0}x${v.frameHeight || 0} · ${Math.round(v.framesPerSecond || 0)} fps · ${Math.round(kbps)} kbps\n` +
      `freezes ${v.freezeCount || 0} · decoded ${v.framesDecoded || 0}`;
  }
}

async function setCamera(on) {
  cameraOn = on;
  $("camera").setAttribute("aria-pressed", String(!on));
  $("camera").textContent = on ? "Camera off" : "Camera on";
  $("local-tile").classList.toggle("camera-off", !on);
  let track = null;
  if (on) {
    const s = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30, facingMode: facing } });
    track = s.getVideoTracks()[0];
  }
  for (const old of localStream.getVideoTracks()) { old.stop(); localStream.removeTrack(old); }
  if (track) localStream.addTrack(track);
  // Camera off sends nothing (replaceTrack(null)), no renegotiation; on again resumes.
  for (const p of peers.values()) {
    for (const t of p.pc.getTransceivers()) {
      if (t.receiver.track.kind === "video") await t.sender.replaceTrack(track);
    }
  }
  $("local").srcObject = localStream;
}

$("camera").onclick = () => setCamera(!cameraOn).catch((e) => status(`camera: ${e.name}`));
$("mic").onclick = () => {
  micOn = !micOn;
  for (const t of localStream.getAudioTracks()) t.enabled = micOn;
  $("mic").setAttribute("aria-pressed", String(!micOn));
  $("mic").textContent = micOn ? "Mute" : "Unmute";
};
$("flip").onclick = () => {
  facing = facing === "user" ? "environment" : "user";
  if (cameraOn) setCamera(true).catch((e) => status(`camera: ${e.name}`));
};
$("leave").onclick = () => {
  leaving = true;
  send({ type: "leave" });
  for (const id of [...peers.keys()]) closePeer(id);
  ws.close();
  status("left");
};

(async () => {
  // Switching camera only makes sense with more than one.
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    if (devices.filter((d) => d.kind === "videoinput").length < 2) $("flip").hidden = true;
  } catch { $("flip").hidden = true; }
  await startMedia();
  connect();
  setInterval(() => refreshOverlays().catch(() => {}), 1000);
})();
