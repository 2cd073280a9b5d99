"""What answers a session, behind one interface: the local session state machine over a
brain (the cascade), or a relay to an upstream Realtime API. The runner opens a
`Driver` for each session and feeds it; it never asks which kind it has."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from vivavoce.brains.base import Brain
from vivavoce.brains.relay import Relay, RelayConnection
from vivavoce.brains.relay_bridge import RelayBridge
from vivavoce.engines.base import VAD
from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime.driver import SessionDriver
from vivavoce.runtime.live import LiveSession
from vivavoce.runtime.setup import Opening
from vivavoce.session.session import Session
from vivavoce.tools import ToolRegistry
from vivavoce.types import Event, Played


class Driver(Protocol):
    """One session's conversation on asyncio, fed by the runner."""

    async def start(self) -> None: ...

    async def greet(self, text: str) -> None:
        """Say `text` first, as the assistant, before the client says anything."""

    async def handle(self, event: Event) -> None:
        """A client event (GA)."""

    async def audio(self, pcm: np.ndarray) -> None:
        """Client audio that came as audio (int16, 24 kHz)."""

    async def reject(self, err: ProtocolError, client_event_id: str | None = None) -> None:
        """A problem with what the client sent, found before it became an event (or
        while it was handed over)."""

    async def played(self, report: Played) -> None:
        """What a transport that plays the audio itself has played."""

    async def ended(self) -> str | None:
        """Returns when the driver ends the session itself, with the reason."""

    def user_audio(self, item_id: str) -> np.ndarray | None:
        """The user's audio of an item (int16, 24 kHz) as the session committed it; None
        if it keeps none (a relay's upstream commits the audio)."""

    async def close(self) -> None: ...


class Backend(Protocol):
    tools: ToolRegistry  # the server tools its sessions may offer
    voices: list[str]

    def open(self, opening: Opening, live: LiveSession) -> Driver: ...


class SessionBackend:
    """The local session state machine over a brain."""

    def __init__(self, brain: Brain, vad: VAD | None, tools: ToolRegistry,
                 speculative_stt: bool = True) -> None:
        self.brain = brain
        self.vad = vad
        self.tools = tools
        self.voices = list(brain.voices)
        self.speculative_stt = speculative_stt

    def open(self, opening: Opening, live: LiveSession) -> SessionDriver:
        session = Session(session_id=opening.session_id, model=opening.model, vad=self.vad,
                          config=opening.config(), server_tools=opening.server_tools,
                          private_instructions=opening.private_instructions(),
                          speculative_stt=self.speculative_stt,
                          server_playback=opening.context.server_playback)
        session.restore(opening.items)
        return SessionDriver(session, self.brain, live.publish, tools=self.tools,
                             tool_context=opening.tools, fillers=opening.persona.filler)


class RelayBackend:
    """Each session bridged to a session of an upstream Realtime API."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.tools = relay.tools
        self.voices = list(relay.voices)

    def open(self, opening: Opening, live: LiveSession) -> RelayConnection:
        bridge = RelayBridge(log=live.log, server_tools=opening.server_tools,
                             session=opening.upstream_session(), usage_cap=self.relay.usage_cap,
                             server_playback=opening.context.server_playback)
        return RelayConnection(self.relay, bridge, live.publish, opening.tools)


def backend_for(brain: Brain | Relay, vad: VAD | None, tools: ToolRegistry,
                speculative_stt: bool = True) -> Backend:
    """The one place that tells a relay from a brain: when the server is built."""
    if isinstance(brain, Relay):
        return RelayBackend(brain)
    return SessionBackend(brain, vad, tools, speculative_stt)
