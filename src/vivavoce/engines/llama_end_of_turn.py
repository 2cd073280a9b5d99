"""End of turn from the local LLM itself: how likely its chat template's end-of-message
token comes right after the user's words (LiveKit's turn detector does the same with a
model of its own).

The words are scored inside the prompt the reply would get (persona, tools, the
conversation so far), so the KV cache already holds all of it: one call reads only the
user's new words. While that prompt is not read yet (a client's own instructions and
tools, being read since its session.update), the words are scored after the server's
own prompt, kept read since start-up, beside the cache (llama_cache's probe).
Their final punctuation is dropped (Whisper puts a full stop at every breath, so it
says little). The score is the probability that the message ends right
there, or right after the sentence's end the model likes best there (one more token):
"…with two friends." is a likely sentence but rarely a whole message (~0.05), "what is
the capital of France?" often is (~0.7); after "…a little bit about" neither comes.
The user's text keeps its case, so the reply that follows reads the same tokens from the
cache instead of again (a lower-cased copy would cost ~0.1–0.3 s more).
"""

from __future__ import annotations

import re

import numpy as np

from .base import LLMRequest
from .llama_llm import LlamaLLM

# A sentence's end this unlikely is not worth reading (it adds at most this much).
NEGLIGIBLE = 0.01
# The most a score reads (~0.7 s with the 1.5B model on 2 cores): a turn's end must not
# wait for a client's new instructions and tools to be read.
MAX_READ = 64
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
        said_so_far, beside = self._prompt(LLMRequest(
            [*context.messages, {"role": "user", "content": text}], context.tools,
            context.tool_choice), text)
        probs = self._llm.next_token_probabilities(said_so_far, beside=beside)
        # The message ends now, or after the sentence's end it likeliest has: a full
        # stop after "…with two friends" is likely, the end of the message after it is not.
        stop = int(self._sentence_ends[np.argmax(probs[self._sentence_ends])])
        ends_after_stop = 0.0
        if probs[stop] >= NEGLIGIBLE:  # one more token (~50 ms with the 1.5B model)
            ends_after_stop = self._llm.next_token_probabilities(
                said_so_far, [stop], beside=beside)[self._end]
        return float(probs[self._end] + probs[stop] * ends_after_stop)

    def _prompt(self, request: LLMRequest, text: str) -> tuple[str, bool]:
        """The prompt up to the user's words, and whether to read it beside the cache: the
        reply's own if the cache holds it, else (a client's new instructions and tools
        not read yet) the same words after the server's kept prompt, with less and less
        of the conversation, until reading it is cheap."""
        candidates = [(request, False)]
        lighter = self._llm.kept_context(request)
        if lighter is not None:
            system, rest = lighter.messages[:1], lighter.messages[1:]
            candidates += [(LLMRequest([*system, *rest[-last:]], lighter.tools,
                                       lighter.tool_choice), True)
                           for last in (len(rest), 3, 1) if last <= len(rest)]
        for candidate, beside in candidates:
            prompt = self._llm.render(candidate)
            said_so_far = prompt[:prompt.rindex(text) + len(text)]
            if self._end is None:
                self._end = self._llm.tokenize(prompt[len(said_so_far):])[0]
            if self._llm.uncached(said_so_far) <= MAX_READ:
                return said_so_far, beside
        return said_so_far, beside  # the lightest there is
