"""What a server event may leave out when it does not fit the client's messages.

A WebRTC data channel carries at most the peer's SCTP max-message-size per message
(Chromium: 256 KiB), and the official SDKs do not reassemble fragments, so an event
must fit on its own. The only part of an event the client can do without is inline
audio: `conversation.item.retrieved` carries the user's audio as base64 (~64 KiB a
second of 24 kHz PCM16), and that audio is the client's own microphone, which it has
already. Everything else an event holds is text the client needs (instructions, tool
schemas, transcripts); an event that does not fit even without audio is not sent and
the client is told so (runtime/outbound).
"""

from __future__ import annotations

import copy

from vivavoce.types import Event


def without_audio(event: Event) -> Event | None:
    """A copy of `event` whose item carries no inline audio (transcripts kept); None if
    it carries none."""
    parts = (event.get("item") or {}).get("content") or []
    if not any(isinstance(part, dict) and part.get("audio") for part in parts):
        return None
    lighter = copy.deepcopy(event)
    for part in lighter["item"]["content"]:
        if isinstance(part, dict):
            part.pop("audio", None)
    return lighter
