// A WebRTC call, the way the hosted Realtime API takes one from a browser: the SDP offer
// goes to POST v1/realtime/calls (with the page's short-lived secret), the microphone
// is a media track (the browser's echo canceller and jitter buffer come with it), the
// server plays the answer on the remote track, and every JSON event flows on the
// "oai-events" data channel. Same interface as RealtimeClient: connect, send, close.
// A data channel closes without a reason: when the server ends the session on purpose
// it says why first (an `error` with the code "session_ended"), and `onclose` passes
// that on; a call that drops closes with no reason.

import { ConnectError } from "./realtime.js";

const here = (path) => new URL(path, location.href);
const UNREACHABLE = "Can't reach the vivavoce server. Is it still running?";

// Every candidate goes in the offer (the server does not take trickled ones); host
// candidates gather in milliseconds, so this rarely waits long.
function gathered(pc, ms = 3000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

export class RtcClient {
  constructor() {
    this.pc = null;
    this.channel = null;
    this.callId = null;
    this.remote = null; // the assistant's voice (MediaStream)
    this.endReason = ""; // why the server ended the session, if it said
    this.audio = new Audio(); // plays it; Web Audio only reads it for the orb
    this.audio.autoplay = true;
    this.onevent = () => {};
    this.onclose = () => {};
    this.onremote = () => {};
  }

  get open() {
    return this.channel !== null && this.channel.readyState === "open";
  }

  // `mic`: the microphone's MediaStream, or null (receive only: the person types);
  // `resume`: the id of the session to continue (the secret may carry it too).
  // Resolves with session.created; rejects with a ConnectError.
  async connect(secret, persona, { mic = null, resume = null } = {}) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const track = mic && mic.getAudioTracks()[0];
    this.sender = pc.addTransceiver(track || "audio", { direction: "sendrecv" }).sender;
    pc.ontrack = (e) => {
      this.remote = e.streams[0] || new MediaStream([e.track]);
      this.audio.srcObject = this.remote;
      this.audio.play().catch(() => {});
      this.onremote(this.remote);
    };
    const channel = pc.createDataChannel("oai-events");
    this.channel = channel;
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const url = here("v1/realtime/calls");
    if (persona) url.searchParams.set("persona", persona);
    if (resume) url.searchParams.set("resume", resume);
    const headers = { "content-type": "application/sdp" };
    if (secret) headers.authorization = `Bearer ${secret}`;
    let res;
    try {
      res = await fetch(url, { method: "POST", body: pc.localDescription.sdp, headers });
    } catch {
      this.close();
      throw new ConnectError("unreachable", UNREACHABLE);
    }
    if (res.status !== 201) {
      let detail = res.statusText;
      try {
        detail = (await res.json()).error.message || detail;
      } catch { /* not JSON: keep the status text */ }
      this.close();
      throw new ConnectError("refused", `The server refused the call: ${detail}`);
    }
    this.callId = (res.headers.get("location") || "").split("/").pop();
    await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    return new Promise((resolve, reject) => {
      let started = false;
      let refusal = null;
      const fail = (err) => {
        clearTimeout(giveUp);
        this.close();
        reject(err);
      };
      const giveUp = setTimeout(() => fail(new ConnectError("unreachable", "The call did not " +
        "connect (no route between this browser and the server: see the README's notes on " +
        "NAT and ICE servers).")), 15000);
      channel.onmessage = (msg) => {
        let event;
        try {
          event = JSON.parse(msg.data);
        } catch {
          return;
        }
        if (event.type === "error" && !started) refusal = refusal || event.error;
        if (event.type === "error" && event.error.code === "session_ended") this.endReason = event.error.message;
        if (!started && event.type === "session.created") {
          started = true;
          clearTimeout(giveUp);
          resolve(event);
        }
        this.onevent(event);
      };
      const dropped = () => {
        if (this.pc !== pc) return;
        this.close();
        if (started) this.onclose({ reason: this.endReason });
        else fail(refusal ? new ConnectError("refused", `The server refused the call: ${refusal.message}`)
          : new ConnectError("unreachable", UNREACHABLE));
      };
      channel.onclose = dropped;
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "failed") dropped();
      };
    });
  }

  // Mute / unmute: a new microphone track, or none.
  setMic(stream) {
    if (this.sender) this.sender.replaceTrack(stream ? stream.getAudioTracks()[0] : null);
  }

  send(event) {
    if (!this.open) return false;
    this.channel.send(JSON.stringify(event));
    return true;
  }

  close() {
    const pc = this.pc;
    this.pc = null;
    if (this.channel) {
      this.channel.onclose = null;
      this.channel.close();
    }
    this.channel = null;
    if (pc) pc.close();
    this.audio.srcObject = null;
  }
}
