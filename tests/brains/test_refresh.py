"""After an answer the cascade lets the LLM tidy its cache (a refresh), and a refresh
gives the model up to anything that wants it: a response, a score, a prefill."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

from vivavoce.brains.cascade import Cascade
from vivavoce.brains.threads import run_later
from vivavoce.engines.base import LLMRequest, TextDelta
from vivavoce.types import ResponseRequest


class TidyingLLM:
    """An LLM whose refresh takes 10 s unless told to stop."""

    name = "tidying"

    def __init__(self) -> None:
        self.refreshing = threading.Event()
        self.refreshes: list[bool] = []  # per refresh: did it give way
        self.prefills: list[float] = []  # when each prefill read

    def prefill(self, request: LLMRequest, pause: Callable[[], None] = lambda: None) -> None:
        self.prefills.append(time.monotonic())

    def refresh(self, stop: Callable[[], bool]) -> None:
        self.refreshing.set()
        deadline = time.monotonic() + 10
        while not stop() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.refreshes.append(stop())
        self.refreshing.clear()

    def stream(self, request: LLMRequest, cancel: threading.Event) -> Iterator[TextDelta]:
        yield TextDelta("Hello there.")


def _cascade(llm: TidyingLLM) -> Cascade:
    tts = SimpleNamespace(voices=["joe"], default_voice="joe", sample_rate=22050)
    return Cascade(SimpleNamespace(name="stt"), llm, tts)  # type: ignore[arg-type]


def _request(text: str = "Hi.") -> ResponseRequest:
    return ResponseRequest("resp_1", "Be brief.", [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}],
        modalities=["text"])


async def _answer(cascade: Cascade, request: ResponseRequest) -> str:
    return "".join([c.text async for c in cascade.respond(request) if isinstance(c, TextDelta)])


async def test_an_answer_is_followed_by_a_refresh_that_gives_way_to_a_prefill():
    llm = TidyingLLM()
    cascade = _cascade(llm)
    assert await _answer(cascade, _request()) == "Hello there."
    assert await asyncio.to_thread(llm.refreshing.wait, 5)
    asked = time.monotonic()
    await cascade.prefill(_request("What is"))
    # The prefill read (it was not skipped as it is behind a response), within a few of
    # the refresh's 10 ms steps, not after its 10 s.
    assert llm.prefills and llm.prefills[0] - asked < 1.0
    assert llm.refreshes == [True]


async def test_a_refresh_gives_way_to_the_next_answer():
    llm = TidyingLLM()
    cascade = _cascade(llm)
    await _answer(cascade, _request())
    assert await asyncio.to_thread(llm.refreshing.wait, 5)
    started = time.monotonic()
    assert await _answer(cascade, _request("And now?")) == "Hello there."
    assert time.monotonic() - started < 5  # not the refresh's 10 s
    assert llm.refreshes[0] is True


async def test_a_prefill_never_runs_behind_a_response():
    llm = TidyingLLM()
    cascade = _cascade(llm)
    busy, release = threading.Event(), threading.Event()
    run_later(lambda: (busy.set(), release.wait(5)), "llm")  # the LLM busy for a moment
    assert await asyncio.to_thread(busy.wait, 5)
    answer = asyncio.create_task(_answer(cascade, _request()))
    await asyncio.sleep(0.05)  # the answer is queued...
    prefill = asyncio.create_task(cascade.prefill(_request("What is")))  # ...then this
    await asyncio.sleep(0.05)
    release.set()
    assert await answer == "Hello there."
    await prefill
    assert llm.prefills == []  # stale by its turn: skipped
    await cascade.prefill(_request("What is the"))  # nothing ahead of it: read
    assert len(llm.prefills) == 1
