"""Does a transcript sound like a finished turn? The semantic_vad end-of-turn guess.

Whisper punctuates what it hears: a question mark or a full stop after a word that
does not lead on ("and", "um", "the") says the speaker finished the thought. Used at
the first short pause, it lets semantic_vad end a turn in ~0.3 s instead of waiting
out the silence window; an unfinished-sounding pause waits the whole window.
"""

from __future__ import annotations

import re

_ENDS_A_SENTENCE = re.compile(r"""[.?!]["')\]]*$""")
_WORD = re.compile(r"[\w']+")
# Words a finished sentence rarely ends on: the speaker is about to go on.
_LEADS_ON = frozenset([
    "and", "but", "or", "so", "because", "um", "uh", "er", "erm", "hmm", "like", "the", "a",
    "an", "to", "of", "with", "for", "if", "then", "that", "which", "who", "my", "your",
])


def sounds_finished(transcript: str) -> bool:
    text = transcript.strip()
    if text.endswith(("...", "…")) or not _ENDS_A_SENTENCE.search(text):
        return False
    words = _WORD.findall(text.lower())
    return bool(words) and words[-1] not in _LEADS_ON
