"""Each engine's work runs in turn on one long-lived thread of its own."""

from __future__ import annotations

import asyncio
import threading

import pytest

from vivavoce.brains.threads import call_in_thread, run_later, run_urgent


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


async def test_urgent_work_goes_first_and_runs_in_the_midst_of_a_long_job():
    busy, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def block() -> None:
        busy.set()
        release.wait(5)

    run_later(block, "t-c")
    assert await asyncio.to_thread(busy.wait, 5)
    plain = asyncio.create_task(call_in_thread(lambda: ran.append("plain"), "t-c"))
    await asyncio.sleep(0.05)
    urgent = asyncio.create_task(call_in_thread(lambda: ran.append("urgent"), "t-c",
                                                urgent=True))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(plain, urgent)
    assert ran == ["urgent", "plain"]  # queued later, run sooner

    def long_job() -> None:
        for step in range(50):  # 2.5 s, with a chance for urgent work between steps
            ran.append(f"step {step}")
            run_urgent("t-c")
            threading.Event().wait(0.05)

    ran.clear()
    job = asyncio.create_task(call_in_thread(long_job, "t-c"))
    await asyncio.sleep(0.3)
    await call_in_thread(lambda: ran.append("urgent"), "t-c", urgent=True)
    assert not job.done()  # it ran in the midst of the job...
    await job
    where = ran.index("urgent")
    assert 3 <= where <= 12 and len(ran) == 51  # ...which went on after it


async def test_run_urgent_belongs_to_its_own_thread():
    with pytest.raises(AssertionError):
        run_urgent("t-d")
