"""The served page on a WebRTC call, in a real Chromium with a fake microphone, against the
real local cascade, all inside the test's network namespace.

The page's defaults are the product's: WebRTC, the mic as a media track, the server
playing the answer. The test records the remote track in the page (MediaRecorder) and
transcribes it back; when the user talks over the answer, the server cuts it and
truncates the item to what was played, and the page sends no truncate of its own.
"""

from __future__ import annotations

import base64
import io

import av
import numpy as np

from tests.helpers import silence
from tests.web.conftest import debug, open_page, shot, wait_until, write_wav
from tests.web.test_conversation import STORY, STORYTELLER, last_of
from vivavoce.bench.wer import cer, wer, words
from vivavoce.transports.webrtc.media import MicReader

RECORD = """() => {
  const rec = new MediaRecorder(window.vivavoce.remote(), {mimeType: "audio/webm;codecs=opus"});
  window.recorded = [];
  rec.ondataavailable = (e) => window.recorded.push(e.data);
  rec.start(100);
  window.recorder = rec;
}"""
STOP = """async () => {
  const rec = window.recorder;
  await new Promise((done) => { rec.onstop = done; rec.stop(); });
  const bytes = new Uint8Array(await new Blob(window.recorded).arrayBuffer());
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}"""


def decode(webm_b64: str) -> np.ndarray:
    """The page's recording (WebM/Opus) as int16 24 kHz mono."""
    reader = MicReader()
    with av.open(io.BytesIO(base64.b64decode(webm_b64))) as container:
        chunks = [reader.convert(frame) for frame in container.decode(audio=0)]
    return np.concatenate(chunks)


def loud_span(pcm: np.ndarray) -> tuple[float, int]:
    """How long the voice lasted (ms, first to last loud sample), and where it starts
    (a little before its first loud sample)."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 500)
    assert len(loud), "nothing was heard"
    return (loud[-1] - loud[0]) / 24, max(0, int(loud[0]) - 2400)


def test_a_call_from_the_page_is_heard_answered_and_cut_by_the_server(
        serve, cascade, vad_engine, speak, transcribe, launch, chromium_inside, tmp_path):
    live = serve(brain=cascade, vad=vad_engine)
    mic = write_wav(tmp_path / "story.wav", np.concatenate([silence(1500), speak(STORY),
                                                            silence(30000)]))
    page = open_page(launch(mic, executable=chromium_inside), f"{live.http}/",
                     transport="webrtc")
    page.click("#settings-btn")
    page.fill("#settings-form textarea[name=instructions]", STORYTELLER)
    page.click("#settings-form button[type=submit]")
    page.click("#start")
    wait_until(lambda: "connected" in page.text_content("#conn"), 30, "the call", page)
    assert debug(page, "transport") == "webrtc" and debug(page, "callId").startswith("rtc_")
    wait_until(lambda: page.evaluate("() => !!window.vivavoce.remote()"), 10,
               "the remote track", page)
    page.evaluate(RECORD)

    # The spoken turn is heard and transcribed; the answer plays on the remote track.
    heard = wait_until(lambda: last_of(page, "conversation.item.input_audio_transcription"
                                       ".completed"), 60, "the transcript", page)
    assert wer(STORY, heard["transcript"]) <= 0.25, heard["transcript"]
    wait_until(lambda: last_of(page, "output_audio_buffer.started"), 90, "the answer", page)
    wait_until(lambda: debug(page, "state") == "speaking", 10, "the orb speaking", page)
    page.wait_for_timeout(3000)
    shot(page, "webrtc-speaking")
    assert debug(page, "turns") and page.is_visible("#latency")

    # The user talks over it (the mic reopens and the fake device replays the file).
    page.click("#mute")
    page.click("#mute")
    truncated = wait_until(lambda: last_of(page, "conversation.item.truncated"), 30,
                           "the server's truncation", page)
    cleared = last_of(page, "output_audio_buffer.cleared")
    assert cleared is not None
    page.wait_for_timeout(500)
    recording = decode(page.evaluate(STOP))
    shot(page, "webrtc-barge-in")
    assert "conversation.item.truncate" not in debug(page, "sent")
    assert not last_of(page, "response.output_audio.delta")  # audio came as RTP only

    debug(page, "send")  # the hook exists
    page.evaluate("id => window.vivavoce.send({type: 'conversation.item.retrieve', item_id: id})",
                  truncated["item_id"])
    item = wait_until(lambda: last_of(page, "conversation.item.retrieved"), 10, "the item",
                      page)["item"]
    kept = item["content"][0]["transcript"]
    # What the page recorded of the answer, transcribed back, is what the item now says.
    heard_ms, start = loud_span(recording)
    # The page heard at least what the server played up to the cut, and what was still in
    # its jitter buffer then (on a busy machine that buffer grows).
    assert heard_ms > truncated["audio_end_ms"] - 500, (heard_ms, truncated)
    # What the page recorded, transcribed back: the item says what was heard, give or take
    # a word, and what the browser still had buffered at the cut (a few more on a machine
    # so busy that its jitter buffer grows).
    # Words counted as the WER counts them ("far-off" is two, as Whisper writes it). The
    # content is compared by characters: tiny.en on a browser's Opus recording mishears
    # sounds ("land" as "line"), which a word count punishes as if the text differed.
    back = transcribe(recording[start:])
    assert -1 <= len(words(back)) - len(words(kept)) <= 4, (back, kept)
    assert cer(kept, " ".join(words(back)[:len(words(kept))])) <= 0.3, (back, kept)
    full = next(e for e in debug(page, "log") if e["type"] == "response.done")["response"]
    assert len(kept) < len(full["output"][0]["content"][0]["transcript"])  # it was cut
    assert "cut" in page.get_attribute(f'li.msg.assistant[data-item-id="{item["id"]}"]',
                                       "class")
    assert debug(page, "errors") == []
    assert page.problems == []
    page.click("#start")  # End
