"""Identifiers in the hosted API's style: a prefix and random base62."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 20) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def event_id() -> str:
    return new_id("event_")


def item_id() -> str:
    return new_id("item_")


def response_id() -> str:
    return new_id("resp_")


def call_id() -> str:
    return new_id("call_")
