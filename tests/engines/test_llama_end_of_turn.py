"""The local LLM's end-of-turn score: finished words above unfinished ones."""

from __future__ import annotations

import pytest

from vivavoce.engines.base import LLMRequest
from vivavoce.engines.llama_end_of_turn import LlamaEndOfTurn, normalise
from vivavoce.engines.llama_llm import _common_prefix

PERSONA = LLMRequest([{"role": "system", "content": "You are a helpful voice assistant."}])
# (finished, not yet): each pair the same words but for where they stop.
PAIRS = [
    ("What's the weather in Paris?", "What's the weather in"),
    ("Tell me a joke.", "Tell me a joke about"),
    ("Can you set a timer for ten minutes?", "Can you set a timer for"),
    ("I'm planning a trip to the mountains, what should I pack?",
     "I'm planning a trip to the mountains and"),
    ("My laptop gets slow after a few hours, how can I fix it?",
     "My laptop gets slow after a few hours so"),
]


@pytest.fixture(scope="module")
def end_of_turn(llm_engine) -> LlamaEndOfTurn:
    return LlamaEndOfTurn(llm_engine)


def test_normalise_drops_final_punctuation_only():
    assert normalise("  Hello,  there. How are you?  ") == "Hello, there. How are you"
    assert normalise("I want to, um...") == "I want to, um"


@pytest.mark.parametrize("finished, unfinished", PAIRS)
def test_finished_words_score_above_unfinished_ones(end_of_turn, finished, unfinished):
    done = end_of_turn.probability(finished, PERSONA)
    going_on = end_of_turn.probability(unfinished, PERSONA)
    assert 0.0 <= going_on < done <= 1.0


def test_an_answer_to_the_assistants_question_is_finished(end_of_turn):
    asked = LLMRequest([*PERSONA.messages,
                        {"role": "assistant", "content": "Which city do you mean?"}])
    assert end_of_turn.probability("Paris.", asked) > end_of_turn.probability("Paris in", asked)


def test_scoring_keeps_the_prompt_cache_for_the_reply(end_of_turn, llm_engine):
    """The score reads the reply's own prompt up to the user's words: a reply to them
    afterwards finds everything but the final punctuation in the cache."""
    said = "What's the capital of France?"
    llm_engine.prefill(PERSONA)  # as a session has it: read since it began
    end_of_turn.probability(said, PERSONA)
    reply = LLMRequest([*PERSONA.messages, {"role": "user", "content": said}])
    tokens = llm_engine.tokenize(llm_engine.render(reply))
    shared = _common_prefix(llm_engine._llm._input_ids.tolist(), tokens)
    assert len(tokens) - shared <= 8  # "?" <|im_end|> and the assistant's header
