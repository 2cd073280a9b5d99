// The orb: a canvas that shows, at a glance, who has the floor.
// idle: calm, slow breath · listening: green, pulses with the mic · thinking: blue, spinning arcs
// speaking: purple, ripples with the assistant's voice. With prefers-reduced-motion the colour
// still says the state, but nothing spins, ripples or wobbles.

const COLORS = {
  idle: [148, 163, 199],
  listening: [52, 211, 153],
  thinking: [96, 165, 250],
  speaking: [167, 139, 250],
};
const LABELS = {
  idle: "Assistant is idle",
  listening: "Listening to you",
  thinking: "Thinking",
  speaking: "Assistant is speaking",
};
const POINTS = 48; // points around the outline

const rgba = (c, a) => `rgba(${c[0] | 0},${c[1] | 0},${c[2] | 0},${a})`;
const mix = (c, d, t) => c.map((v, i) => v + (d[i] - v) * t);

// RMS of an analyser's waveform, mapped to 0..1 for speech-like levels.
function levelOf(analyser, buf) {
  if (!analyser) return 0;
  analyser.getFloatTimeDomainData(buf);
  let sum = 0;
  for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
  return Math.min(1, Math.sqrt(sum / buf.length) * 6);
}

export class Orb {
  constructor(el) {
    this.el = el;
    this.canvas = el.querySelector("canvas");
    this.g = this.canvas.getContext("2d");
    this.state = "idle";
    this.color = [...COLORS.idle];
    this.mic = null;
    this.out = null;
    this.wave = new Float32Array(512);
    this.spectrum = new Uint8Array(256);
    this.bands = [0, 0, 0];
    this.level = 0;
    this.radius = 1;
    this.spin = 0;
    this.ripples = [];
    this.lastRipple = 0;
    this.prevLevel = 0;
    this.last = performance.now();
    this.reduced = matchMedia("(prefers-reduced-motion: reduce)");
    new ResizeObserver(() => this.resize()).observe(el);
    this.resize();
    requestAnimationFrame((t) => this.frame(t));
  }

  setState(state) {
    this.state = state;
    this.el.dataset.state = state;
    this.el.setAttribute("aria-label", LABELS[state]);
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const { width, height } = this.el.getBoundingClientRect();
    this.w = width;
    this.h = height;
    this.canvas.width = Math.max(1, Math.round(width * dpr));
    this.canvas.height = Math.max(1, Math.round(height * dpr));
    this.g.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  // The voice that drives the orb: yours while listening, the assistant's while speaking.
  source() {
    if (this.state === "listening") return this.mic;
    if (this.state === "speaking") return this.out;
    return null;
  }

  // Energy in three speech bands (low, mid, high), smoothed: they shape the outline.
  updateBands(analyser, dt) {
    const k = Math.min(1, dt * 10);
    const target = [0, 0, 0];
    if (analyser) {
      analyser.getByteFrequencyData(this.spectrum);
      const hz = analyser.context.sampleRate / 2 / analyser.frequencyBinCount;
      const edges = [100, 500, 2000, 5000];
      for (let b = 0; b < 3; b++) {
        const lo = Math.floor(edges[b] / hz);
        const hi = Math.max(lo + 1, Math.min(this.spectrum.length, Math.floor(edges[b + 1] / hz)));
        let sum = 0;
        for (let i = lo; i < hi; i++) sum += this.spectrum[i];
        target[b] = sum / (hi - lo) / 255;
      }
    }
    for (let b = 0; b < 3; b++) this.bands[b] += (target[b] - this.bands[b]) * k;
  }

  frame(now) {
    requestAnimationFrame((t) => this.frame(t));
    const dt = Math.min(0.1, (now - this.last) / 1000);
    this.last = now;
    const t = now / 1000;
    const still = this.reduced.matches;
    const g = this.g;
    const { w, h, state } = this;
    if (!w || !h) return;

    const analyser = this.source();
    const target = levelOf(analyser, this.wave);
    // Fast attack, slow release: the orb jumps with a syllable and settles gently.
    this.level += (target - this.level) * Math.min(1, dt * (target > this.level ? 18 : 5));
    this.color = mix(this.color, COLORS[state], Math.min(1, dt * 5));
    if (!still) this.updateBands(analyser, dt);

    const R = Math.min(w, h) * 0.27;
    let want = 1;
    if (!still) {
      if (state === "idle") want = 1 + 0.025 * Math.sin(t * 1.3);
      if (state === "listening") want = 1 + 0.3 * this.level;
      if (state === "thinking") want = 0.9 + 0.02 * Math.sin(t * 4);
      if (state === "speaking") want = 1 + 0.22 * this.level;
    }
    this.radius += (want - this.radius) * Math.min(1, dt * 14);
    const r = R * this.radius;
    const cx = w / 2;
    const cy = h / 2;
    const c = this.color;
    g.clearRect(0, 0, w, h);

    // Glow: brighter with the voice even when motion is reduced.
    // Fades out before the canvas edge, so no box shows around the orb.
    const edge = Math.min(w, h) / 2;
    const glow = g.createRadialGradient(cx, cy, r * 0.4, cx, cy, edge);
    glow.addColorStop(0, rgba(c, 0.28 + 0.3 * this.level));
    glow.addColorStop(1, rgba(c, 0));
    g.fillStyle = glow;
    g.fillRect(0, 0, w, h);

    if (state === "speaking" && !still) this.drawRipples(t, r, edge, cx, cy, c);

    // Body: a soft sphere whose outline follows the voice.
    const pts = [];
    for (let i = 0; i < POINTS; i++) {
      const a = (i / POINTS) * Math.PI * 2 - Math.PI / 2;
      // Low, mid and high energy each move a slow wave around the rim: organic, never jagged.
      const [lo, mid, hi] = this.bands;
      const wobble = still ? 0 : 0.012 * Math.sin(a * 3 + t * 1.7) + this.level *
        (0.09 * lo * Math.sin(2 * a + t * 1.1) + 0.08 * mid * Math.sin(3 * a - t * 1.7) + 0.07 * hi * Math.sin(5 * a + t * 2.3));
      pts.push([cx + Math.cos(a) * r * (1 + wobble), cy + Math.sin(a) * r * (1 + wobble)]);
    }
    // A smooth closed curve: quadratic segments through the midpoints of the points.
    g.beginPath();
    const halfway = (p, q) => [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2];
    g.moveTo(...halfway(pts[POINTS - 1], pts[0]));
    for (let i = 0; i < POINTS; i++) g.quadraticCurveTo(...pts[i], ...halfway(pts[i], pts[(i + 1) % POINTS]));
    g.closePath();
    const body = g.createRadialGradient(cx - r * 0.35, cy - r * 0.4, r * 0.1, cx, cy, r * 1.1);
    body.addColorStop(0, rgba(mix(c, [255, 255, 255], 0.55), 1));
    body.addColorStop(0.55, rgba(c, 0.95));
    body.addColorStop(1, rgba(mix(c, [10, 12, 30], 0.55), 0.95));
    g.fillStyle = body;
    g.fill();

    if (state === "thinking") this.drawSpinner(dt, r, cx, cy, c, still);
  }

  drawSpinner(dt, r, cx, cy, c, still) {
    const g = this.g;
    g.lineCap = "round";
    g.lineWidth = Math.max(2, r * 0.07);
    if (still) {
      g.strokeStyle = rgba(c, 0.55);
      g.beginPath();
      g.arc(cx, cy, r * 1.3, 0, Math.PI * 2);
      g.stroke();
      return;
    }
    this.spin += dt * 3.2;
    g.strokeStyle = rgba(c, 0.9);
    g.beginPath();
    g.arc(cx, cy, r * 1.3, this.spin, this.spin + Math.PI * 0.8);
    g.stroke();
    g.strokeStyle = rgba(c, 0.45);
    g.beginPath();
    g.arc(cx, cy, r * 1.3, -this.spin * 0.7 + Math.PI, -this.spin * 0.7 + Math.PI * 1.5);
    g.stroke();
  }

  drawRipples(t, r, edge, cx, cy, c) {
    const g = this.g;
    // A new ring on each rise of the voice (a syllable), and now and then while it is loud.
    const rising = this.level > this.prevLevel + 0.02;
    if (this.level > 0.1 && t - this.lastRipple > (rising ? 0.35 : 0.8)) {
      this.ripples.push({ born: t, strength: this.level });
      this.lastRipple = t;
    }
    this.prevLevel = this.level;
    const life = 1.4;
    this.ripples = this.ripples.filter((p) => t - p.born < life);
    g.lineWidth = 1.5;
    for (const p of this.ripples) {
      const age = (t - p.born) / life;
      const radius = r + (edge - 4 - r) * (1 - (1 - age) * (1 - age)); // eases out towards the edge
      g.strokeStyle = rgba(c, (1 - age) * (1 - age) * 0.7 * Math.min(1, 0.3 + p.strength));
      g.beginPath();
      g.arc(cx, cy, radius, 0, Math.PI * 2);
      g.stroke();
    }
  }
}
