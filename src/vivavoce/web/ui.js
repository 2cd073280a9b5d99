// Everything the person sees besides the orb: captions, transcript, tool cards, latency,
// settings drawer, banners and toasts. No networking and no audio here.

const $ = (sel) => document.querySelector(sel);

const STATE_TEXT = {
  idle: "Go ahead — talk whenever you like",
  listening: "Listening…",
  thinking: "Thinking…",
  speaking: "Speaking — talk any time to interrupt",
};

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text != null) node.textContent = text;
  return node;
}

function pretty(json) {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return String(json);
  }
}

export class UI {
  constructor() {
    this.transcript = $("#transcript");
    this.captionEl = $("#caption");
    this.entries = new Map(); // itemId/callId → <li>
    this.connected = false;
    this.mic = false;
    this.state = "idle";
    $("#boot").remove(); // the modules loaded: the fallback text is no longer true
  }

  // ------------------------------------------------------------------ state
  setState(state) {
    this.state = state;
    const idle = this.mic ? STATE_TEXT.idle : "Microphone off — unmute it, or type below";
    if (this.connected) $("#state-label").textContent = state === "idle" ? idle : STATE_TEXT[state];
    $("#stop-answer").hidden = !(state === "thinking" || state === "speaking");
  }

  setMic(on) {
    this.mic = on;
    const mute = $("#mute");
    mute.textContent = on ? "Mute mic" : "Unmute mic";
    mute.setAttribute("aria-pressed", String(!on));
    this.setState(this.state);
  }

  setConnection(status, label) {
    const conn = $("#conn");
    conn.dataset.conn = status; // offline | connecting | online
    conn.querySelector("span").textContent = label || status;
    this.connected = status === "online";
    const start = $("#start");
    start.textContent = status === "offline" ? "Start" : "End";
    start.classList.toggle("primary", status === "offline");
    start.disabled = status === "connecting";
    $("#mute").hidden = !this.connected;
    for (const c of document.querySelectorAll("#text-form input, #text-form button")) c.disabled = !this.connected;
    $("#text-input").placeholder = this.connected ? "Type a message instead of speaking…"
      : "Press Start to talk or type";
    if (status === "offline") $("#state-label").textContent = "Press start, then talk";
    if (status === "connecting") $("#state-label").textContent = "Connecting…";
  }

  // ------------------------------------------------------------- transcript
  follow(fn) {
    const t = this.transcript;
    const atBottom = t.scrollHeight - t.scrollTop - t.clientHeight < 40;
    fn();
    if (atBottom) t.scrollTop = t.scrollHeight;
  }

  clearTranscript() {
    this.transcript.replaceChildren();
    this.entries.clear();
  }

  // The "New conversation" control: shown while there is a conversation to leave.
  setNewConversation(shown) {
    $("#new-conversation").hidden = !shown;
  }

  entry(id, role) {
    let li = this.entries.get(id);
    if (!li) {
      li = el("li", `msg ${role}`);
      li.dataset.itemId = id;
      li.append(el("span", "who", role === "user" ? "You" : "Viva"), el("p", "text"));
      this.follow(() => this.transcript.append(li));
      this.entries.set(id, li);
    }
    return li;
  }

  userText(itemId, text, partial) {
    const li = this.entry(itemId, "user");
    li.classList.toggle("partial", partial);
    this.follow(() => { li.querySelector(".text").textContent = text || (partial ? "…" : "(nothing heard)"); });
    this.caption("user", text || "…");
  }

  assistantAppend(itemId, text) {
    const li = this.entry(itemId, "assistant");
    const p = li.querySelector(".text");
    this.follow(() => { p.textContent += text; });
    this.caption("assistant", p.textContent);
  }

  markCut(itemId) {
    const li = this.entries.get(itemId);
    if (!li || li.classList.contains("cut")) return;
    li.classList.add("cut");
    li.append(el("span", "badge", "cut off"));
  }

  remove(id) {
    const li = this.entries.get(id);
    if (li) li.remove();
    this.entries.delete(id);
  }

  toolCall(callId, name, args) {
    const li = this.entries.get(callId) || el("li", "tool");
    li.replaceChildren(el("span", "who", "tool"), el("strong", "name", name), el("pre", "args", pretty(args)),
      el("pre", "result pending", "running…"));
    this.entries.set(callId, li);
    this.follow(() => this.transcript.append(li));
  }

  toolResult(callId, output) {
    const li = this.entries.get(callId);
    if (!li) return;
    const res = li.querySelector(".result");
    res.classList.remove("pending");
    res.textContent = "→ " + pretty(output);
  }

  // An item of a restored conversation, whole.
  redraw(item) {
    if (item.type === "function_call") {
      this.toolCall(item.call_id, item.name, item.arguments);
    } else if (item.type === "function_call_output") {
      this.toolResult(item.call_id, item.output);
    } else if (item.type === "message" && item.role !== "system") {
      const text = (item.content || []).map((c) => c.text || c.transcript || "").join(" ").trim();
      if (item.role === "user") {
        this.userText(item.id, text, false);
      } else {
        this.assistantAppend(item.id, text);
        if (item.status === "incomplete") this.markCut(item.id);
      }
    }
  }

  caption(who, text) {
    const c = this.captionEl;
    c.dataset.who = who;
    // The caption box has a fixed height (nothing below it jumps); a long answer shows
    // its newest words, the transcript keeps all of it.
    let shown = text.length > 240 ? text.slice(-240) : text;
    c.textContent = shown;
    while (c.scrollHeight > c.clientHeight + 1 && shown.includes(" ")) {
      shown = shown.slice(shown.indexOf(" ") + 1);
      c.textContent = "…" + shown;
    }
  }

  // ---------------------------------------------------------------- latency
  addTurn(turn) {
    const badge = $("#latency");
    badge.hidden = false;
    badge.textContent = `${(turn.afterStopMs / 1000).toFixed(2)} s`;
    const row = el("tr");
    row.append(el("td", null, `#${turn.n}${turn.kind === "text" ? " ⌨" : ""}`),
      el("td", null, `${turn.afterStopMs} ms`),
      el("td", null, turn.afterLastWordMs == null ? "—" : `${turn.afterLastWordMs} ms`));
    const body = $("#turns");
    body.prepend(row);
    while (body.children.length > 8) body.lastChild.remove();
  }

  // ------------------------------------------------------- banner and toasts
  banner(message, actionLabel, action) {
    const b = $("#banner");
    b.querySelector("span").textContent = message;
    const btn = b.querySelector("button.action");
    btn.hidden = !actionLabel;
    btn.textContent = actionLabel || "";
    btn.onclick = () => { this.clearBanner(); action(); };
    b.querySelector("button.dismiss").onclick = () => this.clearBanner();
    b.hidden = false;
  }

  clearBanner() {
    $("#banner").hidden = true;
  }

  // kind: "error" (the default: something went wrong) or "info".
  toast(message, kind = "error") {
    // The same problem reported fifty times a second is still one message.
    if ([...$("#toasts").children].some((t) => t.textContent === message)) return;
    const t = el("div", `toast ${kind}`, message);
    $("#toasts").append(t);
    setTimeout(() => t.classList.add("gone"), 5000);
    setTimeout(() => t.remove(), 5600);
  }
}

// ------------------------------------------------------------------ settings
// Saved in localStorage; only what the person changed is sent, so the server's
// own defaults (persona, voice) stay in charge otherwise.
const KEY = "vivavoce.settings";

export class Settings {
  constructor(onApply) {
    this.form = $("#settings-form");
    this.drawer = $("#settings");
    this.saved = this.load();
    this.server = null; // the session as the server last described it
    this.defaults = { instructions: "", voice: null }; // as the server starts a session
    const toggle = (open) => {
      this.drawer.hidden = !open;
      $("#settings-btn").setAttribute("aria-expanded", String(open));
    };
    $("#settings-btn").onclick = () => toggle(this.drawer.hidden);
    $("#settings-close").onclick = () => toggle(false);
    $("#settings-reset").onclick = () => {
      this.saved = {};
      localStorage.removeItem(KEY);
      this.show(this.server);
    };
    this.form.addEventListener("input", () => this.syncVisibility());
    this.personas = [];
    // A new character brings its own instructions and voice.
    this.form.elements.persona.addEventListener("change", () => {
      const f = this.form.elements;
      const p = this.personas.find((x) => x.name === f.persona.value);
      f.instructions.value = "";
      f.instructions.placeholder = "This character's own instructions";
      if (p && [...f.voice.options].some((o) => o.value === p.voice)) f.voice.value = p.voice;
    });
    this.form.onsubmit = (e) => {
      e.preventDefault();
      this.saved = this.read();
      localStorage.setItem(KEY, JSON.stringify(this.saved));
      onApply(this.saved);
      toggle(false);
    };
    // The connection is chosen before any session exists: show the saved one from the start.
    this.form.elements.transport.value = this.saved.transport || "webrtc";
    this.syncVisibility();
  }

  load() {
    try {
      return JSON.parse(localStorage.getItem(KEY)) || {};
    } catch {
      return {};
    }
  }

  setPersonas(list) {
    if (!list || !list.personas || !list.personas.length) return;
    this.personas = list.personas;
    this.defaultPersona = list.default;
    const select = this.form.elements.persona;
    select.replaceChildren(...list.personas.map((p) => new Option(p.title || p.name, p.name)));
    select.value = this.saved.persona || list.default;
    $("#persona-field").hidden = false;
  }

  setVoices(voices) {
    const select = this.form.elements.voice;
    const current = select.value;
    select.replaceChildren(...voices.map((v) => new Option(v, v)));
    if (voices.includes(current)) select.value = current;
  }

  // Fill the form from the server's session, with this person's saved choices on top.
  // `created`: this is the session as the server starts it, i.e. its defaults.
  show(session, created = false) {
    this.server = session;
    if (created) {
      this.defaults = {
        instructions: (session && session.instructions) || "",
        voice: session && session.audio && session.audio.output && session.audio.output.voice,
      };
    }
    const f = this.form.elements;
    const s = session || {};
    const turn = (s.audio && s.audio.input && s.audio.input.turn_detection) || {};
    const voice = this.saved.voice || (s.audio && s.audio.output && s.audio.output.voice);
    if (voice && ![...f.voice.options].some((o) => o.value === voice)) f.voice.append(new Option(voice, voice));
    if (voice) f.voice.value = voice;
    f.instructions.value = this.saved.instructions || s.instructions || "";
    f.turn.value = this.saved.turn || turn.type || "server_vad";
    f.silence.value = this.saved.silence || turn.silence_duration_ms || 500;
    f.eagerness.value = this.saved.eagerness || turn.eagerness || "auto";
    f.transport.value = this.saved.transport || "webrtc";
    this.syncVisibility();
  }

  read() {
    const f = this.form.elements;
    return {
      // The server's default character needs no mention.
      persona: f.persona.value && f.persona.value !== this.defaultPersona ? f.persona.value : undefined,
      // Left out when equal to the server's own, so its defaults stay in charge.
      instructions: f.instructions.value.trim() === this.defaults.instructions.trim() ? "" : f.instructions.value,
      voice: f.voice.value === this.defaults.voice ? "" : f.voice.value,
      turn: f.turn.value,
      silence: Number(f.silence.value),
      eagerness: f.eagerness.value,
      transport: f.transport.value,
    };
  }

  syncVisibility() {
    const f = this.form.elements;
    f.silence_out.value = `${f.silence.value} ms`;
    this.form.querySelector(".when-server").hidden = f.turn.value !== "server_vad";
    this.form.querySelector(".when-semantic").hidden = f.turn.value !== "semantic_vad";
  }
}
