"""Client-facing errors: raised while handling an event, sent as `error` events."""

from __future__ import annotations

import json
from typing import Any

from vivavoce.protocol import ids


class ProtocolError(Exception):
    """A client event could not be honoured; the session carries on."""

    def __init__(self, code: str, message: str, param: str | None = None,
                 type: str = "invalid_request_error",
                 client_event_id: str | None = None) -> None:
        super().__init__(message)
        # The offending event's id, when it was known where the problem was found.
        self.client_event_id = client_event_id
        self.code = code
        self.message = message
        self.param = param
        self.type = type

    def to_error(self, client_event_id: str | None = None) -> dict[str, Any]:
        """The `error` object of an `error` server event."""
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id or self.client_event_id,
        }

    def to_event(self, client_event_id: str | None = None) -> dict[str, Any]:
        """The whole `error` server event."""
        return {"type": "error", "event_id": ids.event_id(),
                "error": self.to_error(client_event_id)}


def parse_event(raw: str | bytes) -> dict[str, Any]:
    """A client event from its JSON text."""
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("invalid_json", f"The message is not valid JSON: {exc}.") from None
    if not isinstance(event, dict):
        raise ProtocolError("invalid_json", "A client event must be a JSON object.")
    return event
