"""Strict validation of server events against the openai package's own types."""

from __future__ import annotations

from typing import Any

from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

_GA = TypeAdapter(RealtimeServerEvent)
_BETA = TypeAdapter(BetaServerEvent)


def validate_ga(event: dict[str, Any]) -> Any:
    """Raise unless `event` is a valid GA server event (no coercion)."""
    return _GA.validate_python(event, strict=True)


def validate_beta(event: dict[str, Any]) -> Any:
    return _BETA.validate_python(event, strict=True)
