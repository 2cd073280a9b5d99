"""Blocking engine iterators consumed from asyncio without blocking the loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
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
    on asyncio's pool threads, the LLM wrote 55-95 ms a token in the bench instead of ~45.

    Urgent jobs go ahead of the others, and a long job may let them run in its midst
    (`run_urgent`, called from the job itself): an end-of-turn score does not wait
    seconds behind the reading of a new prompt."""

    def __init__(self, name: str) -> None:
        self._ready = threading.Condition()
        self._jobs: deque[Callable[[], None]] = deque()
        self._urgent: deque[Callable[[], None]] = deque()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None], urgent: bool = False) -> None:
        with self._ready:
            (self._urgent if urgent else self._jobs).append(job)
            self._ready.notify()

    def has_waiting(self) -> bool:
        return bool(self._jobs or self._urgent)

    def run_urgent(self) -> None:
        """Run the urgent jobs waiting, here and now (on this worker's own thread)."""
        assert threading.current_thread() is self._thread, "run_urgent off its thread"
        while True:
            with self._ready:
                if not self._urgent:
                    return
                job = self._urgent.popleft()
            _run(job)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not (self._urgent or self._jobs):
                    self._ready.wait()
                job = (self._urgent or self._jobs).popleft()
            _run(job)


def _run(job: Callable[[], None]) -> None:
    # A job reports its own failures; only its event loop being gone can reach here,
    # and the next job must still run.
    with contextlib.suppress(Exception):
        job()


_workers: dict[str, _Worker] = {}
_workers_lock = threading.Lock()


def _worker(name: str) -> _Worker:
    with _workers_lock:
        if name not in _workers:
            _workers[name] = _Worker(name)
        return _workers[name]


def thread_for(engine: object, name: str) -> str | None:
    """The thread an engine's work runs on: the long-lived one called `name`, or none
    (None: a thread of its own for each call) for an engine whose calls may overlap
    (`concurrent = True`: an HTTP stage, waiting on its server rather than on this
    machine's cores, where one slow call must not hold up every session's)."""
    return None if getattr(engine, "concurrent", False) else name


def _submit(job: Callable[[], None], name: str | None, urgent: bool = False) -> None:
    if name is None:
        threading.Thread(target=_run, args=(job,), daemon=True).start()
    else:
        _worker(name).submit(job, urgent)


def run_later(job: Callable[[], None], name: str) -> None:
    """Run `job` on the long-lived thread called `name`, after what it has to do now."""
    _worker(name).submit(job)


def work_waiting(name: str) -> bool:
    """Whether work waits behind what the thread called `name` is doing."""
    return _worker(name).has_waiting()


def run_urgent(name: str) -> None:
    """From a job on the thread called `name`: run the urgent work waiting for it now,
    in the middle of this job, which goes on after."""
    _worker(name).run_urgent()


async def call_in_thread(fn: Callable[[], T], name: str | None, urgent: bool = False) -> T:
    """`fn()` on the long-lived thread called `name` (after what it is running now, or,
    `urgent`, before any other work waiting and at the next `run_urgent` of the job
    running); `name` None: on a thread of its own, now.

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

    _submit(job, name, urgent)
    try:
        return await done
    except asyncio.CancelledError:
        abandoned.set()
        raise


async def iterate_in_thread(make: Callable[[threading.Event], Iterator[T]],
                            name: str | None) -> AsyncIterator[T]:
    """Run `make(cancel)` on the long-lived thread called `name` (after what it is
    running now; None: on a thread of its own, now), yielding what it yields.

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

    _submit(work, name)
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
