"""What the session asks its runner to do (the sans-I/O session's outputs besides events)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


@dataclass
class ResponseRequest:
    """Everything a brain needs to produce one response."""

    response_id: str
    instructions: str
    items: list[dict[str, Any]]  # context, GA conversation items in order
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    modalities: list[str] = field(default_factory=lambda: ["audio"])
    voice: str = "alloy"
    speed: float = 1.0
    temperature: float = 0.8
    max_output_tokens: int | None = None
    # Server-side instructions clients never see (e.g. the escape room's code).
    private_instructions: str = ""

    def same_as(self, other: ResponseRequest) -> bool:
        """Whether `other` asks for exactly this response; ids only name, so they may differ."""
        return _unnamed(self) == _unnamed(other)


def _unnamed(request: ResponseRequest) -> ResponseRequest:
    items = [{k: v for k, v in item.items() if k != "id"} for item in request.items]
    return replace(request, response_id="", items=items)


@dataclass
class Transcribe:
    item_id: str
    audio: np.ndarray  # int16, 24 kHz
    language: str | None = None
    prompt: str | None = None


@dataclass
class Respond:
    request: ResponseRequest


@dataclass
class Prepare:
    """The user has paused and may be done: start the response they would get, but hold
    its output until a Respond with the same response_id (or drop it on Cancel)."""

    request: ResponseRequest


@dataclass
class Prefill:
    """A response may come whose context starts like this one's: warm up for it."""

    request: ResponseRequest


@dataclass
class Cancel:
    response_id: str


@dataclass
class RunTool:
    """Run a server tool the model called; answer with Session.tool_result."""

    response_id: str
    call_id: str
    name: str
    arguments: str


@dataclass
class CancelTool:
    call_id: str


Command = Transcribe | Respond | Prepare | Prefill | Cancel | RunTool | CancelTool
