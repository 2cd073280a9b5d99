"""The first caller after a start is served like the tenth: a freshly built local brain,
warmed as `vivavoce serve` warms it, answers the first phone call without reading the
server-wide prompt (its persona, tools and end_call) again."""

from __future__ import annotations

import asyncio

import numpy as np

from tests.helpers import silence
from vivavoce.brains.cascade import SPOKEN_STYLE, Cascade
from vivavoce.brains.factory import build_end_of_turn, build_llm, warm_up
from vivavoce.engines.base import LLMRequest
from vivavoce.personas import get_persona
from vivavoce.settings import Settings
from vivavoce.tools import builtin


async def test_the_first_phone_call_after_start_up_reads_no_server_wide_prompt(
        phone_server, phones, engines, speak):
    settings = Settings()
    llm = build_llm(settings)  # a new model: nothing read yet
    cascade = Cascade(engines["stt"], llm, engines["tts"], build_end_of_turn(settings, llm))
    await asyncio.to_thread(warm_up, cascade, settings)  # as serve does, before serving
    # Nothing read while the caller speaks (no transcripts of the turn so far to prefill
    # with): the answer's request is the model's first since the warm-up.
    live = await phone_server(brain=cascade, vad=engines["vad"], speculative_stt=False)
    phone = phones(live.caller())
    assert (await phone.dial()).status_code == 200
    await phone.connect()
    session = await live.watch(phone)
    phone.say(np.concatenate([speak("What is the capital of France?"), silence(1500)]))
    done = (await session.wait_for("response.done", 60))["response"]
    assert done["status"] == "completed"
    assert "paris" in done["output"][0]["content"][0]["transcript"].lower()
    # The prompt the call's persona, tools and end_call make, up to the caller's words:
    persona = get_persona(settings.persona)
    prompt = llm.tokenize(llm.render(LLMRequest(
        [{"role": "system", "content": f"{SPOKEN_STYLE}\n\n{persona.instructions}"}],
        builtin.registry.schemas((*persona.tools, "end_call")))))
    prefix = prompt.index(llm._end_of_message) + 1
    usage = done["usage"]
    assert usage["input_token_details"]["cached_tokens"] >= prefix, (usage, prefix)
    await phone.hang_up()
