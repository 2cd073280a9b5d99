"""How many sessions may be open at once: in all, and per credential.

A transport asks before it lets a client in (`Admission.admit`) and holds the ticket for
as long as the session lasts. Refused: `Busy`, which says how to refuse on each wire
(HTTP 503, or WebSocket close 1013 "try again later").
"""

from __future__ import annotations

import hashlib
from collections import Counter
from types import TracebackType

from vivavoce.types import Ending


class Busy(Exception):
    """No room for another session just now."""

    status = 503  # for an HTTP way in
    close_code = Ending.TRY_AGAIN  # for a WebSocket already accepted

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Ticket:
    """One admitted session's place; released once, when the session ends."""

    def __init__(self, admission: Admission, key: bytes | None) -> None:
        self._admission = admission
        self._key = key
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._admission._release(self._key)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


class Admission:
    def __init__(self, max_sessions: int | None, max_per_key: int | None = None) -> None:
        self.max_sessions = max_sessions
        self.max_per_key = max_per_key
        self.open = 0
        # Credentials are counted by digest: the admission never holds a key itself.
        self._per_key: Counter[bytes] = Counter()

    def admit(self, credential: str | None) -> Ticket:
        """A place for a session opened with `credential` (None: an open server's client,
        counted only in all), or Busy."""
        if self.max_sessions is not None and self.open >= self.max_sessions:
            raise Busy(f"server busy: {self.open} sessions open (--max-sessions "
                       f"{self.max_sessions}); try again later")
        key = hashlib.sha256(credential.encode()).digest() if credential is not None else None
        if key is not None and self.max_per_key is not None \
                and self._per_key[key] >= self.max_per_key:
            raise Busy(f"this key already has {self._per_key[key]} sessions open "
                       f"(--max-sessions-per-key {self.max_per_key}); try again later")
        self.open += 1
        if key is not None:
            self._per_key[key] += 1
        return Ticket(self, key)

    def _release(self, key: bytes | None) -> None:
        self.open -= 1
        if key is not None:
            self._per_key[key] -= 1
            if not self._per_key[key]:
                del self._per_key[key]
