// The microphone: getUserMedia → AudioWorklet (24 kHz PCM16 frames) and an AnalyserNode
// for the orb. Frames arrive on the main thread through `onFrame(Int16Array)`; without
// `onFrame` (a WebRTC call sends the track itself) there is only the analyser.

export class MicError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

// Words a person can act on, per getUserMedia failure.
function explain(err) {
  switch (err && err.name) {
    case "NotAllowedError":
    case "SecurityError":
      return new MicError("denied", "Microphone access was blocked. Allow it for this site " +
        "(the icon in the address bar) and try again — or type your message below.");
    case "NotFoundError":
    case "OverconstrainedError":
      return new MicError("missing", "No microphone was found. Plug one in and try again " +
        "— or type your message below.");
    case "NotReadableError":
      return new MicError("busy", "The microphone is in use by another application " +
        "or could not be opened. You can still type below.");
    default:
      return new MicError("other", `The microphone could not be started (${err && err.message}).`);
  }
}

export class Capture {
  // `context` is created by the caller inside the click handler, so it may start.
  constructor(context, onFrame) {
    this.context = context;
    this.onFrame = onFrame;
    this.stream = null;
    this.node = null;
    this.analyser = null;
  }

  async start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new MicError("insecure", "This page cannot use a microphone here: open it over " +
        "https:// or from http://localhost. You can still type below.");
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (err) {
      throw explain(err);
    }
    const ctx = this.context;
    const source = ctx.createMediaStreamSource(this.stream);
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 512;
    this.analyser.smoothingTimeConstant = 0.6;
    source.connect(this.analyser);
    // On a WebRTC call the track itself is sent: no PCM frames are needed.
    if (this.onFrame) await this.startFrames(source);
    await ctx.resume();
    // A track that ends (unplugged, permission revoked) is an error a person should see.
    this.stream.getAudioTracks()[0].addEventListener("ended", () => this.onEnded && this.onEnded());
  }

  async startFrames(source) {
    const ctx = this.context;
    await ctx.audioWorklet.addModule(new URL("capture-worklet.js", import.meta.url));
    this.node = new AudioWorkletNode(ctx, "pcm16-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: "explicit",
      processorOptions: { targetRate: 24000, frameMs: 20 },
    });
    this.node.port.onmessage = (e) => this.onFrame(new Int16Array(e.data));
    source.connect(this.node);
    // A silent path to the destination keeps the worklet pulled by the render graph
    // in every browser, without ever playing the mic back.
    const mute = ctx.createGain();
    mute.gain.value = 0;
    this.node.connect(mute).connect(ctx.destination);
  }

  stop() {
    if (this.node) this.node.port.postMessage("stop");
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.node = this.stream = this.analyser = null;
  }
}
