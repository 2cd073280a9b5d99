"""HTTP stages serve sessions side by side: their calls wait on a server, not on this
machine's cores, so one session's slow transcription, answer or speech holds up no
other session's (brains/threads.thread_for). The local server answers no request until
two are open at once: calls made one after the other fail there."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from tests.engines.test_openai_http import REPLY, fake_openai  # noqa: F401  (the server)
from vivavoce.brains.base import AudioOut
from vivavoce.brains.cascade import Cascade
from vivavoce.engines.base import TextDelta
from vivavoce.engines.openai_http_llm import OpenAIHTTPLLM
from vivavoce.engines.openai_http_stt import OpenAIHTTPSTT
from vivavoce.engines.openai_http_tts import OpenAIHTTPTTS
from vivavoce.types import ResponseRequest


def said(text: str) -> dict:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def test_two_sessions_calls_to_http_stages_overlap(fake_openai):  # noqa: F811
    url, requests = fake_openai
    cascade = Cascade(OpenAIHTTPSTT(url, timeout=10), OpenAIHTTPLLM(url, timeout=10),
                      OpenAIHTTPTTS(url, timeout=10))
    requests.together = threading.Barrier(2, timeout=5)

    heard = await asyncio.gather(*(cascade.transcribe(np.zeros(4800, np.int16), "en", None)
                                   for _ in range(2)))
    assert all("heard" in text for text in heard), heard

    async def answer(n: int) -> str:
        request = ResponseRequest(f"resp_{n}", "Be brief.", [said("Hello.")],
                                  modalities=["text"])
        return "".join([out.text async for out in cascade.respond(request)
                        if isinstance(out, TextDelta)])

    assert await asyncio.gather(answer(1), answer(2)) == ["".join(REPLY)] * 2

    async def speech() -> int:
        return sum([len(out.pcm) async for out in cascade.speak("Hello there.", "alloy")
                    if isinstance(out, AudioOut)])

    assert all(samples > 0 for samples in await asyncio.gather(speech(), speech()))
    assert not requests.together.broken
