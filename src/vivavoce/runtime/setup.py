"""How a session starts, in one place: its persona, tools, instructions and, for the
Enigma, the escape room. Transports only say what the client asked for (`Context`)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from vivavoce.brains.relay_bridge import SESSION_KEYS
from vivavoce.personas import Persona, get_persona
from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime.transport import Context
from vivavoce.session.config import SessionConfig, apply_update
from vivavoce.settings import Settings
from vivavoce.store import SessionRecord
from vivavoce.tools import ToolContext, ToolRegistry
from vivavoce.tools.escape_room import escape_room_hints, new_escape_room
from vivavoce.types import Item


def persona_session(settings: Settings, persona: Persona) -> SessionConfig:
    """The session a connection starts with: the persona, unless settings override it."""
    config = SessionConfig(model=settings.model,
                           instructions=settings.instructions or persona.instructions)
    return apply_update(config, {"audio": {"output": {"voice": settings.voice or persona.voice}}})


@dataclass
class Opening:
    """Everything a new session starts with."""

    session_id: str
    settings: Settings
    context: Context
    persona: Persona
    # An unknown persona was asked for (the default stands in): told to the client first.
    problem: ProtocolError | None
    server_tools: list[dict[str, Any]]  # schemas of the persona's tools this server runs
    # A resumed session: what the store kept of it, and its items in order.
    restored: SessionRecord | None = None
    items: list[Item] = field(default_factory=list)
    tools: ToolContext = field(init=False)  # per-session state the tools share

    def __post_init__(self) -> None:
        state = copy.deepcopy(self.restored.tool_state) if self.restored else {}
        self.tools = ToolContext(self.session_id, state)

    @property
    def model(self) -> str:
        if self.restored is not None:
            return self.restored.model
        return self.context.model or self.settings.model

    def config(self) -> SessionConfig:
        """The session config: the persona's, then the client secret's settings (a
        resumed session: as it was)."""
        if self.restored is not None:
            return apply_update(SessionConfig(), self.restored.config)
        config = persona_session(self.settings, self.persona)
        if self.context.session:
            config = apply_update(config, self.context.session)
        return config

    def private_instructions(self) -> str:
        """Instructions the model reads and clients never see. For a brain that keeps
        them private only: this locks the escape room behind a fresh code."""
        if "unlock_door" not in self.persona.tools:
            return ""
        if not self.tools.state:  # a resumed session keeps its door and code
            new_escape_room(self.tools.state)
        return escape_room_hints(self.tools.state)

    def upstream_session(self) -> dict[str, Any]:
        """What a relay sets on its upstream session: the persona's instructions (the
        voice only when asked for: voices differ between servers), then the client
        secret's settings (a resumed session: as the client last had them)."""
        if self.restored is not None:
            return {k: v for k, v in self.restored.config.items() if k in SESSION_KEYS}
        session: dict[str, Any] = {
            "instructions": self.settings.instructions or self.persona.instructions}
        if self.settings.voice:
            session["audio"] = {"output": {"voice": self.settings.voice}}
        if self.context.session:
            session.update({k: v for k, v in self.context.session.items() if k != "type"})
        return session


def open_session(settings: Settings, tools: ToolRegistry, context: Context,
                 session_id: str | None = None) -> Opening:
    name = context.persona or settings.persona
    problem = None
    try:
        persona = get_persona(name)
    except KeyError as exc:
        persona = get_persona(settings.persona)
        problem = ProtocolError("invalid_value", f"{exc.args[0]} Using '{settings.persona}'.",
                                "persona")
    return Opening(session_id or ids.new_id("sess_"), settings, context, persona, problem,
                   _server_tools(tools, persona, context))


def _server_tools(tools: ToolRegistry, persona: Persona,
                  context: Context) -> list[dict[str, Any]]:
    offered = dict.fromkeys((*persona.tools, *context.tools))
    return tools.schemas(n for n in offered if n in tools)


def resumed_session(settings: Settings, tools: ToolRegistry, context: Context,
                    record: SessionRecord, items: list[Item]) -> Opening:
    """A stored session opening again on a new connection: its id, persona, config,
    tool state and items as they were."""
    persona = get_persona(record.persona)
    return Opening(record.id, settings, context, persona, None,
                   _server_tools(tools, persona, context), restored=record, items=items)
