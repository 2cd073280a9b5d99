"""Speculative transcription: transcribe at the user's first pause, use it if they stay quiet.

The silence window (500 ms by default) is dead time for the user; starting
STT when it is 200 ms old hides most of STT inside it. If the voice comes
back, the early transcript is simply dropped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Speculation:
    id: str  # the Transcribe command's item_id for it
    silence_start_ms: int  # the pause it was taken at
    item_id: str | None = None  # the committed item it turned out to transcribe
    text: str | None = None
    failure: str | None = None
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return self.text is not None or self.failure is not None
