"""New instructions spliced in front of cached tools (engines/kv_splice)."""

from __future__ import annotations

import threading

import pytest

from vivavoce.brains.factory import build_llm
from vivavoce.engines import kv_splice
from vivavoce.engines.base import LLMRequest, TextDelta, ToolCall, Usage
from vivavoce.engines.llama_llm import LlamaLLM
from vivavoce.settings import Settings

END = 0  # the end-of-message token in the synthetic prompts below
TAIL = list(range(100, 100 + kv_splice.MIN_TAIL))


def test_a_new_middle_before_a_long_shared_tail_is_spliced():
    cached = [1, 2, 3, 4, 5, *TAIL, END, 7, 8]
    prompt = [1, 2, 9, 9, 9, 9, *TAIL, END, 6]
    splice = kv_splice.plan(cached, prompt, END)
    assert splice == kv_splice.Splice(head=2, old_middle_end=5, new_middle_end=6,
                                      tail_end=5 + len(TAIL) + 1)
    assert prompt[:splice.spliced_end] == [1, 2, 9, 9, 9, 9, *TAIL, END]


def test_no_splice_when_the_first_messages_are_the_same_or_share_too_little():
    cached = [1, 2, 3, *TAIL, END, 7]
    assert kv_splice.plan(cached, [1, 2, 3, *TAIL, END, 8], END) is None
    short = TAIL[2:]  # with the end token, one short of MIN_TAIL
    assert kv_splice.plan([1, 2, *short, END], [1, 3, *short, END], END) is None
    assert kv_splice.plan([1, 2, *TAIL], [1, 3, *TAIL, END], END) is None  # not whole yet


def test_a_middle_that_only_shrinks_or_grows_is_spliced():
    grown = kv_splice.plan([1, *TAIL, END], [1, 5, 5, *TAIL, END], END)
    assert grown is not None and (grown.head, grown.new_middle_end) == (1, 3)
    shrunk = kv_splice.plan([1, 5, 5, *TAIL, END], [1, *TAIL, END], END)
    assert shrunk is not None and shrunk.new_middle_end == shrunk.head == 1


TOOLS = [{"type": "function", "name": "get_weather",
          "description": "Get the current weather in a city.",
          "parameters": {"type": "object", "required": ["city"], "properties": {
              "city": {"type": "string",
                       "description": 'The city name, like "Tokyo" or "Paris".'}}}},
         {"type": "function", "name": "get_time", "description": "Get the current time.",
          "parameters": {"type": "object", "properties": {}}}]
BUTLER = ("You are Jenkins, a curt British butler. Be correct, formal and brief; address the "
          "user as sir or madam. Answer in one short sentence.")
BAKERY = ("You are Sunny, the cheerful voice of a small bakery's phone line. Answer in one "
          "short spoken sentence, and offer to take a message when you do not know.")


def _ask(llm: LlamaLLM, instructions: str, question: str) -> tuple[str, list[str], Usage]:
    request = LLMRequest([{"role": "system", "content": instructions},
                          {"role": "user", "content": question}], tools=TOOLS, max_tokens=24)
    chunks = list(llm.stream(request, threading.Event()))
    text = "".join(c.text for c in chunks if isinstance(c, TextDelta))
    return text, [c.name for c in chunks if isinstance(c, ToolCall)], chunks[-1]


@pytest.mark.slow
def test_new_instructions_are_read_alone_and_answer_as_a_full_read_does(llm_engine):
    """The default model reads its tools after the persona: a client's own instructions
    are spliced in front of them, and only they (and the question) are read."""
    llm = llm_engine
    _ask(llm, BUTLER, "Hello.")
    text, calls, usage = _ask(llm, BAKERY, "What is the capital of France?")
    tools_tokens = len(llm.tokenize(llm.render(LLMRequest([], tools=TOOLS))))
    assert usage.input_tokens - usage.cached_tokens < tools_tokens / 2, usage
    assert "Paris" in text and not calls
    # What the cache holds is the prompt: the next question reuses all of it.
    _, calls, usage = _ask(llm, BAKERY, "What's the weather in Paris?")
    assert calls == ["get_weather"]
    assert usage.input_tokens - usage.cached_tokens < 20, usage
    # Back to the first instructions: spliced again, and still themselves.
    text, calls, usage = _ask(llm, BUTLER, "How many legs does a spider have?")
    assert usage.input_tokens - usage.cached_tokens < tools_tokens / 2, usage
    assert any(w in text.lower() for w in ("eight", "8")) and not calls


def _distance(p, q) -> float:
    return float(0.5 * abs(p - q).sum())


@pytest.mark.slow
def test_a_refresh_in_idle_time_makes_the_spliced_cache_exact(llm_engine):
    llm = llm_engine
    _ask(llm, BUTLER, "Hello.")
    request = LLMRequest([{"role": "system", "content": BAKERY},
                          {"role": "user", "content": "Is it raining in Oslo?"}], tools=TOOLS)
    prompt = llm.render(request)
    llm.prefill(request)  # spliced: the tools block was read after the butler's words
    spliced = llm.next_token_probabilities(prompt)
    exact = build_llm(Settings()).next_token_probabilities(prompt)
    # Asked to stop at once, it leaves the cache as it was.
    llm.refresh(lambda: True)
    assert _distance(llm.next_token_probabilities(prompt), spliced) < 1e-3
    llm.refresh(lambda: False)
    refreshed = llm.next_token_probabilities(prompt)
    # Reading in chunks alone moves the distribution ~0.05 (llama.cpp's kernels differ
    # by batch size); the splice moved it ~0.11 for this prompt.
    assert _distance(refreshed, exact) < _distance(spliced, exact) / 2, (
        _distance(refreshed, exact), _distance(spliced, exact))
    assert refreshed.argmax() == exact.argmax()
    # Exact now: the next answer reads only its own new words.
    usage = _ask(llm, BAKERY, "Do you sell rye bread?")[2]
    assert usage.input_tokens - usage.cached_tokens < 20, usage
