"""The default embedded LLM on llama.cpp answering, calling tools, cancelling."""

from __future__ import annotations

import json
import threading

import pytest

from vivavoce.engines.base import LLMRequest, TextDelta, ToolCall, Usage
from vivavoce.engines.llama_llm import LlamaLLM, Sampling
from vivavoce.engines.llama_prompt import prompt_messages
from vivavoce.engines.speakable import speakable_piece, unspeakable
from vivavoce.models.catalog import DEFAULT_LLM
from vivavoce.models.locate import model_path

# Loads a model of its own too (not only through the shared fixtures).
pytestmark = pytest.mark.slow

PERSONA = "You are a helpful voice assistant. Answer in one or two short spoken sentences."
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}


def ask(llm, user: str, tools=(), history=(), **kwargs) -> list:
    messages = [{"role": "system", "content": PERSONA}, *history,
                {"role": "user", "content": user}]
    request = LLMRequest(messages, tools=list(tools), **kwargs)
    return list(llm.stream(request, threading.Event()))


def text_of(chunks) -> str:
    return "".join(c.text for c in chunks if isinstance(c, TextDelta))


def test_answers_a_question_with_text(llm):
    chunks = ask(llm, "What is the capital of France?", temperature=0.2)
    assert "Paris" in text_of(chunks)
    assert not any(isinstance(c, ToolCall) for c in chunks)
    usage = chunks[-1]
    assert isinstance(usage, Usage) and usage.input_tokens > 20 and usage.output_tokens > 2


def test_calls_a_tool_with_json_arguments(llm):
    chunks = ask(llm, "What's the weather in Paris?", tools=[WEATHER])
    calls = [c for c in chunks if isinstance(c, ToolCall)]
    assert [c.name for c in calls] == ["get_weather"]
    assert "Paris" in json.loads(calls[0].arguments)["city"]
    assert calls[0].call_id.startswith("call_")
    assert text_of(chunks) == ""  # the JSON is never passed on as speech


def test_small_talk_with_tools_available_is_speech(llm):
    chunks = ask(llm, "Hi! How are you today?", tools=[WEATHER], temperature=0.2)
    assert text_of(chunks).strip() and "{" not in text_of(chunks)
    assert not any(isinstance(c, ToolCall) for c in chunks)


def test_speaks_a_tool_result(llm):
    history = [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1",
         "content": '{"temperature_c": 21, "sky": "sunny"}'},
    ]
    messages = [{"role": "system", "content": PERSONA}, *history]
    for temperature in (0.0, 0.8):
        chunks = list(llm.stream(LLMRequest(messages, tools=[WEATHER], temperature=temperature),
                                 threading.Event()))
        text = text_of(chunks).lower()
        assert "sunny" in text or "21" in text, text
        assert not any(isinstance(c, ToolCall) for c in chunks)


def test_persona_and_tools_prefix_is_served_from_the_kv_cache(llm):
    ask(llm, "What's the weather in Rome?", tools=[WEATHER])
    usage = ask(llm, "Tell me a joke about cats.", tools=[WEATHER], max_tokens=8)[-1]
    # Everything before the new user turn was evaluated by the previous call.
    assert usage.cached_tokens > 0.8 * usage.input_tokens


def test_a_prefilled_start_of_the_turn_is_reused_and_changes_nothing(llm):
    question = "What is the tallest mountain in Europe?"
    prompt = llm.render(LLMRequest([{"role": "system", "content": PERSONA},
                                    {"role": "user", "content": question}]))
    ask(llm, "Tell me a joke about dogs.", max_tokens=4)  # something else in the cache
    plain = llm.next_token_probabilities(prompt)
    ask(llm, "Tell me a joke about dogs.", max_tokens=4)
    # The user is still speaking: what they have said so far is read in.
    llm.prefill(LLMRequest([{"role": "system", "content": PERSONA},
                            {"role": "user", "content": "What is the tallest"}]))
    prefilled = llm.next_token_probabilities(prompt)
    # The same reading, to floating-point noise (the words are read in other batches:
    # a near tie in a greedy reply may still go either way).
    assert 0.5 * abs(plain - prefilled).sum() < 0.02
    llm.prefill(LLMRequest([{"role": "system", "content": PERSONA},
                            {"role": "user", "content": "What is the tallest"}]))
    after = ask(llm, question, temperature=0.0, max_tokens=16)
    assert "mountain" in text_of(after).lower() or "mount" in text_of(after).lower()
    # Only the words that came after, and the reply's header, were new.
    assert after[-1].input_tokens - after[-1].cached_tokens < 12


def test_new_instructions_read_only_themselves_when_the_tools_are_cached():
    """A client's session.update brings instructions no session had: the tools, the same
    for every session of the server, stay in the KV cache before them (the 0.5B model's
    prompt layout; the 1.5B reads its tools after the persona, see llama_llm)."""
    llm = LlamaLLM(model_path("llm-0.5b"), n_ctx=1024)
    ask(llm, "Hello.", tools=[WEATHER], max_tokens=4)
    request = LLMRequest([{"role": "system", "content": "You are Sunny, a bakery's voice. "
                           "Answer questions about bread in one short sentence."},
                          {"role": "user", "content": "Do you sell rye bread?"}],
                         tools=[WEATHER], max_tokens=4)
    usage = [c for c in llm.stream(request, threading.Event()) if isinstance(c, Usage)][-1]
    # All of the tools had been read already: only what follows them was new.
    tools_part = prompt_messages(request.messages, {"get_weather": WEATHER})[0]["content"]
    tools_part = tools_part[:tools_part.index("You are Sunny")]
    assert '"name": "get_weather"' in tools_part
    read = llm._llm.tokenize(f"<|im_start|>system\n{tools_part}".encode(), add_bos=False,
                             special=True)
    assert usage.cached_tokens >= len(read) - 1, (usage, len(read))


def test_cancel_stops_the_stream(llm):
    cancel = threading.Event()
    request = LLMRequest([{"role": "user", "content": "Count from one to fifty in words."}])
    got = []
    for chunk in llm.stream(request, cancel):
        got.append(chunk)
        cancel.set()
    assert len(got) == 1 and isinstance(got[0], TextDelta)
    # The context is still usable afterwards.
    assert "Paris" in text_of(ask(llm, "What is the capital of France?", temperature=0.2))


def test_max_tokens_caps_the_reply(llm):
    usage = ask(llm, "Describe the history of Rome.", max_tokens=5)[-1]
    assert usage.output_tokens <= 5


def test_long_history_is_trimmed_to_fit_the_context():
    small = LlamaLLM(model_path(DEFAULT_LLM), n_ctx=512)
    history = [{"role": role, "content": f"Message number {i} is about the city of Lyon."}
               for i in range(60) for role in ("user", "assistant")]
    chunks = ask(small, "What is the capital of France?", history=history, temperature=0.2,
                 max_tokens=20)
    usage = chunks[-1]
    assert usage.input_tokens + 20 <= 512
    assert text_of(chunks).strip()


SAY_HELLO_TOOL = {"type": "function", "name": "say_hello", "description": "Greet someone.",
                  "parameters": {"type": "object", "properties": {
                      "who": {"type": "string", "enum": ["Ada", "Bob"]}},
                      "required": ["who"]}}


def test_required_tool_choice_always_calls_a_listed_tool(llm):
    chunks = ask(llm, "Tell me a joke.", tools=[WEATHER, SAY_HELLO_TOOL], tool_choice="required")
    (call,) = [c for c in chunks if isinstance(c, ToolCall)]
    assert call.name in ("get_weather", "say_hello")
    assert isinstance(json.loads(call.arguments), dict)


def test_named_tool_choice_calls_that_tool_with_schema_valid_arguments(llm):
    chunks = ask(llm, "Please greet my friend.", tools=[WEATHER, SAY_HELLO_TOOL],
                 tool_choice={"type": "function", "name": "say_hello"})
    (call,) = [c for c in chunks if isinstance(c, ToolCall)]
    assert call.name == "say_hello"
    # The grammar only allows the enum's values.
    assert json.loads(call.arguments)["who"] in ("Ada", "Bob")


def test_prompt_messages_keep_a_fixed_prefix_and_plain_roles():
    history = [
        {"role": "system", "content": PERSONA},
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "", "tool_calls": [{
            "id": "c1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "rainy"},
    ]
    tools = {"get_weather": WEATHER}
    first = prompt_messages(history[:2], tools)
    later = prompt_messages(history, tools)
    assert first[0] == later[0] and PERSONA in first[0]["content"]
    tools_part = first[0]["content"].split(PERSONA)[0]
    assert '"name": "get_weather"' in tools_part
    # A client's own instructions keep the tools as a shared prefix the cache can reuse.
    other = prompt_messages([{"role": "system", "content": "You are Sunny."}, history[1]],
                             tools)
    assert other[0]["content"].startswith(tools_part)
    assert later[2] == {"role": "assistant",
                        "content": '{"name": "get_weather", "arguments": {"city": "Oslo"}}'}
    assert later[3]["role"] == "user"
    assert later[3]["content"].startswith("Tool result from get_weather: rainy\n")
    assert prompt_messages(history[:2], {}) == history[:2]


CHINESE = "How do you write 'thank you' in Chinese characters? Write them."


def generated_tokens(llm: LlamaLLM, usage: Usage) -> list[int]:
    """The tokens the last stream wrote, read back from llama.cpp's context."""
    return llm._llm.input_ids[usage.input_tokens:llm._llm.n_tokens].tolist()


def test_an_english_voice_is_never_given_another_script(llm):
    unmasked = LlamaLLM(model_path(DEFAULT_LLM), n_ctx=512, speakable_only=False)
    assert unspeakable(text_of(ask(unmasked, CHINESE, max_tokens=40)))  # the prompt invites it
    default = llm.sampling
    try:
        for sampling in (default, Sampling(temperature=1.5, repeat_penalty=1.0)):
            llm.sampling = sampling  # greedy, and hot enough to pick unlikely tokens
            for _ in range(3 if sampling.temperature else 1):
                chunks = ask(llm, CHINESE, max_tokens=40)
                text = text_of(chunks)
                assert text.strip() and unspeakable(text) == "", text
                tokens = generated_tokens(llm, chunks[-1])
                assert len(tokens) >= chunks[-1].output_tokens - 1
                assert all(speakable_piece(llm._llm.detokenize([t])) for t in tokens), tokens
    finally:
        llm.sampling = default


def test_the_client_temperature_scales_the_servers():
    assert Sampling().temperature_for(0.8) == 0.0 == Sampling().temperature_for(1.2)
    lively = Sampling(temperature=0.6)
    assert lively.temperature_for(0.8) == pytest.approx(0.6)
    assert lively.temperature_for(1.2) == pytest.approx(0.9)

