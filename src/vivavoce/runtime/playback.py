"""Server-owned playback, for a transport that plays the assistant's audio in real time
itself (WebRTC's outgoing track, a phone call's media stream): the audio queued per response and
item, pulled one frame at a time, flushed at once on `output_audio_buffer.cleared`.

What it played goes back to the session as `Played` reports: a response's first frame
("playing"), its queue running dry ("drained"), and the cut ("cleared": how much of
the item was heard). No I/O and no clock: the transport paces the pulls.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from vivavoce.audio.formats import INTERNAL_RATE
from vivavoce.audio.resample import StreamResampler
from vivavoce.types import Played


@dataclass
class _Chunk:
    response_id: str
    item_id: str
    pcm: np.ndarray  # at the output rate
    offset: int = 0


class Playback:
    def __init__(self, rate: int = 48000, frame: int = 960) -> None:
        self.rate = rate
        self.frame_samples = frame
        self._ratio = rate / INTERNAL_RATE
        self._queue: deque[_Chunk] = deque()
        self._resamplers: dict[str, StreamResampler] = {}  # per item: one stream each
        self._item_played: dict[str, int] = {}  # at the output rate
        self._response_played: dict[str, int] = {}
        self._dropped: set[str] = set()  # cleared responses: late audio is not played
        self._announced: set[str] = set()  # responses reported "playing"
        # The response and item the last frame ended in (a phone line marks it).
        self.last: tuple[str, str] | None = None

    @property
    def idle(self) -> bool:
        return not self._queue

    def push(self, response_id: str, item_id: str, pcm: np.ndarray) -> None:
        """Assistant audio (int16, 24 kHz) to play after what is queued."""
        if response_id in self._dropped:
            return
        resampler = self._resamplers.get(item_id)
        if resampler is None:
            resampler = self._resamplers[item_id] = StreamResampler(INTERNAL_RATE, self.rate)
        self._append(response_id, item_id, resampler.process(pcm))

    def end_item(self, response_id: str, item_id: str) -> None:
        """No more audio for `item_id` (`response.output_audio.done`): play the resampler's
        tail too."""
        resampler = self._resamplers.pop(item_id, None)
        if resampler is not None and response_id not in self._dropped:
            self._append(response_id, item_id, resampler.process(np.zeros(0, np.int16),
                                                                 last=True))

    def _append(self, response_id: str, item_id: str, pcm: np.ndarray) -> None:
        if len(pcm):
            self._queue.append(_Chunk(response_id, item_id, pcm))

    def frame(self) -> tuple[np.ndarray, list[Played]]:
        """The next frame to play (silence when nothing is queued), and the reports."""
        out = np.zeros(self.frame_samples, np.int16)
        reports: list[Played] = []
        filled = 0
        while filled < self.frame_samples and self._queue:
            chunk = self._queue[0]
            take = min(self.frame_samples - filled, len(chunk.pcm) - chunk.offset)
            out[filled:filled + take] = chunk.pcm[chunk.offset:chunk.offset + take]
            filled += take
            chunk.offset += take
            rid, item = chunk.response_id, chunk.item_id
            self.last = (rid, item)
            self._item_played[item] = self._item_played.get(item, 0) + take
            self._response_played[rid] = self._response_played.get(rid, 0) + take
            if rid not in self._announced:
                self._announced.add(rid)
                reports.append(self.report("playing", rid, item))
            if chunk.offset == len(chunk.pcm):
                self._queue.popleft()
                if not any(c.response_id == rid for c in self._queue):
                    reports.append(self.report("drained", rid, item))
        return out, reports

    def clear(self) -> Played | None:
        """Drop everything unplayed; the report of the item cut (None if nothing was
        playing or queued)."""
        # The chunk at the head is the one playing (or about to).
        cut = (self._queue[0].response_id, self._queue[0].item_id) if self._queue else None
        self._dropped.update(chunk.response_id for chunk in self._queue)
        self._queue.clear()
        self._resamplers.clear()
        return self.report("cleared", *cut) if cut else None

    def report(self, state: str, response_id: str, item_id: str) -> Played:
        """How much of the item and of its response has been taken so far, at 24 kHz."""
        return Played(state, response_id, item_id,  # type: ignore[arg-type]
                      item_samples=int(self._item_played.get(item_id, 0) / self._ratio),
                      response_samples=int(self._response_played.get(response_id, 0)
                                           / self._ratio))
