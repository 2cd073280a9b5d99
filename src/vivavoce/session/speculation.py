"""Speculative transcription: transcribe at the user's first pause, use it if they stay quiet.

The silence window (500 ms by default) is dead time for the user; starting
STT when it is 100 ms old hides STT inside it, and the response that
transcript would get is started too (held until the turn really ends). If
the voice comes back, both are simply dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

# While the user speaks, what they have said so far is transcribed this often, and
# the LLM reads it: at the pause only the last words are new to it.
PARTIAL_EVERY_MS = 1000


@dataclass
class Speculation:
    id: str  # the Transcribe command's item_id for it
    silence_start_ms: int  # the pause it was taken at
    started_at: float  # session clock, for the turn's spans
    done_at: float | None = None
    item_id: str | None = None  # the committed item it turned out to transcribe
    text: str | None = None
    failure: str | None = None
    seconds: float = 0.0
    end_probability: float | None = None  # semantic_vad: how likely these words end the turn

    @property
    def finished(self) -> bool:
        return self.text is not None or self.failure is not None
