"""A stored session as one JSON document: for `GET /v1/sessions/<id>` and
`vivavoce sessions export`."""

from __future__ import annotations

from typing import Any

from vivavoce.store.base import SessionRecord, Store
from vivavoce.types import Usage


def describe(record: SessionRecord, usage: list[dict[str, Any]]) -> dict[str, Any]:
    """The session, its config and its usage: per response and summed."""
    total = Usage()
    for use in usage:
        total.add(Usage.from_wire(use["usage"]))
    return {**record.summary(), "config": record.config, "usage": total.wire(),
            "responses": usage}


async def export(store: Store, session_id: str) -> dict[str, Any] | None:
    record = await store.session(session_id)
    if record is None:
        return None
    usage = [{"response_id": u.response_id, "status": u.status, "usage": u.usage}
             for u in await store.usage(session_id)]
    return {**describe(record, usage), "items": await store.items(session_id)}
