"""Text-to-speech through POST {base_url}/audio/speech with raw PCM streamed back."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np

from ._http import Endpoint
from .base import EngineError

OPENAI_VOICES = ("alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin",
                 "nova", "onyx", "sage", "shimmer", "verse")


class OpenAIHTTPTTS:
    concurrent = True  # its calls wait on a server, not on our cores: they may overlap

    sample_rate = 24000  # response_format "pcm" is 16-bit mono 24 kHz

    def __init__(self, base_url: str, api_key: str | None = None, model: str = "tts-1",
                 timeout: float = 60.0, voices: Sequence[str] = OPENAI_VOICES,
                 default_voice: str = "alloy") -> None:
        self.name = model
        self.model = model
        self.voices = list(voices)
        self.default_voice = default_voice
        self._endpoint = Endpoint(base_url, api_key, timeout)

    def synthesize(self, text: str, voice: str | None, cancel: threading.Event,
                   speed: float = 1.0) -> Iterator[np.ndarray]:
        if cancel.is_set() or not text.strip():
            return
        body = {"model": self.model, "input": text, "voice": voice or self.default_voice,
                "response_format": "pcm"}
        if speed != 1.0:
            body["speed"] = speed
        with self._endpoint.post("/audio/speech", json=body) as r:
            kind = r.headers.get("content-type", "")
            if kind.startswith(("application/json", "text/")):  # an error page, not audio
                raise EngineError(f"/audio/speech answered {kind} instead of audio: "
                                  f"{r.read()[:200]!r}")
            odd = b""  # network chunks may split a sample
            for data in r.iter_bytes():
                if cancel.is_set():
                    return  # leaving the block closes the connection
                data = odd + data
                even = len(data) & ~1
                odd = data[even:]
                if even:
                    yield np.frombuffer(data[:even], dtype="<i2").astype(np.int16)
