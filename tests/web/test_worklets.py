"""The two AudioWorklets, rendered offline in Chromium and checked sample by sample.

OfflineAudioContext renders the real worklet files as fast as it can, so these tests
measure the signal itself: resampling quality, gapless joins, click-free stops.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.web.conftest import open_page

CAPTURE = """async ([rate, tones]) => {
  const ctx = new OfflineAudioContext({ numberOfChannels: 1, length: rate, sampleRate: rate });
  await ctx.audioWorklet.addModule("capture-worklet.js");
  const node = new AudioWorkletNode(ctx, "pcm16-capture", {
    channelCount: 1, channelCountMode: "explicit",
    processorOptions: { targetRate: 24000, frameMs: 20 } });
  const frames = [];
  node.port.onmessage = (e) => frames.push(Array.from(new Int16Array(e.data)));
  for (const [hz, level] of tones) {
    const osc = new OscillatorNode(ctx, { frequency: hz });
    osc.connect(new GainNode(ctx, { gain: level })).connect(node);
    osc.start();
  }
  node.connect(ctx.destination);
  await ctx.startRendering();
  await new Promise((r) => setTimeout(r, 300));  // the last frames are still in the port
  return frames;
}"""

PLAYER = """async ([chunks, atEnd, pauseAt, later]) => {
  // chunks: int16 arrays pushed before rendering; at `pauseAt` s, `later` is pushed
  // (a list of messages), then rendering resumes.
  const length = 24000;
  const ctx = new OfflineAudioContext({ numberOfChannels: 1, length, sampleRate: 24000 });
  await ctx.audioWorklet.addModule("player-worklet.js");
  const node = new AudioWorkletNode(ctx, "pcm-player",
                                    { numberOfInputs: 0, outputChannelCount: [1] });
  node.connect(ctx.destination);
  const msgs = [];
  node.port.onmessage = (e) => msgs.push(e.data);
  const post = (m) => m.pcm ? node.port.postMessage({ ...m, pcm: Int16Array.from(m.pcm).buffer })
                            : node.port.postMessage(m);
  // The worklet reads its messages only while the render thread is idle, and offline
  // rendering never idles: pause it, post, give the thread a moment, go on.
  const pause = (at, messages) => ctx.suspend(at).then(async () => {
    messages.forEach(post);
    await new Promise((r) => setTimeout(r, 100));
    ctx.resume();
  });
  const first = chunks.map((c) => ({ type: "push", itemId: "a", pcm: c }));
  if (atEnd) first.push({ type: "end", itemId: "a" });
  pause(128 / 24000, first);
  if (pauseAt) pause(pauseAt, later);
  const out = (await ctx.startRendering()).getChannelData(0);
  await new Promise((r) => setTimeout(r, 300));
  return { out: Array.from(out), msgs };
}"""


@pytest.fixture
def page(light_server, launch):
    live = light_server()
    return open_page(launch(), f"{live.http}/")


def spectrum_db(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    windowed = x * np.hanning(len(x))
    mag = np.abs(np.fft.rfft(windowed))
    return np.fft.rfftfreq(len(x), 1 / rate), 20 * np.log10(mag / mag.max() + 1e-12)


@pytest.mark.parametrize("rate", [48000, 44100])
def test_capture_resamples_to_24k_frames_without_aliasing(page, rate):
    # 1 kHz speech-band tone, plus 15 kHz that would fold to 9 kHz without the filter.
    frames = page.evaluate(CAPTURE, [rate, [[1000, 0.5], [15000, 0.3]]])
    assert len(frames) >= 48
    assert {len(f) for f in frames} == {480}  # 20 ms at 24 kHz
    pcm = np.concatenate([np.array(f, np.float64) for f in frames]) / 32768
    steady = pcm[2400:2400 + 16384]
    freqs, db = spectrum_db(steady, 24000)
    assert abs(freqs[np.argmax(db)] - 1000) < 10
    alias = db[(freqs > 8800) & (freqs < 9200)].max()
    assert alias < -40, f"15 kHz leaked in as {alias:.1f} dB at 9 kHz"
    # The level survives (the tone's RMS is 0.5/sqrt 2; the 15 kHz part is gone).
    assert abs(np.sqrt(np.mean(steady ** 2)) - 0.5 / np.sqrt(2)) < 0.02


def sine(n: int, hz: float = 310, level: float = 0.5) -> np.ndarray:
    # Starts off zero, so the first sample played is visible in the output.
    return np.round(np.sin(2 * np.pi * hz * np.arange(n) / 24000 + 0.5) * level * 32767)


def split(x: np.ndarray, sizes: list[int]) -> list[list[int]]:
    edges = np.cumsum([0, *sizes])
    return [x[a:b].astype(int).tolist() for a, b in itertools.pairwise(edges)]


def test_player_joins_chunks_gaplessly_and_counts_every_sample(page):
    x = sine(12000)
    sizes = [1000, 777, 2048, 123, 5000, 3052]  # joins anywhere, one smaller than a quantum
    got = page.evaluate(PLAYER, [split(x, sizes), True, 0, []])
    out = np.array(got["out"])
    start = int(np.argmax(np.abs(out) > 0))
    played = out[start:start + len(x)]
    expected = x / 32768
    # Between the 2 ms fades in and out, the output is the input sample for sample: no
    # gap and no repeat at any join.
    np.testing.assert_allclose(played[48:-48], expected[48:-48], atol=1e-6)
    edges = np.r_[0:48, len(x) - 48:len(x)]
    assert np.all(np.abs(played[edges]) <= np.abs(expected[edges]) + 1e-6)
    assert not np.any(out[start + len(x):])  # then silence
    drained = [m for m in got["msgs"] if m["type"] == "drained"]
    assert drained and drained[-1]["played"] == len(x)
    assert [m["itemId"] for m in got["msgs"] if m["type"] == "started"] == ["a"]


def test_player_waits_for_its_jitter_buffer(page):
    # 60 ms is less than the 80 ms it wants before starting, and more may follow: silence.
    got = page.evaluate(PLAYER, [split(sine(1440), [1440]), False, 0, []])
    assert not np.any(got["out"])
    # The same 60 ms marked as the end of the item plays at once.
    got = page.evaluate(PLAYER, [split(sine(1440), [1440]), True, 0, []])
    assert np.count_nonzero(got["out"]) > 1400


def max_step(x: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(x))))


def test_player_underrun_and_flush_fade_instead_of_clicking(page):
    x = sine(24000)
    smooth = max_step(x / 32768) + 0.012  # the sine's own steepest step, plus a 2 ms ramp's
    # Underrun: 100 ms arrives, then nothing until 0.3 s, then the rest.
    got = page.evaluate(PLAYER, [split(x[:2400], [2400]), False, 0.3,
                                 [{"type": "push", "itemId": "a", "pcm": x[2400:7200].astype(int)
                                   .tolist()}, {"type": "end", "itemId": "a"}]])
    out = np.array(got["out"])
    assert np.count_nonzero(out) > 7000  # both parts played
    assert max_step(out) < smooth, "a click where the audio ran out or resumed"
    assert [m for m in got["msgs"] if m["type"] == "drained"][-1]["played"] == 7200

    # Flush (barge-in) mid-word: a short ramp down, then silence; the count is exact.
    got = page.evaluate(PLAYER, [split(x, [24000]), True, 0.25, [{"type": "flush"}]])
    out = np.array(got["out"])
    assert max_step(out) < smooth, "a click where playback was cut"
    (flushed,) = [m for m in got["msgs"] if m["type"] == "flushed"]
    heard = flushed["played"]
    assert 0.2 * 24000 < heard < 0.5 * 24000
    assert flushed["remaining"] == 24000 - heard
    assert np.count_nonzero(out) <= heard and not np.any(out[heard + 200:])
