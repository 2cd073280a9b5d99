"""How a session starts, in one place: its persona, tools, instructions and, for the
Enigma, the escape room. Transports only say what the client asked for (`Context`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vivavoce.personas import Persona, get_persona
from vivavoce.protocol import ids
from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime.transport import Context
from vivavoce.session.config import SessionConfig, apply_update
from vivavoce.settings import Settings
from vivavoce.tools import ToolContext, ToolRegistry
from vivavoce.tools.escape_room import escape_room_hints, new_escape_room


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
    tools: ToolContext = field(init=False)  # per-session state the tools share

    def __post_init__(self) -> None:
        self.tools = ToolContext(self.session_id)

    @property
    def model(self) -> str:
        return self.context.model or self.settings.model

    def config(self) -> SessionConfig:
        """The session config: the persona's, then the client secret's settings."""
        config = persona_session(self.settings, self.persona)
        if self.context.session:
            config = apply_update(config, self.context.session)
        return config

    def private_instructions(self) -> str:
        """Instructions the model reads and clients never see. For a brain that keeps
        them private only: this locks the escape room behind a fresh code."""
        if "unlock_door" not in self.persona.tools:
            return ""
        new_escape_room(self.tools.state)
        return escape_room_hints(self.tools.state)

    def upstream_session(self) -> dict[str, Any]:
        """What a relay sets on its upstream session: the persona's instructions (the
        voice only when asked for: voices differ between servers), then the client
        secret's settings."""
        session: dict[str, Any] = {
            "instructions": self.settings.instructions or self.persona.instructions}
        if self.settings.voice:
            session["audio"] = {"output": {"voice": self.settings.voice}}
        if self.context.session:
            session.update({k: v for k, v in self.context.session.items() if k != "type"})
        return session


def open_session(settings: Settings, tools: ToolRegistry, context: Context) -> Opening:
    name = context.persona or settings.persona
    problem = None
    try:
        persona = get_persona(name)
    except KeyError as exc:
        persona = get_persona(settings.persona)
        problem = ProtocolError("invalid_value", f"{exc.args[0]} Using '{settings.persona}'.",
                                "persona")
    offered = dict.fromkeys((*persona.tools, *context.tools))
    return Opening(ids.new_id("sess_"), settings, context, persona, problem,
                   tools.schemas(n for n in offered if n in tools))
