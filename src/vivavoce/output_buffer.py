"""The assistant audio a transport plays itself (WebRTC), as the conversation's owner
sees it, sans-I/O: the local session, or the relay for its upstream's answers.

The owner knows how much audio each response made; the transport reports how much it
has played (`Played`). From the two come the WebRTC-only events: `output_audio_buffer.
started` when a response's first frame plays, `stopped` once all of a finished response
has played, and `cleared` when what is still unplayed is dropped (barge-in, or the
client's `output_audio_buffer.clear`). The transport flushes on `cleared` and reports
how much of the item was heard; the owner truncates the item to that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vivavoce.protocol.errors import ProtocolError
from vivavoce.types import Event, Played

Emit = Callable[..., Any]  # emit(type, **fields): a server event for the client

# Audio in a wire format other than PCM 24 kHz comes back from the transport's decoder
# a few resampler taps short: played that close to the end counts as all of it.
DRAINED_SLACK = 1200  # samples (50 ms)


def response_format(event: Event) -> str:
    """The audio format of the response a `response.created` announces (a relayed
    upstream may leave it out: then it is the default)."""
    output = ((event.get("response") or {}).get("audio") or {}).get("output") or {}
    return (output.get("format") or {}).get("type", "audio/pcm")


def nothing_to_clear() -> ProtocolError:
    """A client's `output_audio_buffer.clear` with no assistant audio made or playing."""
    return ProtocolError("output_audio_buffer_not_active",
                         "There is no assistant audio being produced or played to clear.")


class OutputBuffer:
    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        # Responses with audio that may still be unplayed: samples made, and played.
        self._made: dict[str, int] = {}
        self._played: dict[str, int] = {}
        self._started: set[str] = set()
        self._finished: set[str] = set()

    @property
    def holding(self) -> list[str]:
        """Responses whose audio is playing or waiting to, oldest first."""
        return list(self._made)

    def made(self, response_id: str, samples: int) -> None:
        self._made[response_id] = self._made.get(response_id, 0) + samples

    def finished(self, response_id: str) -> None:
        """The response is done: no more audio for it will come."""
        if response_id in self._made:
            self._finished.add(response_id)
            self._stop_if_drained(response_id)

    def played(self, report: Played) -> bool:
        """A report of the transport's progress; True when it is the response's first."""
        rid = report.response_id
        if rid not in self._made:
            return False  # cleared or stopped already
        self._played[rid] = max(self._played.get(rid, 0), report.response_samples)
        first = rid not in self._started
        if first:
            self._started.add(rid)
            self._emit("output_audio_buffer.started", response_id=rid)
        if report.state == "drained":
            self._stop_if_drained(rid)
        return first

    def clear(self) -> list[str]:
        """Drop every response's unplayed audio (one `cleared` each); the ids."""
        cleared = self.holding
        for rid in cleared:
            self._forget(rid)
            self._emit("output_audio_buffer.cleared", response_id=rid)
        return cleared

    def _stop_if_drained(self, rid: str) -> None:
        if rid in self._finished and rid in self._started \
                and self._played.get(rid, 0) >= self._made[rid] - DRAINED_SLACK:
            self._forget(rid)
            self._emit("output_audio_buffer.stopped", response_id=rid)

    def _forget(self, rid: str) -> None:
        self._made.pop(rid, None)
        self._played.pop(rid, None)
        self._started.discard(rid)
        self._finished.discard(rid)
