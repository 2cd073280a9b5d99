"""Key presses (DTMF) as words the model reads, sans-I/O: digits gather into one
sequence until `#` or a pause ends it ("The caller pressed 4 8 2 9"), so a door code can
be typed on a phone's keypad."""

from __future__ import annotations

# A sequence ends when no key comes for this long.
PAUSE_S = 2.0
_SAID = {"*": "star"}


class Keypad:
    def __init__(self, pause_s: float = PAUSE_S) -> None:
        self.pause_s = pause_s
        self._keys: list[str] = []
        self._last = 0.0

    @property
    def due(self) -> float | None:
        """When the sequence being typed ends unless another key comes (None: none is)."""
        return self._last + self.pause_s if self._keys else None

    def press(self, key: str, now: float) -> str | None:
        """One key; the sequence's words when this key ends it (`#`)."""
        if key == "#":
            return self._end()
        self._keys.append(_SAID.get(key, key))
        self._last = now
        return None

    def tick(self, now: float) -> str | None:
        """The sequence's words once its pause has passed."""
        due = self.due
        return self._end() if due is not None and now >= due else None

    def _end(self) -> str | None:
        keys, self._keys = self._keys, []
        return f"The caller pressed {' '.join(keys)}" if keys else None
