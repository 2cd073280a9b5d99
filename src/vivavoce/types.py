"""Shapes every package shares, defined once (like Starlette's `types.py`).

No logic beyond plain conversions: session, brains, store, runtime and transports all
import from here, and this module imports nothing of theirs, so the packages depend
one way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from vivavoce.protocol.errors import ProtocolError

# A Realtime event (client or server) in its JSON shape, GA dialect.
Event = dict[str, Any]
# A conversation item in its GA wire shape (`realtime.item`).
Item = dict[str, Any]


@dataclass
class InputAudio:
    """Caller audio that arrived as audio, not as JSON (RTP, a phone line): int16, 24 kHz."""

    pcm: np.ndarray


@dataclass(frozen=True)
class Played:
    """What a transport that plays the assistant's audio itself (WebRTC) reports: how much
    of a response it has played, as it starts, when its queue runs dry, or when it was
    cut (`output_audio_buffer.cleared`: `item_samples` is all of the item that was heard).
    Counts are samples at 24 kHz."""

    state: Literal["playing", "drained", "cleared"]
    response_id: str
    item_id: str
    item_samples: int  # of `item_id`'s audio, played
    response_samples: int  # of the whole response's audio, played


# What a client sends: an event in GA form, a problem with what it sent, audio, or
# (from a transport that plays the audio itself) what it played.
ClientInput = Event | ProtocolError | InputAudio | Played
# Hands one server event to whoever listens (a transport, a relay's client side).
Send = Callable[[Event], Awaitable[None]]
# The client's next input; None once it has gone.
Receive = Callable[[], Awaitable[ClientInput | None]]


class Ending(str):
    """Why the server ends a session (the close reason a client reads), with the WebSocket
    close code that says what kind of reason it is. A plain str reason is a normal close."""

    NORMAL, POLICY, INTERNAL, TRY_AGAIN = 1000, 1008, 1011, 1013
    code: int

    def __new__(cls, reason: str, code: int = NORMAL) -> Ending:
        ending = super().__new__(cls, reason)
        ending.code = code
        return ending


def close_code(reason: str) -> int:
    """The close code for a session the server ended with `reason`."""
    return reason.code if isinstance(reason, Ending) else Ending.NORMAL


@dataclass
class ResponseRequest:
    """Everything a brain needs to produce one response."""

    response_id: str
    instructions: str
    items: list[Item]  # context, GA conversation items in order
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    modalities: list[str] = field(default_factory=lambda: ["audio"])
    voice: str = "alloy"
    speed: float = 1.0
    temperature: float = 0.8
    max_output_tokens: int | None = None
    # Server-side instructions clients never see (e.g. the escape room's code).
    private_instructions: str = ""
    # A fixed line to say instead of the model's answer (a phone call's greeting).
    say: str | None = None

    def same_as(self, other: ResponseRequest) -> bool:
        """Whether `other` asks for exactly this response; ids only name, so they may differ."""
        return _unnamed(self) == _unnamed(other)


def _unnamed(request: ResponseRequest) -> ResponseRequest:
    items = [{k: v for k, v in item.items() if k != "id"} for item in request.items]
    return replace(request, response_id="", items=items)


@dataclass
class Usage:
    """Token counts in the wire's terms: of one response, or summed over a session.

    `input_tokens` and `output_tokens` include the audio tokens counted beside them.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @classmethod
    def from_wire(cls, usage: dict[str, Any]) -> Usage:
        """A `response.done` usage object."""
        given = usage.get("input_token_details") or {}
        taken = usage.get("output_token_details") or {}
        return cls(input_tokens=usage.get("input_tokens") or 0,
                   output_tokens=usage.get("output_tokens") or 0,
                   cached_tokens=given.get("cached_tokens") or 0,
                   input_audio_tokens=given.get("audio_tokens") or 0,
                   output_audio_tokens=taken.get("audio_tokens") or 0)

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_tokens += other.cached_tokens
        self.input_audio_tokens += other.input_audio_tokens
        self.output_audio_tokens += other.output_audio_tokens

    def wire(self) -> dict[str, Any]:
        """The `usage` object of a `response.done`."""
        return {
            "total_tokens": self.total_tokens,
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "input_token_details": {"text_tokens": self.input_tokens - self.input_audio_tokens,
                                    "audio_tokens": self.input_audio_tokens,
                                    "cached_tokens": self.cached_tokens},
            "output_token_details": {"text_tokens": self.output_tokens - self.output_audio_tokens,
                                     "audio_tokens": self.output_audio_tokens},
        }
