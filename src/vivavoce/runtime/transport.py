"""What a transport hands the runner: a client's events and audio in, the server's out.

A transport (the Realtime WebSocket, WebRTC calls and their sideband, phone media
streams) translates its wire into these and back, and knows nothing of
sessions or brains: `Runner.serve` connects it to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vivavoce.types import ClientInput, Event


class Transport(Protocol):
    async def receive(self) -> ClientInput | None:
        """The client's next input; None once it has gone."""
        ...

    async def send(self, event: Event) -> None:
        """One server event, GA form (the transport translates to its dialect)."""
        ...


@runtime_checkable
class AudioPlayer(Protocol):
    """A transport that plays the assistant's audio itself (RTP, a phone line): it gets
    the audio as int16 24 kHz PCM instead of `response.output_audio.delta` events."""

    async def play(self, response_id: str, item_id: str, pcm: np.ndarray) -> None: ...


@dataclass(frozen=True)
class Context:
    """What a transport learned about its client before the session opens."""

    persona: str | None = None  # a persona asked for by name (None: the server's default)
    model: str | None = None  # the model name to report (None: the server's)
    session: dict[str, Any] | None = None  # settings to start with (a client secret's)
    extensions: bool = False  # wants vivavoce's own events (turn spans)
    greeting: bool = False  # the persona greets first, before the client says anything
    tools: tuple[str, ...] = ()  # server tools offered beside the persona's (a phone's end_call)
    resume: str | None = None  # the id of a stored session to continue (`?resume=`)
    # A client secret minted for a new session names its id and resume token (hashed).
    session_id: str | None = None
    resume_token_hash: str | None = None
    owner: str = "open"  # who opened it: "api_key", "client_secret" or "open"
    server_playback: bool = False  # the transport plays the audio (set by the runner)
