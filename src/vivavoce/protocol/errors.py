"""Client-facing errors: raised while handling an event, sent as `error` events."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from vivavoce.protocol import ids

log = logging.getLogger(__name__)


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


# Deeper than any event the protocol defines (a tool's JSON schema included); deeper
# input is refused before anything walks it.
MAX_DEPTH = 32


def check_depth(event: dict[str, Any]) -> None:
    """Refuse arrays and objects nested deeper than MAX_DEPTH (walked without recursion)."""
    level: list[Any] = [event]
    for _ in range(MAX_DEPTH):
        level = [child for node in level
                 for child in (node.values() if isinstance(node, dict) else
                               node if isinstance(node, list) else ())]
        if not level:
            return
    raise ProtocolError("invalid_value", f"The event nests arrays or objects deeper than "
                        f"{MAX_DEPTH} levels.")


def _not_json(constant: str) -> Any:
    # Python's parser takes NaN and Infinity; JSON has no such numbers.
    raise ValueError(f"{constant} is not a JSON value")


def server_error(what: str, exc: BaseException | None = None) -> ProtocolError:
    """The last line of defence, for an unexpected exception (`exc`, else the one being
    handled). It is logged once, with its traceback and `what` was being done (an event
    type, never the event: no audio, no keys), and becomes the one error the client is
    told."""
    log.error("unexpected error in %s; the session goes on", what, exc_info=exc or True)
    return ProtocolError("server_error", f"The server failed while handling {what}; the "
                         "session goes on.", type="server_error")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} is too large a number")
    return number


def parse_event(raw: str | bytes) -> dict[str, Any]:
    """A client event from its JSON text."""
    try:
        event = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("invalid_json", f"The message is not valid JSON: {exc}.") from None
    except RecursionError:  # deeper than the parser goes: no event nests like that
        raise ProtocolError("invalid_json", "The message nests arrays or objects too deeply.") \
            from None
    if not isinstance(event, dict):
        raise ProtocolError("invalid_json", "A client event must be a JSON object.")
    check_depth(event)
    return event
