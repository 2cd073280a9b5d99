"""What a session has to say and to ask since the runner last looked, and when."""

from __future__ import annotations

from typing import Any

from vivavoce.protocol import ids
from vivavoce.session.commands import Command
from vivavoce.types import Event


class Outbox:
    """Server events and runner commands, in order; shared by the session's parts.

    `now` is the caller's clock at the input being handled: the session has none.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._events: list[Event] = []
        self._commands: list[Command] = []

    def emit(self, type_: str, **fields: Any) -> Event:
        event = {"type": type_, "event_id": ids.event_id(), **fields}
        self._events.append(event)
        return event

    def ask(self, command: Command) -> None:
        self._commands.append(command)

    def drain(self) -> tuple[list[Event], list[Command]]:
        events, commands = self._events, self._commands
        self._events, self._commands = [], []
        return events, commands
