"""Per-turn latency spans: named moments of one response, on the caller's clock.

Reported relative to the turn's origin — the end of the user's speech when
the turn came from the microphone, else the commit or the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SPANS_EVENT = "vivavoce.turn.spans"
ORIGINS = ("speech_end", "commit", "request")
# What a follow-up response (after server tools) inherits: the turn, not the hops.
TURN_MARKS = (*ORIGINS, "speech_stopped", "stt_done", "tool_done")


@dataclass
class Spans:
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str, at: float) -> None:
        """Record the first time `name` happened."""
        self.marks.setdefault(name, at)

    def set(self, name: str, at: float) -> None:
        """Record the latest time `name` happened."""
        self.marks[name] = at

    def turn(self) -> Spans:
        """A new Spans for the same user turn (a follow-up response)."""
        return Spans({k: v for k, v in self.marks.items() if k in TURN_MARKS})

    def relative(self) -> dict[str, float]:
        origin = next((self.marks[o] for o in ORIGINS if o in self.marks), None)
        if origin is None:
            return {}
        return {name: round(at - origin, 4) for name, at in
                sorted(self.marks.items(), key=lambda kv: kv[1])}
