"""llama.cpp's KV cache as the local LLM uses it: one context, one unified cache, three
sequences, and system prompts kept aside.

- `MAIN` (0) is what llama-cpp-python's `Llama` object reads and writes (its
  `input_ids`); it clears only this sequence when it cuts its cache.
- `SCRATCH` (1) is where the splice and the refresh build a new main (engines/kv_splice).
- `PROBE` (2) reads a prompt beside the main one without disturbing it: an end-of-turn
  score taken while the main sequence is halfway through reading a new prompt.

Kept prompts are system messages (instructions and tools) read once and saved as
llama.cpp sequence state: the server-wide ones of each way in, read at start-up and
kept for good, and the last few sessions' own, kept while they are recent. One is
loaded into the main sequence when a prompt starts more like it than like what the main
sequence holds (or shares more tools with it, for the splice): a deep copy of its cells,
a few milliseconds, where reading it again takes seconds. Copies, not cells shared with
the main sequence, because the splice shifts the main sequence's cells in place (a
shared cell moves for every sequence that holds it).

Long reads into the main sequence go in chunks, and between chunks whatever must not
wait runs (`pause`); meanwhile `paused_at` says how much of the main sequence is read.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp._internals import LlamaContext

MAIN, SCRATCH, PROBE = 0, 1, 2
# Tokens read between two chances for urgent work to run: ~0.35 s of the 1.5B model on
# 2 cores, for 8 % of its reading speed (64: 2 %, 0.7 s; 16: 17 %).
READ_CHUNK = 32
# Room in the cache beside the main sequence's prompt, for the probe.
PROBE_ROOM = 1024
# Sessions' own prompts kept by default: each one's conversation as far as it was read
# and answered (~28 KB of state a token with the 1.5B model: ~40 MB for 1,500 tokens).
SLOTS = 6


def no_pause() -> None:
    """Nothing is urgent: a read goes on."""


@dataclass(frozen=True)
class Kept:
    tokens: list[int]
    state: ctypes.Array  # llama_state_seq_get_data of a sequence holding `tokens`
    pinned: bool  # a server-wide prompt, kept for good


def shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many tokens `a` and `b` start with alike."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class LlamaCache:
    def __init__(self, llm: Llama, prompt_ctx: int, slots: int = SLOTS) -> None:
        """Give `llm` a context with the sequences above (one KV cache they share):
        `prompt_ctx` for the main prompt and its splice, and room for the probe;
        `slots`: how many sessions' prompts are remembered."""
        params = llm.context_params
        params.n_seq_max, params.kv_unified = PROBE + 1, True
        params.n_ctx = prompt_ctx + PROBE_ROOM
        llm._ctx.close()
        llm._ctx = llm._stack.enter_context(contextlib.closing(
            LlamaContext(model=llm._model, params=params, verbose=False)))
        llm.n_tokens = 0
        self.llm = llm
        # Whether positions can be shifted (rotary, one per token): the splice needs it.
        self.can_shift = bool(llama_cpp.llama_memory_can_shift(llm._ctx.memory))
        self.paused_at: int | None = None  # a read of the main sequence waits here
        self._kept: list[Kept] = []
        self._slots = slots
        self._probe: list[int] = []  # what the probe holds

    @property
    def main(self) -> list[int]:
        """The tokens the main sequence holds."""
        return self.llm._input_ids.tolist()

    # ------------------------------------------------------------------ kept prompts
    @property
    def kept(self) -> list[Kept]:
        return list(self._kept)

    def keep(self, tokens: Sequence[int], pause: Callable[[], None] = no_pause) -> None:
        """Read `tokens` into the main sequence (what it shares with them is kept) and
        keep a copy of them for good, for later prompts that start like them."""
        best = self.best_kept(tokens)
        if best is not None and shared_prefix(best.tokens, tokens) > \
                shared_prefix(self.main, tokens):
            self.load(best)
        self.read(tokens, min(shared_prefix(self.main, tokens), len(tokens)), pause)
        self._save(len(tokens), pinned=True)

    def remember(self, length: int) -> None:
        """Keep a copy of the main sequence's first `length` tokens (exact: a session's
        conversation as far as it is read and answered), while it is among the last
        `slots` remembered. A session's next turn, or a new session that starts like
        it, loads it instead of reading it again. What it continues (the same session
        a turn ago) is dropped, and what continues it makes it needless."""
        tokens = self.main[:length]
        if any(k.tokens[:length] == tokens for k in self._kept):
            return
        self._kept = [k for k in self._kept
                      if k.pinned or k.tokens != tokens[:len(k.tokens)]]
        self._save(length, pinned=False)
        remembered = [k for k in self._kept if not k.pinned]
        for old in remembered[:max(0, len(remembered) - self._slots)]:
            self._kept.remove(old)

    def _save(self, length: int, pinned: bool) -> None:
        """Keep a copy of the main sequence's first `length` tokens (through the probe:
        only those cells)."""
        tokens = self.main[:length]
        known = next((k for k in self._kept if k.tokens == tokens), None)
        if known is not None:
            if pinned and not known.pinned:
                self._kept[self._kept.index(known)] = Kept(tokens, known.state, True)
            return
        ctx = self.llm._ctx
        self.clear_probe()
        ctx.kv_cache_seq_cp(MAIN, PROBE, 0, length)
        size = llama_cpp.llama_state_seq_get_size(ctx.ctx, PROBE)
        state = (ctypes.c_uint8 * size)()
        llama_cpp.llama_state_seq_get_data(ctx.ctx, state, size, PROBE)
        ctx.kv_cache_seq_rm(PROBE, 0, -1)
        self._kept.append(Kept(tokens, state, pinned))

    def best_kept(self, tokens: Sequence[int]) -> Kept | None:
        """The kept prompt `tokens` start the most like."""
        best, length = None, 0
        for kept in self._kept:
            shared = shared_prefix(kept.tokens, tokens)
            if shared > length:
                best, length = kept, shared
        return best

    def load(self, kept: Kept) -> None:
        """The main sequence becomes a copy of `kept` (it was used: kept longer)."""
        self._load(kept, MAIN, len(kept.tokens))
        self.llm.input_ids[:len(kept.tokens)] = kept.tokens
        self.llm.n_tokens = len(kept.tokens)
        if not kept.pinned:
            self._kept.remove(kept)
            self._kept.append(kept)

    def _load(self, kept: Kept, seq: int, length: int) -> None:
        ctx = self.llm._ctx
        ctx.kv_cache_seq_rm(seq, 0, -1)
        llama_cpp.llama_state_seq_set_data(ctx.ctx, kept.state, len(kept.state), seq)
        ctx.kv_cache_seq_rm(seq, length, -1)

    # ------------------------------------------------------------------ reading
    def read(self, tokens: Sequence[int], start: int,
             pause: Callable[[], None] = no_pause) -> None:
        """The main sequence holds `tokens[:start]`: read the rest, in chunks, letting
        `pause()` run between them."""
        llm = self.llm
        llm.n_tokens = start
        for offset in range(start, len(tokens), READ_CHUNK):
            if offset > start:
                self.pausing(offset, pause)()
            llm.eval(tokens[offset:offset + READ_CHUNK])  # eval cuts the cache first

    def pausing(self, valid: int, pause: Callable[[], None]) -> Callable[[], None]:
        """`pause`, for a read of the main sequence whose first `valid` tokens are read
        (the probe may start from them); what the probe read meanwhile goes after."""

        def paused() -> None:
            self.paused_at = valid
            try:
                pause()
            finally:
                self.paused_at = None
                self.clear_probe()

        return paused

    # ------------------------------------------------------------------ the probe
    def uncached(self, tokens: Sequence[int]) -> int:
        """How many of `tokens` would have to be read: not in the main sequence (as far as
        it is read) nor in a kept prefix."""
        main = self.main[:self.paused_at] if self.paused_at is not None else self.main
        kept = self.best_kept(tokens)
        return len(tokens) - max(shared_prefix(main, tokens),
                                 shared_prefix(kept.tokens, tokens) if kept else 0)

    def probe(self, tokens: Sequence[int]) -> np.ndarray:
        """The logits after `tokens`, read in the probe from whatever holds the most of
        them (what it read last, the main sequence as far as it is read, a kept prefix)."""
        llm = self.llm
        valid = self.paused_at if self.paused_at is not None else llm.n_tokens
        main = self.main[:valid]
        limit = len(tokens) - 1  # at least one token is read: its logits are wanted
        own = min(shared_prefix(self._probe, tokens), limit)
        from_main = min(shared_prefix(main, tokens), limit)
        kept = self.best_kept(tokens)
        from_kept = min(shared_prefix(kept.tokens, tokens), limit) if kept else 0
        ctx = llm._ctx
        if own >= max(from_main, from_kept):
            ctx.kv_cache_seq_rm(PROBE, own, -1)
            start = own
        elif from_main >= from_kept:
            ctx.kv_cache_seq_rm(PROBE, 0, -1)
            ctx.kv_cache_seq_cp(MAIN, PROBE, 0, from_main)  # shared cells: none shift
            start = from_main
        else:
            assert kept is not None
            self._load(kept, PROBE, from_kept)
            start = from_kept
        self._probe = list(tokens)
        decode(llm, tokens[start:], start, PROBE)
        return np.ctypeslib.as_array(ctx.get_logits(), shape=(llm.n_vocab(),)).copy()

    def clear_probe(self) -> None:
        if self._probe:
            self.llm._ctx.kv_cache_seq_rm(PROBE, 0, -1)
            self._probe = []


def decode(llm: Llama, tokens: Sequence[int], start: int, seq: int,
           pause: Callable[[], None] | None = None, chunk: int | None = None) -> None:
    """Evaluate `tokens` at positions from `start` in sequence `seq`, `chunk` tokens at
    a time (with `pause()` between chunks); the last token's logits are kept."""
    batch = llm._batch
    step = min(chunk or llm.n_batch, llm.n_batch)
    for offset in range(0, len(tokens), step):
        if offset and pause is not None:
            pause()
        part = tokens[offset:offset + step]
        batch.set_batch(batch=part, n_past=start + offset, logits_all=False)
        for i in range(len(part)):
            batch.batch.seq_id[i][0] = seq
        llm._ctx.decode(batch)
    # The context's logits are this sequence's now: a reply from the main sequence must
    # read its last token again, not sample from them.
    llm._requires_eval = True
