"""The calls this server holds, by call id: what the sideband looks a call up in and what
hangup ends. A small interface, so a shared store can stand behind it when several
instances split the calls."""

from __future__ import annotations

from typing import Protocol

from vivavoce.transports.webrtc.call import WebRTCCall


class CallRegistry(Protocol):
    def add(self, call: WebRTCCall) -> None: ...

    def get(self, call_id: str) -> WebRTCCall | None: ...

    def remove(self, call_id: str) -> None: ...

    def __len__(self) -> int: ...


class LiveCalls:
    """The calls of this process, in memory."""

    def __init__(self) -> None:
        self._calls: dict[str, WebRTCCall] = {}

    def add(self, call: WebRTCCall) -> None:
        self._calls[call.id] = call

    def get(self, call_id: str) -> WebRTCCall | None:
        return self._calls.get(call_id)

    def remove(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def __len__(self) -> int:
        return len(self._calls)
