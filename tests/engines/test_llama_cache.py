"""The local LLM's cache (engines/llama_cache): server-wide prompts kept read since
start-up, and scores read beside a read that is under way. Each test loads its own
engine: what it keeps must not leak into other tests."""

from __future__ import annotations

import threading

import pytest

from vivavoce.brains.cascade import SPOKEN_STYLE
from vivavoce.brains.factory import build_llm
from vivavoce.engines.base import LLMRequest, TextDelta, Usage
from vivavoce.engines.llama_cache import SLOTS
from vivavoce.engines.llama_end_of_turn import MAX_READ, LlamaEndOfTurn
from vivavoce.engines.llama_llm import LlamaLLM
from vivavoce.personas import get_persona
from vivavoce.settings import Settings
from vivavoce.tools import builtin

pytestmark = pytest.mark.slow

PERSONA = get_persona("assistant")
SERVER = [{"role": "system", "content": f"{SPOKEN_STYLE}\n\n{PERSONA.instructions}"}]
TOOLS = builtin.registry.schemas(PERSONA.tools)
PHONE_TOOLS = builtin.registry.schemas((*PERSONA.tools, "end_call"))
BAKERY = [{"role": "system", "content": (
    f"{SPOKEN_STYLE}\n\nYou are Sunny, the cheerful voice of a small bakery's phone line. "
    "Answer in one short spoken sentence, and offer to take a message when you do not know.")}]
ORDERS = {"type": "function", "name": "lookup_order",
          "description": "Find where a customer's order is.",
          "parameters": {"type": "object", "required": ["order"], "properties": {
              "order": {"type": "string", "description": 'The order number, like "A17".'}}}}


def ask(system: list[dict], question: str, tools: list[dict]) -> LLMRequest:
    return LLMRequest([*system, {"role": "user", "content": question}], tools, max_tokens=12)


def answer(llm: LlamaLLM, request: LLMRequest) -> tuple[str, Usage]:
    chunks = list(llm.stream(request, threading.Event()))
    return "".join(c.text for c in chunks if isinstance(c, TextDelta)), chunks[-1]


def prefix_tokens(llm: LlamaLLM, request: LLMRequest) -> int:
    """The tokens of the request's prompt up to the end of its system message."""
    tokens = llm.tokenize(llm.render(request))
    return tokens.index(llm._end_of_message) + 1


def distance(p, q) -> float:
    return float(0.5 * abs(p - q).sum())


def test_kept_prompts_are_found_read_by_their_first_request():
    llm = build_llm(Settings())
    llm.keep(ask(SERVER, "", TOOLS))
    llm.keep(ask(SERVER, "", PHONE_TOOLS))
    answer(llm, ask(BAKERY, "Hello.", TOOLS))  # the cache holds something else now
    phone = ask(SERVER, "What is the capital of France?", PHONE_TOOLS)
    text, usage = answer(llm, phone)
    assert usage.cached_tokens >= prefix_tokens(llm, phone), usage
    assert usage.input_tokens - usage.cached_tokens < 20, usage
    assert "Paris" in text
    default = ask(SERVER, "How many legs does a spider have?", TOOLS)
    text, usage = answer(llm, default)
    assert usage.cached_tokens >= prefix_tokens(llm, default), usage
    assert any(w in text.lower() for w in ("eight", "8"))
    # What a kept prompt gives is what reading it gives.
    fresh = build_llm(Settings())
    prompt = llm.render(default)
    assert distance(llm.next_token_probabilities(prompt),
                    fresh.next_token_probabilities(prompt)) < 0.05


def test_a_splice_after_a_kept_prompt_leaves_the_kept_one_as_it_was():
    llm = build_llm(Settings())
    llm.keep(ask(SERVER, "", TOOLS))
    default = llm.render(ask(SERVER, "Is it going to rain in Oslo?", TOOLS))
    before = llm.next_token_probabilities(default)
    # New instructions before the same tools: spliced, the tools' cells shifted in place.
    usage = answer(llm, ask(BAKERY, "Do you sell rye bread?", TOOLS))[1]
    tools_tokens = len(llm.tokenize(llm.render(LLMRequest([], tools=TOOLS))))
    assert usage.input_tokens - usage.cached_tokens < tools_tokens / 2, usage
    # The kept prompt is untouched: loaded again, it gives what it gave.
    assert distance(llm.next_token_probabilities(default), before) < 1e-4


def test_a_score_in_the_midst_of_a_read_is_read_beside_it():
    llm = build_llm(Settings())
    end_of_turn = LlamaEndOfTurn(llm)
    llm.keep(ask(SERVER, "", TOOLS))
    orders = [{"role": "system", "content": f"{SPOKEN_STYLE}\n\nYou help with orders."}]
    request = ask(orders, "Where is my order A17?", [ORDERS, *TOOLS])
    context = LLMRequest(orders, [ORDERS, *TOOLS])
    scores: list[tuple[float, float]] = []

    def pause() -> None:  # as the cascade's: a score runs here
        if not scores:
            assert llm.uncached(llm.render(request)) > MAX_READ  # far from read yet
            scores.append((end_of_turn.probability("What is the capital of France?", context),
                           end_of_turn.probability("I would like to go to the", context)))

    llm.prefill(request, pause)
    ((whole, unfinished),) = scores
    assert whole > 0.5 and unfinished < 0.1, scores
    # The read went on as if nothing had happened: what it left is the prompt, exactly.
    prompt = llm.render(request)
    assert llm.uncached(prompt) <= 1
    undisturbed = build_llm(Settings())
    undisturbed.keep(ask(SERVER, "", TOOLS))
    undisturbed.prefill(request)
    assert distance(llm.next_token_probabilities(prompt),
                    undisturbed.next_token_probabilities(prompt)) < 1e-3


def test_a_sessions_own_prompt_is_remembered_for_the_next_session_like_it():
    llm = build_llm(Settings())
    llm.keep(ask(SERVER, "", TOOLS))
    tools = [ORDERS, *TOOLS]
    tools_tokens = len(llm.tokenize(llm.render(LLMRequest([], tools=tools))))
    first = answer(llm, ask(BAKERY, "Do you sell rye bread?", tools))[1]
    assert first.input_tokens - first.cached_tokens > tools_tokens / 2  # new: read
    llm.refresh(lambda: False)  # while its answer plays: remembered
    answer(llm, ask(SERVER, "Hello.", TOOLS))  # another session: the cache holds its prompt
    # The same app's next session: its prompt is loaded, not read.
    again = answer(llm, ask(BAKERY, "Do you bake croissants?", tools))[1]
    assert again.input_tokens - again.cached_tokens < 20, again
    answer(llm, ask(SERVER, "Hello.", TOOLS))
    # Other instructions with those tools: spliced in front of the remembered tools.
    orders = [{"role": "system", "content": f"{SPOKEN_STYLE}\n\nYou help with orders."}]
    spliced = answer(llm, ask(orders, "Where is my order A17?", tools))[1]
    assert spliced.input_tokens - spliced.cached_tokens < tools_tokens / 2, spliced
    # Remembered prompts are a few recent ones; the server-wide ones stay.
    for n in range(SLOTS + 2):
        answer(llm, ask([{"role": "system", "content": f"You are helper number {n}."}],
                        "Hi.", TOOLS))
        llm.refresh(lambda: False)
    kept = llm._cache.kept
    assert sum(not k.pinned for k in kept) == SLOTS
    assert sum(k.pinned for k in kept) == 1


def test_a_score_on_a_prompt_not_read_yet_does_not_read_it():
    llm = build_llm(Settings())
    end_of_turn = LlamaEndOfTurn(llm)
    llm.keep(ask(SERVER, "", TOOLS))
    orders = [{"role": "system", "content": f"{SPOKEN_STYLE}\n\nYou help with orders."}]
    context = LLMRequest(orders, [ORDERS, *TOOLS])
    assert llm.uncached(llm.render(ask(orders, "Hi", [ORDERS, *TOOLS]))) > MAX_READ
    before = llm._cache.main
    finished = end_of_turn.probability("What is the capital of France?", context)
    going_on = end_of_turn.probability("Where is my order and", context)
    assert finished > 0.5 > 0.1 > going_on
    assert llm._cache.main == before  # scored beside the cache: nothing read into it


def test_each_session_keeps_its_place_in_the_model_between_its_turns():
    llm = build_llm(Settings())
    llm.keep(ask(SERVER, "", TOOLS))
    sessions = {"bakery": (BAKERY, [ORDERS, *TOOLS]), "server": (SERVER, TOOLS)}
    said = {"bakery": ["Do you sell rye bread?", "And croissants?", "How much are they?"],
            "server": ["What is the capital of Spain?", "And of Portugal?", "Which is bigger?"]}
    conversations: dict[str, list[dict]] = {name: [] for name in sessions}
    new = []
    for turn in range(3):
        for name, (system, tools) in sessions.items():  # turns alternate between them
            conversations[name].append({"role": "user", "content": said[name][turn]})
            request = LLMRequest([*system, *conversations[name]], tools, max_tokens=16)
            text, usage = answer(llm, request)
            conversations[name].append({"role": "assistant", "content": text})
            llm.refresh(lambda: False)  # while its answer plays, as the cascade does
            if turn:  # read, and what reading its conversation again would cost
                new.append((usage.input_tokens - usage.cached_tokens,
                            usage.input_tokens - prefix_tokens(llm, request)))
    # Only the new words and the reply's header; the other session's turn evicted nothing.
    assert all(read < 25 and read < conversation / 2 for read, conversation in new), new
