"""The ordered conversation: items with ids, inserted after a given item."""

from __future__ import annotations

from collections.abc import Iterator

from vivavoce.protocol.errors import ProtocolError
from vivavoce.types import Item


class Conversation:
    def __init__(self, conversation_id: str) -> None:
        self.id = conversation_id
        self._items: list[Item] = []

    def __iter__(self) -> Iterator[Item]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def get(self, item_id: str, param: str = "item_id") -> Item:
        for item in self._items:
            if item["id"] == item_id:
                return item
        raise ProtocolError("item_not_found", f"Item with id '{item_id}' not found.", param)

    def has(self, item_id: str) -> bool:
        return any(item["id"] == item_id for item in self._items)

    def last_id(self) -> str | None:
        return self._items[-1]["id"] if self._items else None

    def previous_id(self, item_id: str) -> str | None:
        for index, item in enumerate(self._items):
            if item["id"] == item_id:
                return self._items[index - 1]["id"] if index else None
        return None

    def insert(self, item: Item, previous_item_id: str | None = None) -> str | None:
        """Append, or insert after `previous_item_id` ("root" = at the start).

        Returns the id of the item now before it.
        """
        if self.has(item["id"]):
            raise ProtocolError("duplicate_item_id",
                                f"Item with id '{item['id']}' already exists.", "item.id")
        if previous_item_id is None:
            previous = self.last_id()
            self._items.append(item)
            return previous
        if previous_item_id == "root":
            self._items.insert(0, item)
            return None
        self.get(previous_item_id, "previous_item_id")
        index = next(i for i, it in enumerate(self._items) if it["id"] == previous_item_id)
        self._items.insert(index + 1, item)
        return previous_item_id

    def delete(self, item_id: str) -> None:
        self._items.remove(self.get(item_id))
