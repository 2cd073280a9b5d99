"""Each engine's work runs in turn on one long-lived thread of its own."""

from __future__ import annotations

import asyncio
import threading

import pytest

from vivavoce.brains.threads import call_in_thread, run_later


async def test_a_call_runs_on_the_named_thread_and_returns_or_raises():
    assert await call_in_thread(lambda: threading.current_thread().name, "t-a") == "t-a"
    # Later calls find the same thread, not a new one.
    first = await call_in_thread(threading.get_ident, "t-a")
    assert await call_in_thread(threading.get_ident, "t-a") == first

    def fail() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await call_in_thread(fail, "t-a")


async def test_calls_wait_their_turn_and_an_abandoned_one_never_runs():
    busy, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def block() -> None:
        busy.set()
        release.wait(5)

    run_later(block, "t-b")
    assert await asyncio.to_thread(busy.wait, 5)
    queued = asyncio.create_task(call_in_thread(lambda: ran.append("abandoned"), "t-b"))
    await asyncio.sleep(0.05)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    release.set()
    await call_in_thread(lambda: ran.append("next"), "t-b")
    assert ran == ["next"]
