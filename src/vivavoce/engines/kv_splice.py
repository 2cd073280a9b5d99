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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llama_cpp import Llama
from llama_cpp._internals import LlamaContext

from .llama_cache import MAIN, PROBE_ROOM, READ_CHUNK, SCRATCH, decode, no_pause, shared_prefix

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


# Tokens `reread` reads between asking whether to stop: what an answer that arrives
# meanwhile may wait (~0.15 s on 2 cores).
REREAD_CHUNK = 8


def apply(llm: Llama, splice: Splice, prompt: Sequence[int],
          pause: Callable[[], None] = no_pause) -> None:
    """Make the cache hold `prompt[:splice.spliced_end]`, reading only its new middle
    (with `pause()` between chunks of it; the main sequence's head stays as it is
    meanwhile)."""
    ctx = llm._ctx
    ctx.kv_cache_seq_rm(MAIN, splice.tail_end, -1)  # the turns after the first message
    ctx.kv_cache_seq_cp(MAIN, SCRATCH, 0, splice.head)
    decode(llm, prompt[splice.head:splice.new_middle_end], splice.head, SCRATCH, pause,
           READ_CHUNK)
    ctx.kv_cache_seq_rm(MAIN, splice.head, splice.old_middle_end)
    ctx.kv_cache_seq_shift(MAIN, splice.old_middle_end, splice.tail_end,
                           splice.new_middle_end - splice.old_middle_end)
    ctx.kv_cache_seq_cp(MAIN, SCRATCH, splice.new_middle_end, splice.spliced_end)
    _take_scratch(ctx)
    llm.input_ids[:splice.spliced_end] = prompt[:splice.spliced_end]
    llm.n_tokens = splice.spliced_end


def reread(llm: Llama, start: int, stop: Callable[[], bool]) -> bool:
    """Read the cache's tokens from `start` on again, exactly, in the scratch sequence
    behind the exact ones before them; swap it in when done. Gives up (the cache as it
    was) when `stop()`, or when the copy would not fit the context."""
    ctx, tokens = llm._ctx, llm._input_ids.tolist()
    if 2 * len(tokens) - start > llm.n_ctx() - PROBE_ROOM:
        return False
    ctx.kv_cache_seq_cp(MAIN, SCRATCH, 0, start)
    for offset in range(start, len(tokens), REREAD_CHUNK):
        if stop():
            ctx.kv_cache_seq_rm(SCRATCH, 0, -1)
            return False
        decode(llm, tokens[offset:offset + REREAD_CHUNK], offset, SCRATCH)
    _take_scratch(ctx)
    return True


def _take_scratch(ctx: LlamaContext) -> None:
    """The scratch sequence becomes the main one."""
    ctx.kv_cache_seq_rm(MAIN, 0, -1)
    ctx.kv_cache_seq_cp(SCRATCH, MAIN, 0, -1)
    ctx.kv_cache_seq_rm(SCRATCH, 0, -1)
