"""End of turn from punctuation alone: the fallback where no local LLM can score it.

Whisper punctuates what it hears: a question mark or a full stop after a word that
does not lead on ("and", "um", "the") suggests the speaker finished the thought. It
also puts a full stop at a mere breath, so this says "probably" at best.
"""

from __future__ import annotations

import re

from .base import LLMRequest

_ENDS_A_SENTENCE = re.compile(r"""[.?!]["')\]]*$""")
_WORD = re.compile(r"[\w']+")
# Words a finished sentence rarely ends on: the speaker is about to go on.
_LEADS_ON = frozenset([
    "and", "but", "or", "so", "because", "um", "uh", "er", "erm", "hmm", "like", "the", "a",
    "an", "to", "of", "with", "for", "if", "then", "that", "which", "who", "my", "your",
])
# What a finished- and an unfinished-sounding transcript are taken to mean (see the
# schedules in session.end_of_turn): the first ends a `medium` turn at the first pause,
# the second after 1.5 s of silence.
FINISHED, UNFINISHED = 0.4, 0.1


def sounds_finished(transcript: str) -> bool:
    text = transcript.strip()
    if text.endswith(("...", "…")) or not _ENDS_A_SENTENCE.search(text):
        return False
    words = _WORD.findall(text.lower())
    return bool(words) and words[-1] not in _LEADS_ON


class PunctuationEndOfTurn:
    name = "punctuation"

    def probability(self, said: str, context: LLMRequest) -> float:
        return FINISHED if sounds_finished(said) else UNFINISHED
