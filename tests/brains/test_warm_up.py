"""The server reads the default persona's prompt at start, not at the first turn."""

from __future__ import annotations

import asyncio
import threading

from vivavoce.brains.factory import warm_up
from vivavoce.engines.base import LLMRequest, Usage
from vivavoce.personas import get_persona
from vivavoce.settings import Settings
from vivavoce.tools import builtin
from vivavoce.types import ResponseRequest


async def usage_of(outputs) -> Usage:
    return [out async for out in outputs if isinstance(out, Usage)][-1]


def test_the_first_turn_finds_the_persona_prompt_read(cascade):
    settings = Settings()
    persona = get_persona(settings.persona)
    # Something else in the cache, as after a restart with another conversation.
    list(cascade.llm.stream(LLMRequest([{"role": "user", "content": "Say hi."}], max_tokens=2),
                            threading.Event()))
    warm_up(cascade, settings)
    said = {"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "What is the capital of France?"}]}
    request = ResponseRequest("resp_1", persona.instructions, [said], modalities=["text"],
                              tools=builtin.registry.schemas(persona.tools),
                              max_output_tokens=4)
    usage = asyncio.run(usage_of(cascade.respond(request)))
    # Only the user's words and the reply's header were new.
    assert usage.input_tokens - usage.cached_tokens < 25, usage
