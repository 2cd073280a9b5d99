"""Per-turn latency spans on a real spoken turn, and the metrics endpoint."""

from __future__ import annotations

import base64
import json

import httpx
import numpy as np
import websockets

from tests.helpers import silence
from tests.validation import validate_ga
from vivavoce.session.spans import SPANS_EVENT

# The path to the first audio; with speculation most of it runs inside the silence
# window, so "speech_stopped" is only known to fall between the ends.
ORDER = ["speech_end", "stt_start", "stt_done", "llm_start", "llm_first_token",
         "first_clause", "audio_ready", "first_audio", "last_audio", "done"]


async def stream(ws, pcm: np.ndarray) -> None:
    for start in range(0, len(pcm), 960):
        chunk = pcm[start:start + 960].astype("<i2").tobytes()
        await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                  "audio": base64.b64encode(chunk).decode()}))


async def test_spans_of_a_spoken_turn_are_ordered_and_exported(server, speak):
    async with websockets.connect(f"{server.ws}/v1/realtime?vivavoce_spans=1") as ws:
        await stream(ws, np.concatenate([speak("What is the capital of Italy?"),
                                         silence(1200)]))
        spans = None
        while spans is None:
            event = json.loads(await ws.recv())
            if event["type"] == SPANS_EVENT:
                spans = event
            else:
                validate_ga(event)
    assert spans["status"] == "completed"
    marks = spans["spans"]
    for name in ORDER:
        assert name in marks, (name, marks)
    times = [marks[name] for name in ORDER]
    assert times == sorted(times), marks
    assert marks["speech_end"] < marks["speech_stopped"] <= marks["first_audio"]
    assert marks["speech_end"] == 0.0
    # The silence window is measured in audio time: 500 ms by default.
    assert 0.45 <= marks["speech_stopped"] - marks["speech_end"] <= 0.6
    metrics = httpx.get(f"{server.http}/metrics").text
    assert 'vivavoce_turn_span_seconds_count{span="first_audio"}' in metrics
    assert 'vivavoce_responses_total{status="completed"}' in metrics
