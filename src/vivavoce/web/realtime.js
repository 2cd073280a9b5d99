// The Realtime WebSocket (GA dialect) and the page's short-lived credential.
// No audio and no DOM here: JSON events in and out.

export class ConnectError extends Error {
  constructor(kind, message, status = null) {
    super(message);
    this.kind = kind; // "unreachable" | "refused" | "dropped"
    this.status = status; // the HTTP status of a refusal, if it was one
  }
}

const UNREACHABLE = "Can't reach the vivavoce server. Is it still running?";

// Relative URLs so the page also works behind a reverse proxy under a sub-path.
const here = (path) => new URL(path, location.href);

// Ask this page's own server for a short-lived client secret, for a new session or
// (`resume`: {session_id, resume_token}) to continue one. The page never holds the
// server's API key. Resolves with {value, session_id, resume_token}: the session's id
// and the token that resumes it next time (each token works once). A server without
// the route (an older one) needs no secret: null.
export async function fetchClientSecret(session, resume = null) {
  let res;
  try {
    res = await fetch(here("session"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(resume ? { session, resume } : { session }),
    });
  } catch {
    throw new ConnectError("unreachable", UNREACHABLE);
  }
  if (res.status === 404 && !resume) return null;
  if (res.status === 405) return null;
  if (!res.ok) {
    let detail = res.statusText;
    try {
      detail = (await res.json()).detail || detail;
    } catch { /* not JSON: keep the status text */ }
    throw new ConnectError("refused", `The server would not start a session: ${detail}`, res.status);
  }
  return await res.json();
}

export async function fetchVoices() {
  try {
    const res = await fetch(here("healthz"));
    return res.ok ? (await res.json()).voices || [] : [];
  } catch {
    return [];
  }
}

// The server's named characters, if it has any: {default, personas: [{name, title, voice}]}.
export async function fetchPersonas() {
  try {
    const res = await fetch(here("v1/personas"));
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

export class RealtimeClient {
  constructor() {
    this.ws = null;
    this.onevent = () => {};
    this.onclose = () => {};
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  // Resolves with session.created; rejects with a ConnectError if the session never starts.
  // `resume`: the id of the session to continue (vivavoce's `?resume=` extension).
  connect(secret, persona, { resume = null } = {}) {
    const url = here("v1/realtime");
    if (persona) url.searchParams.set("persona", persona); // chosen when the session opens
    if (resume) url.searchParams.set("resume", resume);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    // Browsers cannot set headers on a WebSocket; the credential rides in a subprotocol.
    const protocols = ["realtime"];
    if (secret) protocols.push(`openai-insecure-api-key.${secret}`);
    return new Promise((resolve, reject) => {
      let started = false;
      let refusal = null;
      const ws = new WebSocket(url, protocols);
      this.ws = ws;
      ws.onmessage = (msg) => {
        let event;
        try {
          event = JSON.parse(msg.data);
        } catch {
          return; // not ours to show; the server only sends JSON
        }
        if (!started && event.type === "error") refusal = event.error;
        if (!started && event.type === "session.created") {
          started = true;
          resolve(event);
        }
        this.onevent(event);
      };
      ws.onclose = (e) => {
        if (this.ws === ws) this.ws = null;
        if (!started) {
          reject(refusal
            ? new ConnectError("refused", `The server refused the connection: ${refusal.message}`)
            : new ConnectError("unreachable", UNREACHABLE));
        } else {
          this.onclose(e);
        }
      };
    });
  }

  send(event) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(event));
    return true;
  }

  // Audio may be dropped, never queued without bound: a stalled network must not turn
  // into seconds of stale speech arriving later.
  sendAudio(base64) {
    if (!this.open || this.ws.bufferedAmount > 512 * 1024) return false;
    this.ws.send(JSON.stringify({ type: "input_audio_buffer.append", audio: base64 }));
    return true;
  }

  close() {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000);
    }
  }
}
