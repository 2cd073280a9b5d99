"""Client-facing errors: raised while handling an event, sent as `error` events."""

from __future__ import annotations

from typing import Any


class ProtocolError(Exception):
    """A client event could not be honoured; the session carries on."""

    def __init__(self, code: str, message: str, param: str | None = None,
                 type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.type = type

    def to_error(self, client_event_id: str | None) -> dict[str, Any]:
        """The `error` object of an `error` server event."""
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id,
        }
