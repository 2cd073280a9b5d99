// Audio thread: microphone (context rate) → 24 kHz PCM16 frames posted to the main thread.
// It never touches the network; posting a transferred buffer is all it does per frame.

const TAPS = 64; // anti-alias filter length: ~4 kHz transition band at 48 kHz

// Windowed-sinc low-pass (Blackman), cutoff as a fraction of the input rate.
function lowpass(cutoff, n) {
  const h = new Float32Array(n);
  const mid = (n - 1) / 2;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (n - 1));
    h[i] = sinc * w;
    sum += h[i];
  }
  for (let i = 0; i < n; i++) h[i] /= sum; // unity gain at DC
  return h;
}

class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate = 24000, frameMs = 20 } = options.processorOptions || {};
    this.step = sampleRate / targetRate; // input samples per output sample
    // Only downsampling needs a filter; below 24 kHz we just interpolate.
    this.taps = this.step > 1 ? lowpass((0.45 * targetRate) / sampleRate, TAPS) : Float32Array.of(1);
    this.hist = this.taps.length; // history kept in front of each block
    this.buf = new Float32Array(this.hist + 128);
    this.pos = 0; // position of the next output sample, in input samples from the block start
    this.frameLength = Math.round((targetRate * frameMs) / 1000);
    this.frame = new Int16Array(this.frameLength);
    this.fill = 0;
    this.running = true;
    this.port.onmessage = (e) => { if (e.data === "stop") this.running = false; };
  }

  // Filtered input at block index k (k >= -1): a dot product over the history + block.
  filtered(k) {
    const { taps, buf } = this;
    const end = this.hist + k;
    let acc = 0;
    for (let j = 0; j < taps.length; j++) acc += taps[j] * buf[end - j];
    return acc;
  }

  emit(x) {
    const s = x < -1 ? -1 : x > 1 ? 1 : x;
    this.frame[this.fill++] = s < 0 ? s * 32768 : s * 32767;
    if (this.fill === this.frameLength) {
      // Transfer, not copy: the main thread owns this buffer from now on (and the
      // transfer detaches it here, hence a fresh one).
      this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
      this.frame = new Int16Array(this.frameLength);
      this.fill = 0;
    }
  }

  process(inputs) {
    if (!this.running) return false;
    const input = inputs[0] && inputs[0][0];
    if (!input) return true; // no mic connected yet
    const n = input.length;
    if (this.buf.length !== this.hist + n) {
      const grown = new Float32Array(this.hist + n);
      grown.set(this.buf.subarray(0, this.hist));
      this.buf = grown;
    }
    this.buf.set(input, this.hist);
    // Linear interpolation between filtered samples; needs index+1 inside this block.
    while (Math.floor(this.pos) + 1 < n) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = this.filtered(i);
      this.emit(frac === 0 ? a : a + (this.filtered(i + 1) - a) * frac);
      this.pos += this.step;
    }
    this.pos -= n;
    // Keep the newest `hist` samples as history for the next block.
    this.buf.copyWithin(0, n, n + this.hist);
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
