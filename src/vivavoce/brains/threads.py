"""Blocking engine iterators consumed from asyncio without blocking the loop."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Worker:
    """One long-lived thread that runs its kind of work in turn. Native engines keep state
    per calling thread (llama.cpp's and CTranslate2's OpenMP teams): a new thread for
    every response left ~0.5 MB behind each time (RSS +45 MB per 100 answers), one thread
    leaves nothing. And an engine called from several threads has a team for each, whose
    idle threads spin for the CPU the working one needs: with prefills and transcriptions
    on asyncio's pool threads, the LLM wrote 55-95 ms a token in the bench instead of ~45."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def has_waiting(self) -> bool:
        return not self._jobs.empty()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            # A job reports its own failures; only its event loop being gone can reach
            # here, and the next job must still run.
            with contextlib.suppress(Exception):
                job()


_workers: dict[str, _Worker] = {}
_workers_lock = threading.Lock()


def _worker(name: str) -> _Worker:
    with _workers_lock:
        if name not in _workers:
            _workers[name] = _Worker(name)
        return _workers[name]


def run_later(job: Callable[[], None], name: str) -> None:
    """Run `job` on the long-lived thread called `name`, after what it has to do now."""
    _worker(name).submit(job)


def work_waiting(name: str) -> bool:
    """Whether work waits behind what the thread called `name` is doing."""
    return _worker(name).has_waiting()


async def call_in_thread(fn: Callable[[], T], name: str) -> T:
    """`fn()` on the long-lived thread called `name` (after what it is running now).

    Abandoned (the caller cancelled) before its turn, it does not run at all."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()
    abandoned = threading.Event()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def job() -> None:
        if abandoned.is_set():
            return
        try:
            result = fn()
        except BaseException as exc:  # handed to the caller, raised there
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    _worker(name).submit(job)
    try:
        return await done
    except asyncio.CancelledError:
        abandoned.set()
        raise


async def iterate_in_thread(make: Callable[[threading.Event], Iterator[T]],
                            name: str) -> AsyncIterator[T]:
    """Run `make(cancel)` on the long-lived thread called `name` (after what it is
    running now), yielding what it yields.

    Closing the async iterator sets `cancel`, so engines stop between steps.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    cancel = threading.Event()

    def put(value: object) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, value)

    def work() -> None:
        try:
            for value in make(cancel):
                if cancel.is_set():
                    break
                put(value)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            put(_DONE)

    _worker(name).submit(work)
    try:
        while True:
            value = await queue.get()
            if value is _DONE:
                return
            if isinstance(value, BaseException):
                raise value
            yield value  # type: ignore[misc]
    finally:
        cancel.set()
