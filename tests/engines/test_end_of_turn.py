import pytest

from vivavoce.engines.punctuation_end_of_turn import sounds_finished


@pytest.mark.parametrize("text", ["What time is it?", "Tell me a joke.", "Stop!",
                                  'He said "yes."', "  What's the weather in Tokyo?  "])
def test_finished(text):
    assert sounds_finished(text)


@pytest.mark.parametrize("text", ["", "What time is", "I want to, um...", "So I went and…",
                                  "I need the.", "Tell me about, um.", "I was going to go and."])
def test_not_finished(text):
    assert not sounds_finished(text)
