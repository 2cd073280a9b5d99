"""What a session's next write must change, given what the store already holds. Pure.

Items are written one row each, with their position in the conversation: an item
added at the end is one row; a change of transcript rewrites that row; an item
inserted or deleted in the middle renumbers those after it.
"""

from __future__ import annotations

import json

from vivavoce.types import Item


def _body(item: Item) -> str:
    return json.dumps(item, sort_keys=True, separators=(",", ":"))


class SavedItems:
    def __init__(self, items: list[Item] | None = None) -> None:
        # item id → (position, body) as the store holds it
        self._saved: dict[str, tuple[int, str]] = {
            item["id"]: (position, _body(item)) for position, item in enumerate(items or [])}

    def changes(self, items: list[Item]) -> tuple[list[tuple[int, Item]], list[str]]:
        """(rows to write as (position, item), ids to delete) to make the store hold `items`."""
        upserts = [(position, item) for position, item in enumerate(items)
                   if self._saved.get(item["id"]) != (position, _body(item))]
        wanted = {item["id"] for item in items}
        deletes = [item_id for item_id in self._saved if item_id not in wanted]
        return upserts, deletes

    def saved(self, upserts: list[tuple[int, Item]], deletes: list[str]) -> None:
        """Those changes are in the store now."""
        for item_id in deletes:
            self._saved.pop(item_id, None)
        for position, item in upserts:
            self._saved[item["id"]] = (position, _body(item))
