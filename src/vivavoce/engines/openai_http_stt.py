"""Speech-to-text through POST {base_url}/audio/transcriptions (OpenAI, vLLM, Speaches...)."""

from __future__ import annotations

import io
import wave

import numpy as np

from vivavoce.audio.formats import SPEECH_RATE

from ._http import Endpoint
from .base import EngineError


class OpenAIHTTPSTT:
    concurrent = True  # its calls wait on a server, not on our cores: they may overlap

    def __init__(self, base_url: str, api_key: str | None = None,
                 model: str = "whisper-1", timeout: float = 30.0) -> None:
        self.name = model
        self.model = model
        self._endpoint = Endpoint(base_url, api_key, timeout)

    def transcribe(self, audio: np.ndarray, *, language: str | None = None,
                   prompt: str | None = None) -> str:
        data = {"model": self.model, "response_format": "json"}
        if language:
            data["language"] = language
        if prompt:
            data["prompt"] = prompt
        files = {"file": ("audio.wav", _wav(audio), "audio/wav")}
        with self._endpoint.post("/audio/transcriptions", data=data, files=files) as r:
            r.read()
        try:
            return str(r.json()["text"]).strip()
        except (ValueError, KeyError, TypeError) as e:
            raise EngineError(f"unexpected transcription response: {r.text[:200]!r}") from e


def _wav(audio: np.ndarray) -> bytes:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SPEECH_RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()
