"""Server VAD on real speech: Silero over Piper-made prompts, on the audio timeline."""

from __future__ import annotations

import base64

import numpy as np

from tests.validation import validate_ga
from vivavoce.session.commands import Respond, Transcribe
from vivavoce.session.session import Session
from vivavoce.session.spans import SPANS_EVENT


def append(session: Session, pcm: np.ndarray, chunk: int = 960) -> list[dict]:
    events = []
    for start in range(0, len(pcm), chunk):
        data = pcm[start:start + chunk].astype("<i2").tobytes()
        session.receive({"type": "input_audio_buffer.append",
                         "audio": base64.b64encode(data).decode()})
        batch, _ = session.drain()
        events += [e for e in batch if e["type"] != SPANS_EVENT]
    for event in events:
        validate_ga(event)
    return events


def test_speech_start_and_stop_follow_the_audio(vad_engine, speak):
    session = Session(session_id="s", model="m", vad=vad_engine)
    session.drain()
    lead, speech = np.zeros(24000, np.int16), speak("Please turn on the kitchen lights.")
    events = append(session, np.concatenate([lead, speech]))
    started = [e for e in events if e["type"] == "input_audio_buffer.speech_started"]
    assert len(started) == 1
    # Speech begins after the 1 s of silence; the start includes 300 ms of padding.
    assert 600 <= started[0]["audio_start_ms"] <= 1100
    assert not [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    events = append(session, np.zeros(24 * 800, np.int16))
    stopped = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    assert len(stopped) == 1
    speech_end_ms = 1000 + len(speech) // 24
    # Piper ends with a little silence of its own; the true end is close to the file's end.
    assert speech_end_ms - 400 <= stopped[0]["audio_end_ms"] <= speech_end_ms + 50
    types = [e["type"] for e in events]
    assert types[types.index("input_audio_buffer.speech_stopped"):][:5] == [
        "input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
        "conversation.item.added", "conversation.item.done", "response.created"]
    _, commands = session.drain()
    assert commands == []  # the commands were drained with the events above


def test_committed_audio_holds_the_utterance(vad_engine, speak):
    session = Session(session_id="s", model="m", vad=vad_engine)
    speech = speak("What time is it?")
    session.drain()
    commands = []
    for pcm in (np.zeros(12000, np.int16), speech, np.zeros(24 * 900, np.int16)):
        for start in range(0, len(pcm), 960):
            data = pcm[start:start + 960].astype("<i2").tobytes()
            session.receive({"type": "input_audio_buffer.append",
                             "audio": base64.b64encode(data).decode()})
            commands += session.drain()[1]
    (transcribe,) = [c for c in commands if isinstance(c, Transcribe)]
    # The utterance plus prefix padding and the silence window, not the whole stream.
    assert len(speech) <= len(transcribe.audio) <= len(speech) + 24 * 1000
    assert not [c for c in commands if isinstance(c, Respond)]  # waits for the transcript


def test_noise_and_silence_do_not_start_a_turn(vad_engine):
    session = Session(session_id="s", model="m", vad=vad_engine)
    session.drain()
    rng = np.random.default_rng(0)
    noise = (rng.normal(0, 300, 24000 * 3)).astype(np.int16)
    events = append(session, np.concatenate([np.zeros(24000, np.int16), noise]))
    assert not [e for e in events if e["type"].startswith("input_audio_buffer.speech")]


def test_manual_mode_never_detects(vad_engine, speak):
    session = Session(session_id="s", model="m", vad=vad_engine)
    session.receive({"type": "session.update",
                     "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}})
    session.drain()
    events = append(session, np.concatenate([speak("Hello there."), np.zeros(24000, np.int16)]))
    assert [e["type"] for e in events] == []
    session.receive({"type": "input_audio_buffer.commit"})
    events, commands = session.drain()
    assert events[0]["type"] == "input_audio_buffer.committed"
    assert isinstance(commands[0], Transcribe)
