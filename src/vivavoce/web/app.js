// The conversation: wires mic → server → player, keeps the orb's state, the turn timings
// and the barge-in bookkeeping. Each collaborator has one job: capture.js (mic),
// player.js (speaker), webrtc.js (a WebRTC call: the default), realtime.js (the
// WebSocket, the fallback), orb.js (canvas), ui.js (DOM), escape-room.js (the Enigma's
// door), reconnect.js (resuming after a drop). All mutable state lives in `app` below.
//
// On a WebRTC call the server plays the answer and cuts it on a barge-in (it truncates
// what was not heard itself); over the WebSocket this page plays it and truncates
// (page-playback.js).

import { Capture } from "./capture.js";
import { EscapeRoom } from "./escape-room.js";
import { Player, RATE } from "./player.js";
import { RealtimeClient, fetchClientSecret, fetchPersonas, fetchVoices } from "./realtime.js";
import { Orb } from "./orb.js";
import { PagePlayback } from "./page-playback.js";
import { resumeState, sleep, waitBeforeTry } from "./reconnect.js";
import { RtcClient } from "./webrtc.js";
import { UI, Settings } from "./ui.js";

const SAMPLES_PER_MS = RATE / 1000;

const ui = new UI();
const orb = new Orb(document.getElementById("orb"));
const settings = new Settings(applySettings);
fetchPersonas().then((list) => settings.setPersonas(list));

// What happened, for anyone with devtools open and for the browser tests.
const debug = (window.vivavoce = {
  state: "idle",
  stateLog: [{ state: "idle", t: 0 }],
  events: [], // types of server events received, in order
  log: [], // the server events themselves, except audio deltas (too big to keep)
  sent: [], // types of client events sent (audio appends counted, not listed)
  appends: 0,
  errors: [],
  turns: [], // {n, kind, afterStopMs, afterLastWordMs}
  truncations: [], // {item_id, audio_end_ms}
  playedMs: 0, // assistant audio actually output, all items
  items: {}, // item_id → ms played
  receivedMs: {}, // item_id → ms of audio received
  doorOpen: false, // the escape room's door (the Enigma persona) has been unlocked
  doorTries: [], // {call_id, unlocked} for each unlock_door result, in order
  reconnects: 0, // times the page reconnected after losing the connection
  restored: 0, // times a conversation was restored on a new connection
  remote: () => app.client && app.client.remote, // WebRTC: the assistant's voice (MediaStream)
  send: (event) => send(event), // a client event, as the page would send it
  audio: () => ({ mic: app.micCtx && app.micCtx.state, micRate: app.micCtx && app.micCtx.sampleRate,
    player: app.playCtx && app.playCtx.state, capturing: app.capture !== null }),
});
const room = new EscapeRoom(debug);

// What one conversation keeps track of; a new one starts with a new session or character.
function newConversation() {
  return {
    response: null, // id of the response in progress
    turn: null, // the turn waiting for its first audio
    followUp: null, // timer: a server tool is running and its answer should follow
    // The answer as the page plays it (over the WebSocket; on a call the server plays).
    playback: new PagePlayback(() => (app.rtc ? null : app.player), {
      ui, debug, send, onCut: () => (app.state === "speaking" || app.state === "thinking") && settle(),
    }),
    partials: new Map(), // user item_id → transcription so far
    toolNames: new Map(), // call_id → tool name, to know what a function_call_output answers
    toolResults: new Set(), // call_ids whose output was shown (it arrives as added, then done)
    playing: false, // WebRTC: the server is playing an answer (output_audio_buffer.*)
  };
}

// Everything that changes while the page runs, in one place.
const app = {
  client: null,
  player: null,
  capture: null,
  micCtx: null,
  playCtx: null,
  running: false,
  rtc: true, // a WebRTC call (the default); false: the WebSocket
  state: "idle", // the orb's: idle | listening | thinking | speaking
  persona: null, // the character the open session was started with
  turnCount: 0,
  sentSamples: 0,
  sentLog: [], // {end, t}: when the audio up to sample `end` left the page
  restoring: false, // a resumed session is redrawing its conversation
  conv: null,
};
app.conv = newConversation();

function setState(next) {
  if (next === app.state) return;
  app.state = next;
  debug.state = next;
  debug.stateLog.push({ state: next, t: Math.round(performance.now()) });
  orb.setState(next);
  ui.setState(next);
}

function send(event) {
  if (!app.client || !app.client.send(event)) return false;
  debug.sent.push(event.type);
  return true;
}

// ------------------------------------------------------------------- base64
// PCM16 on the wire is little-endian, as typed arrays are on every platform browsers run on.
function toBase64(int16) {
  const bytes = new Uint8Array(int16.buffer, int16.byteOffset, int16.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

// ------------------------------------------------------------------ session
function sessionConfig(saved) {
  const pcm = { type: "audio/pcm", rate: RATE };
  // Input transcription is always on: it is what the captions show.
  const session = {
    type: "realtime",
    audio: { input: { format: pcm, transcription: { model: "whisper-1" } }, output: { format: pcm } },
  };
  if (saved.instructions) session.instructions = saved.instructions;
  if (saved.voice) session.audio.output.voice = saved.voice;
  if (saved.turn === "semantic_vad") {
    session.audio.input.turn_detection = { type: "semantic_vad", eagerness: saved.eagerness || "auto" };
  } else if (saved.turn === "server_vad") {
    session.audio.input.turn_detection = { type: "server_vad", silence_duration_ms: saved.silence || 500 };
  }
  return session;
}

async function start() {
  app.running = true;
  ui.clearBanner();
  if (!window.AudioWorkletNode) {
    fail("This browser cannot run the audio engine (AudioWorklet). Try a current Chrome, Edge, Firefox or Safari.");
    return;
  }
  try {
    // Created inside the click, before any await, so autoplay rules let them run.
    app.playCtx = app.playCtx || new AudioContext({ sampleRate: RATE, latencyHint: "interactive" });
    app.micCtx = app.micCtx || new AudioContext({ latencyHint: "interactive" });
  } catch (err) {
    fail(`Audio could not start in this browser: ${err.message}`);
    return;
  }
  app.rtc = settings.saved.transport !== "websocket";
  debug.transport = app.rtc ? "webrtc" : "websocket";
  if (app.rtc) {
    // The call sends the microphone's own track: the mic comes first.
    await startMic();
    if (app.running) await connect();
    return;
  }
  if (!app.player) {
    app.player = new Player(app.playCtx);
    wirePlayer(app.player);
  }
  // The player loads while we connect; it queues anything that arrives before it is ready.
  const playerReady = app.player.start();
  playerReady.catch(() => {}); // reported below, once we know the server is reachable
  // The server first: if it is down, that is the message to show, not a worklet failure.
  if (!(await connect()) || !app.running) return;
  try {
    await playerReady;
    orb.out = app.player.analyser;
  } catch (err) {
    app.player = null;
    fail(`Audio playback could not start: ${err.message}`);
    return;
  }
  await startMic();
}

function fail(message) {
  end();
  ui.banner(message);
}

// Open a session: a new one, or the conversation this tab had (resumed). `retrying`:
// a failure is left to the caller (reconnecting tries again) instead of ending.
async function connect(retrying = false) {
  ui.setConnection("connecting", retrying ? "reconnecting" : undefined);
  const client = (app.client = app.rtc ? new RtcClient() : new RealtimeClient());
  client.onevent = onEvent;
  client.onclose = onDropped;
  client.onremote = listenToAnswer;
  fetchVoices().then((voices) => voices.length && settings.setVoices(voices));
  let resume = resumeState.get();
  try {
    let minted;
    try {
      minted = await fetchClientSecret(sessionConfig(settings.saved), resume);
    } catch (err) {
      if (!resume || !(err.status === 404 || err.status === 401)) throw err;
      // That conversation is gone (deleted, or its token spent elsewhere): a new one.
      forgetConversation("The previous conversation could not be restored; starting a new one.");
      resume = null;
      minted = await fetchClientSecret(sessionConfig(settings.saved));
    }
    if (resume) resumeState.set(minted); // the old token is spent: keep the next one now
    app.persona = settings.saved.persona || null;
    app.restoring = Boolean(resume);
    if (resume) ui.clearTranscript(); // the server redraws it
    const created = await client.connect(minted && minted.value, app.persona, {
      resume: resume && resume.session_id,
      mic: app.capture && app.capture.stream, // a call sends the mic as its track
    });
    debug.callId = client.callId || null;
    // A new session is remembered once it exists (the secret named its id ahead).
    if (!resume && minted && created.session.id === minted.session_id) resumeState.set(minted);
  } catch (err) {
    if (app.client === client) app.client = null;
    app.restoring = false;
    if (!retrying) {
      end();
      ui.banner(err.message, "Try again", start);
    }
    return false;
  }
  app.sentSamples = 0;
  app.sentLog.length = 0;
  if (!resume) room.reset(); // a new session locks a new door
  ui.setConnection("online", "connected");
  ui.setNewConversation(true);
  send({ type: "session.update", session: sessionConfig(settings.saved) });
  ui.setState(app.state);
  return true;
}

// The connection dropped (network, server restart): try again, with growing waits,
// and resume the same conversation. Stops when the person ends the session.
async function reconnect() {
  for (let attempt = 0; app.running && !app.client; attempt++) {
    ui.setConnection("connecting", "reconnecting");
    await sleep(waitBeforeTry(attempt));
    if (!app.running || app.client) return;
    if (await connect(true)) {
      debug.reconnects++;
      return;
    }
  }
}

function forgetConversation(message) {
  resumeState.forget();
  ui.clearTranscript();
  ui.setNewConversation(false);
  if (message) ui.toast(message, "info");
}

// Characters are chosen when a session opens, so switching one means a new session;
// everything else is a session.update.
async function applySettings(saved) {
  const rtc = saved.transport !== "websocket";
  if (app.client && rtc !== app.rtc) {
    // Another transport: a new connection (the same conversation, resumed), with the
    // mic wired the new way.
    end();
    ui.toast(`Connecting over ${rtc ? "WebRTC" : "WebSocket"}…`, "info");
    await start();
    return;
  }
  if (!app.client || (saved.persona || null) === app.persona) {
    send({ type: "session.update", session: sessionConfig(saved) });
    return;
  }
  await startOver("New character, new conversation.");
}

// Leave the conversation and start a new one (with the same settings).
async function startOver(message) {
  if (app.client) app.client.close();
  app.client = null;
  await app.conv.playback.cut();
  resetConversation();
  setState("idle");
  forgetConversation(message);
  if (app.running) await connect();
}

// WebRTC: the assistant's voice arrives as a track (an <audio> element plays it); an
// AnalyserNode on it drives the orb.
function listenToAnswer(stream) {
  const analyser = app.playCtx.createAnalyser();
  analyser.fftSize = 512;
  analyser.smoothingTimeConstant = 0.6;
  app.playCtx.createMediaStreamSource(stream).connect(analyser);
  app.playCtx.resume();
  orb.out = analyser;
}

async function startMic() {
  if (app.capture) return;
  app.capture = new Capture(app.micCtx, app.rtc ? null : onFrame);
  app.capture.onEnded = () => {
    stopMic();
    ui.banner("The microphone stopped (unplugged or blocked). You can still type below.", "Restart mic", startMic);
  };
  try {
    await app.capture.start();
    if (!app.running) {
      stopMic(); // ended while the browser was asking for the mic
      return;
    }
    orb.mic = app.capture.analyser;
    if (app.rtc && app.client) app.client.setMic(app.capture.stream);
    ui.setMic(true);
  } catch (err) {
    app.capture = null;
    ui.setMic(false);
    if (app.running) ui.banner(err.message, "Try the mic again", startMic);
  }
}

function stopMic() {
  if (app.rtc && app.client) app.client.setMic(null);
  if (app.capture) app.capture.stop();
  app.capture = null;
  orb.mic = null;
  ui.setMic(false);
}

function onFrame(pcm) {
  // Not connected: the frame is dropped.
  if (!app.client || !app.client.sendAudio(toBase64(pcm))) return;
  debug.appends++;
  app.sentSamples += pcm.length;
  app.sentLog.push({ end: app.sentSamples, t: performance.now() });
  if (app.sentLog.length > 1500) app.sentLog.shift(); // 30 s of 20 ms frames
}

// When the sample at `ms` into the session's input audio left the page: the person's last word.
function sentAt(ms) {
  const pos = ms * SAMPLES_PER_MS;
  let found = null;
  for (let i = app.sentLog.length - 1; i >= 0 && app.sentLog[i].end >= pos; i--) found = app.sentLog[i];
  return found ? found.t - (found.end - pos) / SAMPLES_PER_MS : null;
}

function resetConversation() {
  expectFollowUp(false); // its timer belongs to the conversation that ends
  app.conv = newConversation();
}

// After a tool call the server runs the tool and answers in a new response: the
// assistant is still thinking. If no answer comes, rest after a while.
function expectFollowUp(on) {
  clearTimeout(app.conv.followUp);
  app.conv.followUp = on ? setTimeout(() => { app.conv.followUp = null; settle(); }, 20000) : null;
}

// Nothing is playing and no response is running: where the orb rests.
function settle() {
  if (app.conv.response || app.conv.playing || (app.player && app.player.busy)
    || app.state === "listening") return;
  if (app.conv.followUp) {
    setState("thinking");
  } else {
    app.conv.turn = null;
    setState("idle");
  }
}

function end() {
  app.running = false;
  if (app.client) app.client.close();
  app.client = null;
  stopMic();
  if (app.player) app.player.flush();
  resetConversation();
  ui.setConnection("offline");
  setState("idle");
}

function onDropped(e) {
  app.client = null;
  app.restoring = false;
  if (e.reason) {
    // Let go on purpose (resumed in another tab, deleted, a usage limit): say why.
    end();
    ui.setConnection("offline", "disconnected");
    ui.banner(`The server closed the session (${e.reason}).`, "Reconnect", start);
    return;
  }
  // Lost: what was playing is gone with it; the conversation is not.
  if (app.player) app.player.flush();
  resetConversation();
  setState("idle");
  ui.toast("The connection dropped. Reconnecting…", "info");
  reconnect();
}

// ----------------------------------------------------------------- playback
// The first answer audio was heard (the page's player, or the server's on a call).
function answerStarted() {
  if (app.state !== "listening") setState("speaking");
  if (!app.conv.turn) return;
  // The first answer audio actually went out: the turn's latency.
  const now = performance.now();
  const rec = {
    n: app.conv.turn.n,
    kind: app.conv.turn.kind,
    afterStopMs: Math.round(now - app.conv.turn.stoppedAt),
    afterLastWordMs: app.conv.turn.lastWordAt == null ? null : Math.round(now - app.conv.turn.lastWordAt),
  };
  app.conv.turn = null;
  debug.turns.push(rec);
  ui.addTurn(rec);
}

function wirePlayer(p) {
  p.onStarted = answerStarted;
  p.onProgress = (itemId) => {
    debug.items[itemId] = p.playedMs(itemId);
    debug.playedMs = p.totalPlayedMs();
    app.conv.playback.reveal(itemId);
  };
  p.onDrained = (itemId) => {
    app.conv.playback.drained(itemId);
    if (app.state === "speaking") settle();
  };
  p.onOverflow = () => ui.toast("The answer is too long to buffer; some of it was skipped.");
}

// ------------------------------------------------------------ server events
const handlers = {
  "session.created": (e) => settings.show(e.session, true),
  "session.updated": (e) => {
    settings.show(e.session);
    if (app.restoring) {
      // Our session.update comes back after the whole redraw: it is complete.
      app.restoring = false;
      debug.restored++;
      ui.toast("Reconnected — conversation restored", "info");
    }
  },
  error: (e) => {
    debug.errors.push(e.error);
    ui.toast(e.error.message || "The server reported an error.");
  },
  "input_audio_buffer.speech_started": (e) => {
    setState("listening");
    app.conv.turn = null;
    expectFollowUp(false);
    ui.userText(e.item_id, "", true);
    app.conv.playback.cut(); // barge-in: the person has the floor (on a call the server cuts)
  },
  "input_audio_buffer.speech_stopped": (e) => {
    setState("thinking");
    app.conv.turn = {
      n: ++app.turnCount, kind: "voice", stoppedAt: performance.now(), lastWordAt: sentAt(e.audio_end_ms),
    };
  },
  "conversation.item.input_audio_transcription.delta": (e) => {
    const text = (app.conv.partials.get(e.item_id) || "") + e.delta;
    app.conv.partials.set(e.item_id, text);
    ui.userText(e.item_id, text, true);
  },
  "conversation.item.input_audio_transcription.completed": (e) => {
    app.conv.partials.delete(e.item_id);
    ui.userText(e.item_id, e.transcript.trim(), false);
  },
  "conversation.item.input_audio_transcription.failed": (e) => ui.userText(e.item_id, "(could not transcribe)", false),
  "conversation.item.added": (e) => app.restoring || showItem(e.item),
  "conversation.item.done": (e) => (app.restoring ? redrawItem(e.item) : showItem(e.item)),
  "conversation.item.truncated": (e) => ui.markCut(e.item_id),
  "output_audio_buffer.started": () => {
    app.conv.playing = true;
    answerStarted();
  },
  "output_audio_buffer.stopped": () => stoppedPlaying(),
  "output_audio_buffer.cleared": () => stoppedPlaying(),
  "response.created": (e) => {
    app.conv.response = e.response.id;
    expectFollowUp(false);
    if (app.state === "idle") setState("thinking");
  },
  "response.output_item.added": (e) => {
    if (e.item.type === "message") ui.entry(e.item.id, "assistant");
  },
  "response.output_item.done": (e) => {
    if (e.item.type === "function_call") {
      app.conv.toolNames.set(e.item.call_id, e.item.name);
      ui.toolCall(e.item.call_id, e.item.name, e.item.arguments);
    }
  },
  "response.output_audio.delta": (e) => app.conv.playback.audio(e),
  "response.output_audio.done": (e) => app.conv.playback.audioEnded(e.item_id),
  "response.output_audio_transcript.delta": (e) => app.conv.playback.caption(e.item_id, e.delta),
  "response.output_text.delta": (e) => ui.assistantAppend(e.item_id, e.delta),
  "response.done": (e) => responseDone(e.response),
};

function stoppedPlaying() {
  app.conv.playing = false;
  if (app.state === "speaking") settle();
}

function showItem(item) {
  if (item.type === "function_call") {
    app.conv.toolNames.set(item.call_id, item.name);
  } else if (item.type === "function_call_output") {
    ui.toolResult(item.call_id, item.output);
    if (!app.conv.toolResults.has(item.call_id)) {
      app.conv.toolResults.add(item.call_id);
      if (app.conv.toolNames.get(item.call_id) === "unlock_door") {
        room.lockAnswered(item.call_id, item.output);
      }
    }
  } else if (item.type === "message" && item.role === "user") {
    const text = (item.content || []).filter((c) => c.type === "input_text").map((c) => c.text).join(" ");
    if (text) ui.userText(item.id, text, false);
  }
}

// A resumed session's item, told again: drawn whole (no deltas will come for it).
function redrawItem(item) {
  if (item.type === "function_call") app.conv.toolNames.set(item.call_id, item.name);
  if (item.type === "function_call_output") app.conv.toolResults.add(item.call_id);
  ui.redraw(item);
}

function responseDone(r) {
  if (app.conv.response === r.id) app.conv.response = null;
  if (r.status === "failed") {
    const detail = r.status_details && r.status_details.error && r.status_details.error.message;
    ui.toast(`The answer failed${detail ? `: ${detail}` : ""}.`);
  }
  app.conv.playback.responseDone(r);
  expectFollowUp(r.status === "completed" && (r.output || []).some((i) => i.type === "function_call"));
  // Audio still queued (maybe not even started): the player's drain settles it instead.
  if (app.state === "thinking" || app.state === "speaking") settle();
}

function onEvent(event) {
  debug.events.push(event.type);
  if (debug.events.length > 20000) debug.events.splice(0, 10000);
  if (event.type !== "response.output_audio.delta") {
    debug.log.push(event);
    if (debug.log.length > 2000) debug.log.splice(0, 1000);
  }
  const handler = handlers[event.type];
  if (handler) handler(event);
}

// ---------------------------------------------------------------- controls
document.getElementById("start").onclick = () => (app.running ? end() : start());
document.getElementById("new-conversation").onclick = () => startOver("New conversation.");

// Muting releases the microphone (the browser's mic indicator goes off), not just the
// sending; unmuting asks for it again.
document.getElementById("mute").onclick = () => {
  if (app.capture) {
    stopMic();
    // A half-spoken turn is abandoned rather than left open on the server.
    if (app.state === "listening") {
      send({ type: "input_audio_buffer.clear" });
      setState("idle");
    }
  } else {
    ui.clearBanner();
    startMic();
  }
};

// Stop the answer: cancel what is being made and cut what is playing. On a call the
// server truncates to what was heard (as SDKs do: cancel, then clear).
async function interrupt() {
  expectFollowUp(false);
  if (app.conv.response) send({ type: "response.cancel" });
  if (!app.rtc) await app.conv.playback.cut();
  else if (app.conv.playing || app.conv.response) send({ type: "output_audio_buffer.clear" });
}

document.getElementById("stop-answer").onclick = async () => {
  await interrupt();
  if (!app.conv.response && app.state !== "listening") setState("idle");
};

document.getElementById("text-form").onsubmit = async (e) => {
  e.preventDefault();
  const input = document.getElementById("text-input");
  const text = input.value.trim();
  if (!text || !app.client) return;
  input.value = "";
  // Typing over an answer interrupts it, like speaking does.
  await interrupt();
  send({
    type: "conversation.item.create",
    item: { type: "message", role: "user", content: [{ type: "input_text", text }] },
  });
  send({ type: "response.create" });
  app.conv.turn = { n: ++app.turnCount, kind: "text", stoppedAt: performance.now(), lastWordAt: null };
  setState("thinking");
};

addEventListener("keydown", (e) => {
  if (e.key === "Escape") document.getElementById("settings-close").click();
});

// Never a silent failure: anything unexpected becomes a short message.
addEventListener("error", (e) => ui.toast(`Something went wrong: ${e.message}`));
addEventListener("unhandledrejection", (e) => ui.toast(`Something went wrong: ${e.reason && e.reason.message || e.reason}`));

ui.setConnection("offline");
ui.setNewConversation(Boolean(resumeState.get()));
