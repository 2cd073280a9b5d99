"""What the local LLM reads (engines/llama_prompt): the user's digits as numbers, and
which words restate a request a tool's description quotes."""

from __future__ import annotations

from vivavoce.engines.llama_prompt import echoes_a_request, prompt_messages
from vivavoce.tools.builtin import registry

TOOLS = {t["name"]: t for t in registry.schemas(["get_weather", "get_time", "unlock_door"])}


def test_the_model_reads_the_users_digits_as_numerals_and_its_own_words_as_written():
    out = prompt_messages([{"role": "user", "content": "Is it four two one seven?"},
                           {"role": "assistant", "content": "Try one two three four."}], {})
    assert [m["content"] for m in out] == ["Is it 4 2 1 7?", "Try one two three four."]


def test_a_request_a_tool_quotes_is_echoed_give_or_take_a_few_words():
    assert "What day is it?" in TOOLS["get_time"]["description"]
    for said in ("What day is it?", "What day is it today?", "what day of the week is it"):
        assert echoes_a_request(said, TOOLS), said
    for said in ("What day comes after Friday?", "Is it raining?", "What is it?",
                 "What time is it in Paris?", "What day is it in the story you told me, "
                 "the one about the dragon?"):
        assert not echoes_a_request(said, TOOLS), said
    assert not echoes_a_request("What day is it?", {})
