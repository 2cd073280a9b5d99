"""Twilio Media Streams messages, sans-I/O: what Twilio sends, parsed and checked, and
the three messages a bidirectional stream may send back (`media`, `mark`, `clear`).

Twilio sends `connected`, then `start` (the stream's and the call's ids, the TwiML
`<Parameter>`s, the audio format), then `media` every 20 ms (base64 μ-law, 8 kHz),
`dtmf` for key presses, `mark` when the audio sent before one of ours has played (or
was dropped by a `clear`), and `stop` when the call ends.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

# The only format a bidirectional stream carries.
ENCODING = "audio/x-mulaw"
RATE = 8000
FRAME_BYTES = 160  # 20 ms of μ-law at 8 kHz


@dataclass(frozen=True)
class Connected:
    pass


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    parameters: dict[str, str] = field(default_factory=dict)  # the TwiML <Parameter>s


@dataclass(frozen=True)
class Media:
    payload: bytes  # μ-law, 8 kHz


@dataclass(frozen=True)
class MarkPlayed:
    name: str


@dataclass(frozen=True)
class Digit:
    digit: str  # 0-9, *, #


@dataclass(frozen=True)
class Stop:
    pass


Message = Connected | Start | Media | MarkPlayed | Digit | Stop


class BadMessage(ValueError):
    """A message that cannot be used; the reason is fit for the log."""


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadMessage(f"'{name}' is missing or not an object")
    return value


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadMessage(f"'{name}' is missing or not a string")
    return value


def parse(text: str | bytes, stream_sid: str | None) -> Message:
    """One message from Twilio. `stream_sid`: the stream's id once `start` has come (every
    later message must carry it). Raises BadMessage."""
    if not isinstance(text, str):
        raise BadMessage("a binary frame (Twilio sends JSON text)")
    try:
        message = json.loads(text)
    except ValueError:
        raise BadMessage("not JSON") from None
    message = _object(message, "message")
    event = message.get("event")
    if event == "connected":
        return Connected()
    if event == "start":
        start = _object(message.get("start"), "start")
        media_format = start.get("mediaFormat") or {}
        encoding, rate = media_format.get("encoding"), media_format.get("sampleRate")
        if (encoding, rate) != (ENCODING, RATE) and media_format:
            raise BadMessage(f"unsupported media format {encoding} at {rate} Hz")
        parameters = start.get("customParameters") or {}
        return Start(_string(start.get("streamSid") or message.get("streamSid"), "streamSid"),
                     _string(start.get("callSid"), "start.callSid"),
                     {str(k): str(v) for k, v in _object(parameters, "customParameters").items()})
    if event not in ("media", "mark", "dtmf", "stop"):
        raise BadMessage(f"unknown event {event!r}")
    if stream_sid is None:
        raise BadMessage(f"'{event}' before 'start'")
    if message.get("streamSid") != stream_sid:
        raise BadMessage(f"'{event}' for another stream ({message.get('streamSid')!r})")
    if event == "media":
        media = _object(message.get("media"), "media")
        if media.get("track", "inbound") != "inbound":
            raise BadMessage(f"media of the {media.get('track')!r} track")
        try:
            payload = base64.b64decode(_string(media.get("payload"), "media.payload"),
                                       validate=True)
        except binascii.Error:
            raise BadMessage("media.payload is not base64") from None
        return Media(payload)
    if event == "mark":
        return MarkPlayed(_string(_object(message.get("mark"), "mark").get("name"), "mark.name"))
    if event == "dtmf":
        digit = _string(_object(message.get("dtmf"), "dtmf").get("digit"), "dtmf.digit")
        if digit not in "0123456789*#" or len(digit) != 1:
            raise BadMessage(f"unknown key {digit!r}")
        return Digit(digit)
    return Stop()


def media(stream_sid: str, payload: bytes) -> str:
    return json.dumps({"event": "media", "streamSid": stream_sid,
                       "media": {"payload": base64.b64encode(payload).decode()}})


def mark(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear(stream_sid: str) -> str:
    return json.dumps({"event": "clear", "streamSid": stream_sid})
