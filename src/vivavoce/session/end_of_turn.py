"""When semantic_vad ends a turn: how sure the end-of-turn model is, against the silence.

At the user's first pause the words so far are transcribed and the brain scores them
(the probability that the turn is over). The surer it is, the shorter the silence that
ends the turn: a crisp question ends at the first pause, "…with two friends and" waits
for more. Each eagerness has its own schedule; `low` asks at least as much as `medium`
at every moment (so it never ends a turn sooner), `high` less. The hosted API's caps
(2/4/8 s of silence) end any turn. Thresholds were picked on
benchmarks/data/end_of_turn.tsv (see benchmarks/end_of_turn.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    # (silence in ms, from then on the probability that ends the turn), silence ascending.
    steps: tuple[tuple[int, float], ...]
    cap_ms: int  # this much silence ends the turn, whatever was said

    def wait_ms(self, probability: float) -> int:
        """How much silence ends a turn whose words scored `probability`."""
        for silence_ms, needed in self.steps:
            if probability >= needed:
                return silence_ms
        return self.cap_ms


SCHEDULES = {
    "high": Schedule(((0, 0.15), (600, 0.04)), 2000),
    "medium": Schedule(((0, 0.25), (1500, 0.08), (2500, 0.02)), 4000),
    "low": Schedule(((0, 0.5), (2000, 0.15), (4000, 0.04)), 8000),
}
SCHEDULES["auto"] = SCHEDULES["medium"]
# Without speculative transcription there are no words to score at a pause: a fixed
# silence window ends the turn.
UNSCORED_SILENCE_MS = {"low": 1500, "medium": 800, "auto": 800, "high": 500}
