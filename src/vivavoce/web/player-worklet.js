// Audio thread: plays assistant PCM16 (the context runs at 24 kHz, so no resampling here)
// from a small jitter buffer, and counts exactly how many samples of each item it output.
//
// In:  {type: "push", itemId, pcm: ArrayBuffer}  int16 mono 24 kHz
//      {type: "end", itemId}                    no more audio for that item
//      {type: "flush"}                          stop now (barge-in / stop button)
// Out: {type: "started", itemId}  {type: "progress", itemId, played}  {type: "drained", itemId, played}
//      {type: "flushed", itemId, played, remaining}  {type: "overflow", dropped}
//      Every message also carries `consumed`: samples ever played, flushed or dropped, so the
//      main thread knows whether anything it pushed is still pending.

const PRIME = 1920; // 80 ms at 24 kHz buffered before playback starts
const FADE = 48; // 2 ms ramps: enough to hide a click, too short to hear
const MAX_BUFFERED = 24000 * 300; // bounded: five minutes of queued speech at most
const PROGRESS_EVERY = 4; // render quanta between progress reports (~21 ms)

class PcmPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = []; // {itemId, data: Int16Array, offset} or {itemId, end: true}
    this.buffered = 0; // samples queued
    this.primed = false;
    this.gain = 0;
    this.current = null; // item whose samples were output last
    this.played = new Map(); // itemId → samples output
    this.flushRequested = false;
    this.quanta = 0;
    this.consumed = 0;
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  onMessage(msg) {
    if (msg.type === "push") {
      const data = new Int16Array(msg.pcm);
      if (this.buffered + data.length > MAX_BUFFERED) {
        this.consumed += data.length;
        this.post({ type: "overflow", dropped: data.length });
        return;
      }
      this.queue.push({ itemId: msg.itemId, data, offset: 0 });
      this.buffered += data.length;
    } else if (msg.type === "end") {
      this.queue.push({ itemId: msg.itemId, end: true });
    } else if (msg.type === "flush") {
      this.flushRequested = true;
    }
  }

  // True when everything queued is final: no more data will follow, so no need to wait
  // for the jitter buffer to fill.
  get final() {
    const last = this.queue[this.queue.length - 1];
    return last !== undefined && last.end === true;
  }

  post(msg) {
    msg.consumed = this.consumed;
    this.port.postMessage(msg);
  }

  playedOf(itemId) {
    return this.played.get(itemId) || 0;
  }

  // Output one sample of the head chunk at the current gain; returns false if none left.
  next(out, i, limit) {
    while (this.queue.length && this.queue[0].end) this.queue.shift();
    const head = this.queue[0];
    if (!head) return false;
    if (head.itemId !== this.current) {
      this.current = head.itemId;
      this.post({ type: "started", itemId: head.itemId });
    }
    this.gain = Math.min(this.gain + 1 / FADE, limit);
    out[i] = (head.data[head.offset++] / 32768) * this.gain;
    this.buffered--;
    this.consumed++;
    this.played.set(head.itemId, this.playedOf(head.itemId) + 1);
    if (head.offset >= head.data.length) this.queue.shift();
    return true;
  }

  flush(out) {
    // Ramp down over what is already queued instead of cutting mid-waveform.
    let i = 0;
    const start = this.gain;
    // Nothing is audible before priming: then there is nothing to ramp down.
    for (; this.primed && i < FADE && i < out.length; i++) {
      if (!this.next(out, i, start * (1 - (i + 1) / FADE))) break;
    }
    const itemId = this.current;
    let remaining = 0;
    for (const c of this.queue) if (!c.end && c.itemId === itemId) remaining += c.data.length - c.offset;
    this.consumed += this.buffered;
    this.queue = [];
    this.buffered = 0;
    this.primed = false;
    this.gain = 0;
    this.flushRequested = false;
    this.current = null;
    this.post({ type: "flushed", itemId, played: this.playedOf(itemId), remaining });
    return i;
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    let i = 0;
    if (this.flushRequested) i = this.flush(out);
    if (!this.primed && (this.buffered >= PRIME || (this.buffered > 0 && this.final))) this.primed = true;
    if (this.primed) {
      for (; i < out.length; i++) {
        // Little left (starving, or the very end): fade towards silence as the data runs
        // out, so the last sample never drops to zero in one step.
        const limit = Math.min(1, this.buffered / FADE);
        if (!this.next(out, i, limit)) break;
      }
      if (this.buffered === 0) {
        // Underrun or the end: wait for a full jitter buffer again before resuming.
        this.primed = false;
        this.gain = 0;
        this.post({ type: "drained", itemId: this.current, played: this.playedOf(this.current) });
      } else if (++this.quanta % PROGRESS_EVERY === 0) {
        this.post({ type: "progress", itemId: this.current, played: this.playedOf(this.current) });
      }
    }
    out.fill(0, i);
    return true;
  }
}

registerProcessor("pcm-player", PcmPlayer);
