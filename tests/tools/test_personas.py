"""Personas exist, are small-model sized, and use only registered tools."""

from __future__ import annotations

import pytest

from vivavoce.personas import PERSONAS, Persona, get_persona
from vivavoce.tools.builtin import registry


def test_required_personas() -> None:
    assert {"assistant", "jarvis", "butler", "enigma"} <= set(PERSONAS)
    assert get_persona("Jarvis") is PERSONAS["jarvis"]
    with pytest.raises(KeyError, match="assistant, jarvis, butler, enigma"):
        get_persona("hal")


@pytest.mark.parametrize("persona", PERSONAS.values(), ids=list(PERSONAS))
def test_persona_is_usable(persona: Persona) -> None:
    assert persona.tools and all(name in registry for name in persona.tools)
    assert registry.schemas(persona.tools)
    assert persona.voice == "joe"
    assert persona.filler and all(len(line) < 60 for line in persona.filler)
    # A short prompt prefix (~200 tokens at most): prefill stays well under a second.
    assert len(persona.instructions) < 800


def test_enigma_keeps_no_code_in_public() -> None:
    enigma = get_persona("enigma")
    assert enigma.tools == ("unlock_door",)
    assert enigma.greeting and "four digits" in enigma.greeting
    assert not any(ch.isdigit() for ch in enigma.instructions + enigma.greeting)
