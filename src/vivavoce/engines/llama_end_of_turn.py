"""End of turn from the local LLM itself: how likely its chat template's end-of-message
token comes right after the user's words (LiveKit's turn detector does the same with a
model of its own).

The words are scored inside the prompt the reply would get (persona, tools, the
conversation so far), so the KV cache already holds all of it: one call reads only the
user's new words. Their final punctuation is dropped (Whisper puts a full stop at every
breath, so it says little); what the model then puts after them decides: the
end-of-message token, or a sentence's end, says the turn is over; a comma or a next word
says it goes on. The user's text keeps its case, so the reply that follows reads the same
tokens from the cache instead of again (a lower-cased copy would cost ~0.1–0.3 s more).
"""

from __future__ import annotations

import re

import numpy as np

from .base import LLMRequest
from .llama_llm import LlamaLLM

# Final punctuation (and closing quotes) Whisper adds, and leading blanks.
_TRAILING = re.compile(r"""[\s.?!,;:…"')\]]+$""")


def normalise(said: str) -> str:
    return _TRAILING.sub("", " ".join(said.split()))


class LlamaEndOfTurn:
    """Shares the LLM's model and cache: call it where the LLM runs (not re-entrant)."""

    def __init__(self, llm: LlamaLLM) -> None:
        self.name = f"{llm.name} end-of-turn"
        self._llm = llm
        # Tokens that end a sentence ("." "?" "!" "?!"…, not "..": trailing off).
        self._sentence_ends = np.array([t for t, p in enumerate(llm.pieces)
                                        if re.fullmatch(rb"\s*[.?!]{1,3}\s*", p)
                                        and b".." not in p])
        self._end: int | None = None  # the template's end-of-message token, found on first use

    def probability(self, said: str, context: LLMRequest) -> float:
        text = normalise(said)
        if not text:
            return 0.0
        request = LLMRequest([*context.messages, {"role": "user", "content": text}],
                             context.tools, context.tool_choice)
        prompt = self._llm.render(request)
        cut = prompt.rindex(text) + len(text)
        if self._end is None:
            self._end = self._llm.tokenize(prompt[cut:])[0]
        probs = self._llm.next_token_probabilities(prompt[:cut])
        return float(probs[self._end] + probs[self._sentence_ends].sum())
