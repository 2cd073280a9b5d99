"""New instructions without re-reading the tools: splice them into llama.cpp's KV cache.

The system message is the server's style, the session's instructions, then the tools
block (the 1.5B model calls tools only with them last). A client's `session.update`
changes the instructions in the middle, and a plain prefix cache then re-reads the
whole tools block too: ~270 tokens, ~4 s on 2 cores. Instead the cache keeps the
tail the two system messages share and reads only the new middle, in a scratch
sequence that holds just the head before it (llama.cpp only appends to a
sequence); the kept tail is then shifted to its new positions (llama.cpp re-rotates
its keys) and joined to it.

The head and the new middle are exact. The tail is an approximation until `reread`
makes it exact in idle time, as in Prompt
Cache (Gim et al., 2023): it was read after the old middle. Reading the middle after
the tail instead (in one sequence) is not good enough: then the instructions are
what the model read last, and the 1.5B calls a tool on 1 of 20 prompts that need
one, as with the tools placed before the instructions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import llama_cpp
from llama_cpp import Llama
from llama_cpp._internals import LlamaContext

# A shorter shared tail is not worth an approximation: it reads again in ~2 s.
MIN_TAIL = 128


@dataclass(frozen=True)
class Splice:
    """The cache holds `[head | old middle | tail]`; the prompt starts
    `[head | new middle | tail]`."""

    head: int  # tokens both start with
    old_middle_end: int  # where the tail starts in the cache
    new_middle_end: int  # where it starts in the prompt
    tail_end: int  # where it ends in the cache

    @property
    def spliced_end(self) -> int:
        """Where the tail ends in the prompt: how much of it the cache holds after."""
        return self.new_middle_end + self.tail_end - self.old_middle_end


def shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many tokens `a` and `b` start with alike."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def plan(cached: Sequence[int], prompt: Sequence[int], end_of_message: int,
         min_tail: int = MIN_TAIL) -> Splice | None:
    """A splice of the prompt's first message into the cache, if one is worth it."""
    try:
        cached_end = list(cached).index(end_of_message) + 1
        prompt_end = list(prompt).index(end_of_message) + 1
    except ValueError:
        return None  # no whole first message in one of them
    head = min(shared_prefix(cached, prompt), cached_end, prompt_end)
    tail = shared_prefix(cached[head:cached_end][::-1], prompt[head:prompt_end][::-1])
    if head == prompt_end or tail < min_tail:
        return None  # the same first message (the plain prefix cache serves), or too little
    return Splice(head, cached_end - tail, prompt_end - tail, cached_end)


# The scratch sequence; the Llama object only ever uses sequence 0.
_SCRATCH = 1
# Tokens `reread` reads between asking whether to stop: what an answer that arrives
# meanwhile may wait (~0.15 s on 2 cores).
REREAD_CHUNK = 8


def enable(llm: Llama) -> bool:
    """Give `llm` a context with a scratch sequence beside its own (one KV cache both
    share), if its model's positions can be shifted (rotary, one per token)."""
    params = llm.context_params
    params.n_seq_max, params.kv_unified = 2, True
    llm._ctx.close()
    llm._ctx = llm._stack.enter_context(contextlib.closing(
        LlamaContext(model=llm._model, params=params, verbose=False)))
    llm.n_tokens = 0
    return bool(llama_cpp.llama_memory_can_shift(llm._ctx.memory))


def apply(llm: Llama, splice: Splice, prompt: Sequence[int]) -> None:
    """Make the cache hold `prompt[:splice.spliced_end]`, reading only its new middle."""
    ctx = llm._ctx
    ctx.kv_cache_seq_rm(0, splice.tail_end, -1)  # the turns after the first message
    ctx.kv_cache_seq_cp(0, _SCRATCH, 0, splice.head)
    _read(llm, prompt[splice.head:splice.new_middle_end], splice.head, _SCRATCH)
    ctx.kv_cache_seq_rm(0, splice.head, splice.old_middle_end)
    ctx.kv_cache_seq_shift(0, splice.old_middle_end, splice.tail_end,
                           splice.new_middle_end - splice.old_middle_end)
    ctx.kv_cache_seq_cp(0, _SCRATCH, splice.new_middle_end, splice.spliced_end)
    _take_scratch(ctx)
    llm.input_ids[:splice.spliced_end] = prompt[:splice.spliced_end]
    llm.n_tokens = splice.spliced_end


def reread(llm: Llama, start: int, stop: Callable[[], bool]) -> bool:
    """Read the cache's tokens from `start` on again, exactly, in the scratch sequence
    behind the exact ones before them; swap it in when done. Gives up (the cache as it
    was) when `stop()`, or when the copy would not fit the context."""
    ctx, tokens = llm._ctx, llm._input_ids.tolist()
    if 2 * len(tokens) - start > llm.n_ctx():
        return False
    ctx.kv_cache_seq_cp(0, _SCRATCH, 0, start)
    for offset in range(start, len(tokens), REREAD_CHUNK):
        if stop():
            ctx.kv_cache_seq_rm(_SCRATCH, 0, -1)
            return False
        _read(llm, tokens[offset:offset + REREAD_CHUNK], offset, _SCRATCH)
    _take_scratch(ctx)
    return True


def _take_scratch(ctx: LlamaContext) -> None:
    """The scratch sequence becomes sequence 0."""
    ctx.kv_cache_seq_rm(0, 0, -1)
    ctx.kv_cache_seq_cp(_SCRATCH, 0, 0, -1)
    ctx.kv_cache_seq_rm(_SCRATCH, 0, -1)


def _read(llm: Llama, tokens: Sequence[int], start: int, seq: int) -> None:
    """Evaluate `tokens` at positions from `start` in sequence `seq`."""
    batch = llm._batch
    for offset in range(0, len(tokens), llm.n_batch):
        chunk = tokens[offset:offset + llm.n_batch]
        batch.set_batch(batch=chunk, n_past=start + offset, logits_all=False)
        for i in range(len(chunk)):
            batch.batch.seq_id[i][0] = seq
        llm._ctx.decode(batch)
