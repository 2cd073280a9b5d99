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

from vivavoce.audio.formats import FORMATS, WireFormat
from vivavoce.protocol.errors import ProtocolError
from vivavoce.types import Event, Played

Emit = Callable[..., Any]  # emit(type, **fields): a server event for the client

# Audio in a wire format other than PCM 24 kHz comes back from the transport's decoder
# a few resampler taps short: played that close to the end counts as all of it.
DRAINED_SLACK = 1200  # samples (50 ms)


class ResponseFormats:
    """The wire format of each response's audio, from its `response.created` (a relayed
    upstream may leave it out: then it is the default) to its `response.done`."""

    def __init__(self) -> None:
        self._formats: dict[str, WireFormat] = {}

    def follow(self, event: Event) -> None:
        response = event.get("response") or {}
        if event.get("type") == "response.created":
            output = (response.get("audio") or {}).get("output") or {}
            self._formats[response.get("id", "")] = FORMATS.get(
                (output.get("format") or {}).get("type", ""), FORMATS["audio/pcm"])
        elif event.get("type") == "response.done":
            self._formats.pop(response.get("id", ""), None)

    def of(self, response_id: str) -> WireFormat:
        return self._formats.get(response_id, FORMATS["audio/pcm"])


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

    def clear_for_client(self, active: str | None, cancel: Callable[[str], Any]) -> list[str]:
        """A client's `output_audio_buffer.clear`: `cancel` the response being made, drop
        what is unplayed (a `cleared` for the active response even when none of its audio
        was made yet); the ids of the responses whose audio was dropped. Raises when
        there is nothing to clear."""
        if active is None and not self.holding:
            raise nothing_to_clear()
        if active is not None:
            cancel(active)
        cleared = self.clear()
        if not cleared:
            self._emit("output_audio_buffer.cleared", response_id=active)
        return cleared

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
