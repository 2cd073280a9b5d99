"""The engine kinds, one small interface each.

Engines are synchronous and may block: brains run them in worker threads so the
event loop never waits on inference. Streaming engines yield as they go and
check a cancel event between steps, so a barge-in stops work at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from vivavoce.types import Usage

# Chat messages use the OpenAI chat-completions shape (role/content/tool_calls/
# tool_call_id): every LLM runtime we target already speaks it.
Message = dict[str, Any]
ToolSchema = dict[str, Any]  # {"type": "function", "name", "description", "parameters"}


class EngineError(RuntimeError):
    """An engine could not do its job (endpoint down, model failed)."""


class VADStream(Protocol):
    """Per-session VAD state: frames in, speech probabilities out."""

    def probability(self, frame: np.ndarray) -> float:
        """Speech probability of one float32 frame of `VAD.frame_samples` at 16 kHz."""
        ...

    def reset(self) -> None: ...


class VAD(Protocol):
    sample_rate: int  # SPEECH_RATE
    frame_samples: int  # 512 for Silero

    def stream(self) -> VADStream: ...


class STT(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray, *, language: str | None = None,
                   prompt: str | None = None) -> str:
        """Transcribe float32 mono audio at 16 kHz; returns the text."""
        ...


@dataclass
class TextDelta:
    text: str


@dataclass
class ToolCallStarted:
    """The model has begun a tool call: its name and arguments are being written.
    `score`: how sure the engine was that a call was wanted, and `threshold` what it
    had to be (where the engine decides so)."""

    score: float | None = None
    threshold: float | None = None


@dataclass
class ToolCall:
    """A complete tool call chosen by the model; arguments is a JSON string."""

    name: str
    arguments: str
    call_id: str = ""


LLMChunk = TextDelta | ToolCallStarted | ToolCall | Usage


@dataclass
class LLMRequest:
    messages: list[Message]
    tools: list[ToolSchema] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    temperature: float = 0.8
    max_tokens: int | None = None


class LLM(Protocol):
    name: str

    def stream(self, request: LLMRequest, cancel: threading.Event) -> Iterator[LLMChunk]:
        """Yield text deltas, then any tool calls, then (optionally) usage."""
        ...

    def prefill(self, request: LLMRequest, pause: Callable[[], None]) -> None:
        """Read as much of this request's prompt as is known into a cache, so that a
        `stream` whose prompt starts the same way starts sooner; it may do nothing. A
        long read calls `pause()` now and then: work that must not wait runs there."""
        ...

    def keep(self, request: LLMRequest) -> None:
        """Read this request's instructions and tools now and keep them read for every
        later prompt that starts like it (a server-wide prompt, at start-up); it may
        do nothing."""
        ...

    def refresh(self, stop: Callable[[], bool]) -> None:
        """In idle time, make a cache that holds an approximation exact again, giving up
        as soon as `stop()` says the model is wanted; it may do nothing."""
        ...


class EndOfTurn(Protocol):
    name: str

    def probability(self, said: str, context: LLMRequest) -> float:
        """How likely the user's turn is over, having said `said` so far (a transcript
        that may end anywhere); `context` is the reply's prompt before the user's turn
        (instructions, tools, the conversation so far)."""
        ...


class TTS(Protocol):
    name: str
    sample_rate: int
    voices: list[str]
    default_voice: str

    def synthesize(self, text: str, voice: str | None, cancel: threading.Event,
                   speed: float = 1.0) -> Iterator[np.ndarray]:
        """Yield int16 mono PCM chunks at `sample_rate` as they are made; `speed` is the
        speaking rate (the Realtime API's 0.25–1.5, 1 = the voice's own)."""
        ...
