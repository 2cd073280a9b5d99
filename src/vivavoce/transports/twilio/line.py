"""The assistant's side of a phone stream, sans-I/O: its voice as 20 ms μ-law frames,
and Twilio's marks as the proof of what the caller has heard.

The audio is queued and cut by the same `Playback` a WebRTC call uses (at 8 kHz here).
After the frames it sends, the line names a mark: which response and item, and how much
of them will have played once Twilio echoes it. The session is told what played only
from echoed marks (`Played` reports), so a cut truncates the item to what the caller
was proven to hear. `clear` makes Twilio drop its buffer and echo the marks still
pending at once: those prove nothing and are forgotten.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np

from vivavoce.audio import g711
from vivavoce.audio.formats import duration_ms
from vivavoce.runtime.playback import Playback
from vivavoce.transports.twilio.messages import FRAME_BYTES, RATE
from vivavoce.types import Played

# A mark at least this often (in frames of 20 ms): what truncation can resolve.
MARK_EVERY = 5


class PhoneLine:
    def __init__(self, mark_every: int = MARK_EVERY) -> None:
        self._playback = Playback(RATE, FRAME_BYTES)
        self._mark_every = mark_every
        self._names = itertools.count(1)
        self._pending: dict[str, Played] = {}  # marks sent, not echoed yet, in order
        self._heard: dict[str, int] = {}  # item → samples (24 kHz) proven played
        self._unmarked = 0  # frames sent since the last mark

    @property
    def idle(self) -> bool:
        """Nothing left to send."""
        return self._playback.idle

    @property
    def playing(self) -> bool:
        """Audio queued, or sent and not yet proven played."""
        return not self._playback.idle or bool(self._pending)

    def push(self, response_id: str, item_id: str, pcm: np.ndarray) -> None:
        """Assistant audio (int16, 24 kHz) to send after what is queued."""
        self._playback.push(response_id, item_id, pcm)

    def end_item(self, response_id: str, item_id: str) -> None:
        self._playback.end_item(response_id, item_id)

    def frame(self) -> tuple[bytes, list[str]]:
        """The next 20 ms of μ-law, and the names of the marks to send after it."""
        pcm, reports = self._playback.frame()
        self._unmarked += 1
        marks = [self._mark(r) for r in reports if r.state == "drained"]
        drained = {r.response_id for r in reports if r.state == "drained"}
        last = self._playback.last
        due = reports or self._unmarked >= self._mark_every or self._playback.idle
        if due and last is not None and last[0] not in drained:
            marks.append(self._mark(self._playback.report("playing", *last)))
        if marks:
            self._unmarked = 0
        return g711.ulaw_encode(pcm), marks

    def _mark(self, report: Played) -> str:
        name = f"{report.item_id}@{duration_ms(report.item_samples)}ms#{next(self._names)}"
        self._pending[name] = report
        return name

    def echoed(self, name: str) -> Played | None:
        """Twilio played the audio before mark `name`: the report for the session (None for
        a mark this line forgot: one it never sent, or pending when the line was cleared)."""
        if name not in self._pending:
            return None
        # Twilio echoes in order: a mark sent before this one that never came is moot.
        while (first := next(iter(self._pending))) != name:
            del self._pending[first]
        report = self._pending.pop(name)
        heard = self._heard.get(report.item_id, 0)
        self._heard[report.item_id] = max(heard, report.item_samples)
        return report

    def clear(self) -> Played | None:
        """Drop everything unsent and every pending mark; the report of the item cut,
        truncated to what its echoed marks prove (None if nothing was playing)."""
        cut = self._playback.clear()
        pending = list(self._pending.values())
        self._pending.clear()
        self._unmarked = 0
        if pending:  # the oldest audio not proven played is where the caller was
            cut = replace(pending[0], state="cleared")
        if cut is None:
            return None
        return replace(cut, item_samples=self._heard.get(cut.item_id, 0))
