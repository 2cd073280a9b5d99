"""A stored session as one JSON document: for `GET /v1/sessions/<id>` and
`vivavoce sessions export`."""

from __future__ import annotations

import base64
import copy
from typing import Any

from vivavoce.store.base import SessionRecord, Store
from vivavoce.types import Item, Usage

AUDIO_PARTS = ("input_audio", "output_audio")


def describe(record: SessionRecord, usage: list[dict[str, Any]]) -> dict[str, Any]:
    """The session, its config and its usage: per response and summed."""
    total = Usage()
    for use in usage:
        total.add(Usage.from_wire(use["usage"]))
    return {**record.summary(), "config": record.config, "usage": total.wire(),
            "responses": usage}


def with_audio(items: list[Item], audio: dict[str, bytes]) -> list[Item]:
    """The items with the audio kept of each (--store-audio) in its audio content part's
    `audio` field, as the protocol's items carry it: base64 PCM16 mono 24 kHz."""
    out = []
    for item in items:
        item = copy.deepcopy(item)
        part = next((p for p in item.get("content") or [] if p.get("type") in AUDIO_PARTS),
                    None)
        if part is not None and item["id"] in audio:
            part["audio"] = base64.b64encode(audio[item["id"]]).decode()
        out.append(item)
    return out


async def export(store: Store, session_id: str) -> dict[str, Any] | None:
    """The session, its usage and its items (with their audio, if it was kept)."""
    record = await store.session(session_id)
    if record is None:
        return None
    usage = [{"response_id": u.response_id, "status": u.status, "usage": u.usage}
             for u in await store.usage(session_id)]
    items = with_audio(await store.items(session_id), await store.item_audio(session_id))
    return {**describe(record, usage), "items": items}
