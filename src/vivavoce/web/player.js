// Assistant audio: a 24 kHz AudioContext (the browser resamples to the device, with its own
// high-quality resampler) running the player worklet, plus an AnalyserNode for the orb.
// Keeps the worklet's exact per-item played-sample counts on the main thread.

export const RATE = 24000;

export class Player {
  constructor(context) {
    this.context = context; // created by the caller inside the click handler
    this.node = null;
    this.analyser = null;
    this.played = new Map(); // itemId → samples actually output
    this.playing = false;
    this.pushed = 0; // samples sent to the audio thread
    this.consumed = 0; // samples it has played, flushed or dropped
    this.pendingFlush = null;
    this.early = []; // messages for the worklet sent before it was loaded
    this.ready = null;
    this.onStarted = () => {};
    this.onProgress = () => {};
    this.onDrained = () => {};
    this.onOverflow = () => {};
  }

  // Idempotent: the first call loads the worklet, later calls share its promise.
  start() {
    this.ready = this.ready || this.load();
    return this.ready;
  }

  async load() {
    const ctx = this.context;
    if (ctx.sampleRate !== RATE) throw new Error(`this browser cannot run audio at ${RATE} Hz`);
    await ctx.audioWorklet.addModule(new URL("player-worklet.js", import.meta.url));
    this.node = new AudioWorkletNode(ctx, "pcm-player", { numberOfInputs: 0, outputChannelCount: [1] });
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 512;
    this.analyser.smoothingTimeConstant = 0.6;
    this.node.connect(this.analyser).connect(ctx.destination);
    this.node.port.onmessage = (e) => this.onMessage(e.data);
    for (const [msg, transfer] of this.early) this.node.port.postMessage(msg, transfer);
    this.early = [];
    await ctx.resume();
  }

  post(msg, transfer = []) {
    if (this.node) this.node.port.postMessage(msg, transfer);
    else this.early.push([msg, transfer]); // still loading: keep it, in order
  }

  // Audio pushed and not yet played (or discarded): the assistant is not done talking.
  get busy() {
    return this.pushed > this.consumed;
  }

  onMessage(msg) {
    this.consumed = Math.max(this.consumed, msg.consumed || 0);
    if (msg.itemId != null && msg.played != null) this.played.set(msg.itemId, msg.played);
    switch (msg.type) {
      case "started":
        this.playing = true;
        this.onStarted(msg.itemId);
        break;
      case "progress":
        this.onProgress(msg.itemId, msg.played);
        break;
      case "drained":
        this.playing = false;
        this.onProgress(msg.itemId, msg.played);
        this.onDrained(msg.itemId);
        break;
      case "flushed":
        this.playing = false;
        if (this.pendingFlush) this.pendingFlush(msg);
        break;
      case "overflow":
        this.onOverflow(msg.dropped);
        break;
    }
  }

  // `pcm`: an ArrayBuffer of int16 samples; it is transferred to the audio thread.
  push(itemId, pcm) {
    this.pushed += pcm.byteLength / 2;
    this.post({ type: "push", itemId, pcm }, [pcm]);
  }

  end(itemId) {
    this.post({ type: "end", itemId });
  }

  // Stop playback now. Resolves with {itemId, played, remaining} for the item that was
  // playing, as counted by the audio thread at the moment it stopped (within one render
  // quantum, ~5 ms).
  flush() {
    if (!this.node) {
      this.early = []; // nothing played yet: just forget it
      this.consumed = this.pushed;
      return Promise.resolve({ itemId: null, played: 0, remaining: 0 });
    }
    if (this.pendingFlushPromise) return this.pendingFlushPromise;
    this.pendingFlushPromise = new Promise((resolve) => {
      const done = (msg) => {
        clearTimeout(timer);
        this.pendingFlush = null;
        this.pendingFlushPromise = null;
        resolve(msg);
      };
      // A suspended context never renders: fall back to what we last heard from it.
      const timer = setTimeout(() => done({ itemId: null, played: 0, remaining: 0 }), 250);
      this.pendingFlush = done;
      this.node.port.postMessage({ type: "flush" });
    });
    return this.pendingFlushPromise;
  }

  playedMs(itemId) {
    return Math.floor((this.played.get(itemId) || 0) / (RATE / 1000));
  }

  totalPlayedMs() {
    let samples = 0;
    for (const n of this.played.values()) samples += n;
    return Math.floor(samples / (RATE / 1000));
  }
}
