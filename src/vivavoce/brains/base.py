"""The brain interface the session driver talks to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vivavoce.engines.base import TextDelta, ToolCall, ToolCallStarted, Usage
from vivavoce.types import ResponseRequest


@dataclass
class AudioOut:
    """Assistant speech, int16 at 24 kHz; `text` is what this chunk starts saying."""

    pcm: np.ndarray
    text: str


@dataclass
class Mark:
    """A moment inside the brain worth timing (e.g. "llm_first_token")."""

    name: str


BrainOutput = AudioOut | TextDelta | ToolCallStarted | ToolCall | Usage | Mark


class Brain(Protocol):
    voices: list[str]

    async def transcribe(self, audio: np.ndarray, language: str | None,
                         prompt: str | None) -> str:
        """Transcribe int16 24 kHz audio of one user turn."""
        ...

    async def prefill(self, request: ResponseRequest) -> None:
        """Warm up for a response whose context starts like `request`'s (e.g. the user
        is still speaking and this is what they have said so far)."""
        ...

    async def end_of_turn(self, said: str, context: ResponseRequest) -> float:
        """How likely the user is done, having said `said` so far; `context` is the reply's
        request without those words. Never makes a response wait."""
        ...

    def respond(self, request: ResponseRequest) -> AsyncIterator[BrainOutput]:
        """Stream one response; closing the iterator cancels the work behind it."""
        ...

    def speak(self, text: str, voice: str, speed: float = 1.0) -> AsyncIterator[AudioOut]:
        """Say a fixed line (e.g. a filler while a tool runs)."""
        ...
