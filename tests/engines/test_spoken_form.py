"""Numbers, money, units and times go to the voice the way a person says them."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vivavoce.engines.spoken_form import spoken


@pytest.mark.parametrize(("text", "said"), [
    ("That costs $5.99.", "That costs 5 dollars and 99 cents."),
    ("It's $1, or £20, or €10.50.", "It's 1 dollar, or 20 pounds, or 10 euros and 50 cents."),
    ("A $3.5 billion deal", "A 3.5 billion dollars deal"),
    ("It is 21°C, or 70 °F.", "It is 21 degrees Celsius, or 70 degrees Fahrenheit."),
    ("About 1 km, 5 km or 3.5 kg away at 50 km/h.",
     "About 1 kilometer, 5 kilometers or 3.5 kilograms away at 50 kilometers per hour."),
    ("Everest is 8,849 m tall; I am 6 ft, 1 ft more.",
     "Everest is 8,849 meters tall; I am 6 feet, 1 foot more."),
    ("It's 3:05, at 3:00 pm, or 10:30.", "It's 3 oh 5, at 3 pm, or 10:30."),
    ("Add 1/2 cup, open 24/7.", "Add one half cup, open twenty-four seven."),
    ("12 x 12 = 144 and 9 - 4 is 5", "12 times 12 equals 144 and 9 minus 4 is 5"),
])
def test_what_espeak_misreads_is_written_out(text, said):
    assert spoken(text) == said


@pytest.mark.parametrize("text", [
    "In 1969, 3.5 billion people", "It's 10:30 on the 21st.", "a 5-minute walk",
    "I'm 5 minutes away.", "2024-05-01", "The m in them",
])
def test_what_espeak_reads_well_is_left_alone(text):
    assert spoken(text) == text


def test_piper_says_the_written_out_form():
    from vivavoce.engines.piper_tts import PiperTTS
    from vivavoce.models.locate import model_path

    tts = PiperTTS(model_path("tts"), noise=False)

    def say(text: str) -> np.ndarray:
        return np.concatenate(list(tts.synthesize(text, None, threading.Event())))

    assert np.array_equal(say("It costs $5 at 21°C."),
                          say("It costs 5 dollars at 21 degrees Celsius."))
