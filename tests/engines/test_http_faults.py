"""HTTP stages that misbehave — hang, 429, 5xx, garbage, a connection cut mid-answer —
against a local server speaking the OpenAI shapes (the engines are the real clients):
each fails clearly within its stage's timeout, the response it was part of ends
`failed` with the reason, the next turn works, and no thread or socket is left behind.
A local engine that raises is handled the same way."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from tests.engines.test_openai_http import fake_openai  # noqa: F401  (the server)
from tests.fakes import FakeTransport, FakeVAD, until, voice
from tests.runtime.test_runner import leave
from vivavoce.brains.cascade import Cascade
from vivavoce.brains.factory import build_cascade
from vivavoce.engines.base import EngineError, LLMRequest
from vivavoce.engines.openai_http_llm import OpenAIHTTPLLM
from vivavoce.engines.openai_http_stt import OpenAIHTTPSTT
from vivavoce.engines.openai_http_tts import OpenAIHTTPTTS
from vivavoce.runtime import Context, InputAudio, Runner
from vivavoce.runtime.backends import SessionBackend
from vivavoce.settings import Settings
from vivavoce.tools import ToolRegistry

TIMEOUT_S = 0.3
FAULTS = ["hang", 429, 503, "garbage", "cut"]
# What each stage's error says, per fault.
SAYS = {
    "hang": {"stt": "ReadTimeout", "llm": "ReadTimeout", "tts": "ReadTimeout"},
    429: {"stt": "429 Too Many Requests", "llm": "429 Too Many Requests",
          "tts": "429 Too Many Requests"},
    503: {"stt": "503 Service Unavailable", "llm": "503 Service Unavailable",
          "tts": "503 Service Unavailable"},
    "garbage": {"stt": "unexpected transcription response", "llm": "ended before it finished",
                "tts": "text/html instead of audio"},
    "cut": {"stt": "RemoteProtocolError", "llm": "bad SSE data", "tts": "RemoteProtocolError"},
}
PATHS = {"stt": "/audio/transcriptions", "llm": "/chat/completions", "tts": "/audio/speech"}


def misbehave(requests, fault: str | int, stage: str | None = None) -> None:
    requests.fault, requests.status = (fault, 200) if isinstance(fault, str) else (None, fault)
    requests.fault_on = PATHS[stage] if stage else ""


def behave(requests) -> None:
    requests.fault, requests.status = None, 200


def engine_threads() -> list[threading.Thread]:
    """Threads the cascade's engines run on: one long-lived one per kind, however many
    streams failed or hung."""
    return [t for t in threading.enumerate() if t.name in ("llm", "tts")]


def open_sockets() -> int:
    return sum(os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
               for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}"))


@pytest.mark.parametrize("fault", FAULTS, ids=str)
def test_each_http_stage_fails_clearly(fake_openai, fault):  # noqa: F811
    url, requests = fake_openai
    misbehave(requests, fault)
    runs = {
        "stt": lambda: OpenAIHTTPSTT(url, timeout=TIMEOUT_S).transcribe(
            np.zeros(1600, np.float32)),
        "llm": lambda: list(OpenAIHTTPLLM(url, timeout=TIMEOUT_S).stream(
            LLMRequest([{"role": "user", "content": "hi"}]), threading.Event())),
        "tts": lambda: list(OpenAIHTTPTTS(url, timeout=TIMEOUT_S).synthesize(
            "Hello there.", None, threading.Event())),
    }
    for stage, run in runs.items():
        with pytest.raises(EngineError) as failed:
            run()
        assert SAYS[fault][stage] in str(failed.value), (stage, str(failed.value))


@pytest.fixture
def http_cascade(fake_openai) -> Iterator[tuple[Cascade, object]]:  # noqa: F811
    """All three stages over HTTP, each with a short timeout, built from settings."""
    url, requests = fake_openai
    settings = Settings(stt="http", llm="http", tts="http", stt_url=url, llm_url=url,
                        tts_url=url, http_api_key="sk-stage-key", stt_timeout_s=TIMEOUT_S,
                        llm_timeout_s=TIMEOUT_S, tts_timeout_s=TIMEOUT_S)
    yield build_cascade(settings), requests


async def spoken_turn(client: FakeTransport, after: int) -> dict:
    """Speak, commit, ask for an answer; the response.done it gets."""
    client.put(InputAudio(voice(600)))
    client.put({"type": "input_audio_buffer.commit"})
    client.put({"type": "response.create"})
    return await client.wait_for("response.done", timeout=10, after=after)


@pytest.mark.parametrize("stage, fault", [("stt", "hang"), ("stt", 503), ("llm", 429),
                                          ("llm", "garbage"), ("llm", "hang"),
                                          ("tts", "cut"), ("tts", 500)], ids=str)
async def test_a_failing_stage_fails_its_response_and_the_next_turn_works(
        http_cascade, stage, fault):
    cascade, requests = http_cascade
    sockets = open_sockets()
    runner = Runner(Settings(), SessionBackend(cascade, FakeVAD(), ToolRegistry()))
    client = FakeTransport()
    served = asyncio.create_task(runner.serve(client, Context()))
    client.put({"type": "session.update", "session": {"audio": {"input": {
        "turn_detection": None, "transcription": {"model": "whisper-1"}}}}})
    await client.wait_for("session.updated")
    misbehave(requests, fault, stage)
    failed = await spoken_turn(client, 0)
    assert failed["response"]["status"] == "failed"
    error = failed["response"]["status_details"]["error"]
    expected = SAYS.get(fault, {}).get(stage, str(fault))
    assert expected in error["message"], error
    assert error["code"] == ("transcription_failed" if stage == "stt" else "engine_error")
    assert "sk-stage-key" not in str(client.events)
    if stage == "stt":
        (told,) = client.of_type("conversation.item.input_audio_transcription.failed")
        assert expected in told["error"]["message"]
    behave(requests)
    mark = len(client.events)
    answered = await spoken_turn(client, mark)
    assert answered["response"]["status"] == "completed"
    assert answered["response"]["output"][0]["content"][0]["transcript"] == \
        "Hello there, how can I help?"
    assert client.of_type("response.output_audio.delta")
    await leave(client, served)
    # Nothing left behind: no engine thread, no socket.
    await until(lambda: open_sockets() <= sockets, 5)
    assert len(engine_threads()) <= 2


class RaisingLLM:
    """A local engine with a bug."""

    name = "raising"

    def prefill(self, request: LLMRequest, pause: Callable[[], None] = lambda: None) -> None:
        pass

    def refresh(self, stop: Callable[[], bool]) -> None:
        pass

    def stream(self, request: LLMRequest, cancel: threading.Event) -> Iterator[object]:
        raise ZeroDivisionError("division by zero in the sampler")


async def test_a_local_engine_that_raises_fails_that_response_only(http_cascade):
    cascade, _ = http_cascade
    local = Cascade(cascade.stt, RaisingLLM(), cascade.tts)
    runner = Runner(Settings(), SessionBackend(local, FakeVAD(), ToolRegistry()))
    client = FakeTransport()
    served = asyncio.create_task(runner.serve(client, Context()))
    client.put({"type": "session.update", "session": {"audio": {"input": {
        "turn_detection": None}}}})
    await client.wait_for("session.updated")
    failed = await spoken_turn(client, 0)
    assert failed["response"]["status"] == "failed"
    assert "ZeroDivisionError: division by zero" in \
        failed["response"]["status_details"]["error"]["message"]
    local.llm = cascade.llm  # the engine is fixed (or swapped): the session goes on
    answered = await spoken_turn(client, len(client.events))
    assert answered["response"]["status"] == "completed"
    await leave(client, served)
