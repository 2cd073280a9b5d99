"""Runs a sans-I/O Session against a Brain on asyncio: the I/O half of a session.

Client events go in through `handle` (raw input audio through `audio`); the session's
commands become tasks (transcription, responses, server tools); everything the
session emits is sent in order through `send`, one flush at a time. A response the
session starts ahead (`Prepare`) runs at once, its output held until the session
adopts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import numpy as np

from vivavoce.audio.formats import INTERNAL_RATE
from vivavoce.brains.base import AudioOut, Brain, BrainOutput, Mark
from vivavoce.engines.base import TextDelta, ToolCall, ToolCallStarted
from vivavoce.protocol.errors import ProtocolError, server_error
from vivavoce.session.commands import (
    Cancel,
    Command,
    Prefill,
    Prepare,
    Respond,
    RunTool,
    ScoreTurn,
    Transcribe,
)
from vivavoce.session.session import Session
from vivavoce.tools import ToolContext, ToolRegistry
from vivavoce.types import Event, Played, ResponseRequest, Send, Usage

log = logging.getLogger(__name__)

# A brain output and when it was made (held output is sent later than that).
Made = tuple[BrainOutput, float]


class _Ahead:
    """A response running before it was asked for; what it makes waits in a queue."""

    def __init__(self, outputs: AsyncIterator[BrainOutput], clock: Callable[[], float],
                 spawn: Callable[[Awaitable[None]], asyncio.Task[None]]) -> None:
        self._clock = clock
        self._made: asyncio.Queue[Made | Exception | None] = asyncio.Queue()
        self.task = spawn(self._run(outputs))

    async def _run(self, outputs: AsyncIterator[BrainOutput]) -> None:
        try:
            async with contextlib.aclosing(outputs) as stream:
                async for out in stream:
                    self._made.put_nowait((out, self._clock()))
        except Exception as exc:  # the response's own failure: reported once adopted
            self._made.put_nowait(exc)
        else:
            self._made.put_nowait(None)

    async def outputs(self) -> AsyncIterator[Made]:
        try:
            while (made := await self._made.get()) is not None:
                if isinstance(made, Exception):
                    raise made
                yield made
        finally:  # closed early (cancelled): stop the work behind it
            self.task.cancel()


async def _timed(outputs: AsyncIterator[BrainOutput],
                 clock: Callable[[], float]) -> AsyncIterator[Made]:
    async with contextlib.aclosing(outputs) as stream:
        async for out in stream:
            yield out, clock()


class SessionDriver:
    def __init__(self, session: Session, brain: Brain, send: Send,
                 clock: Callable[[], float] = time.monotonic,
                 tools: ToolRegistry | None = None, tool_context: ToolContext | None = None,
                 fillers: Sequence[str] = ()) -> None:
        self.session = session
        self.brain = brain
        self._send = send
        self._clock = clock
        self._send_lock = asyncio.Lock()
        self._responses: dict[str, asyncio.Task[None]] = {}
        self._tool_tasks: dict[str, asyncio.Task[None]] = {}
        self._ahead: dict[str, _Ahead] = {}
        self._scoring: dict[str, asyncio.Task[None]] = {}
        self.tools = tools
        self.tool_context = tool_context or ToolContext(session.config.id)
        self._fillers = itertools.cycle(fillers) if fillers else None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.flush()

    async def greet(self, text: str) -> None:
        self.session.say(text, self._clock())
        await self.flush()

    async def handle(self, raw: str | bytes | Event) -> None:
        self.session.receive(raw, self._clock())
        await self.flush()

    async def audio(self, pcm: np.ndarray) -> None:
        self.session.append_audio(pcm, self._clock())
        await self.flush()

    async def reject(self, err: ProtocolError, client_event_id: str | None = None) -> None:
        """A problem found before the session could see the event (or while the runner
        handed it over)."""
        self.session.report(err, client_event_id)
        await self.flush()

    async def played(self, report: Played) -> None:
        self.session.played(report, self._clock())
        await self.flush()

    def user_audio(self, item_id: str) -> np.ndarray | None:
        return self.session.item_audio(item_id)

    async def flush(self) -> None:
        async with self._send_lock:
            events, commands = self.session.drain()
            for command in commands:
                self._execute(command)
            for event in events:
                await self._send(event)

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        """The last line of defence for the driver's own tasks (a transcription, a response,
        a tool): an unexpected exception becomes an `error`; the session goes on."""
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        what = getattr(task.get_coro(), "__name__", "a background task")
        self.session.report(server_error(what, task.exception()))
        telling = asyncio.ensure_future(self.flush())
        self._tasks.add(telling)
        telling.add_done_callback(self._told)

    def _told(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:  # failing again: logged
            log.error("could not report a failure: %r", task.exception())

    def _execute(self, command: Command) -> None:
        if isinstance(command, Transcribe):
            self._spawn(self._transcribe(command))
        elif isinstance(command, Prepare):
            rid = command.request.response_id
            ahead = _Ahead(self.brain.respond(command.request), self._clock, self._spawn)
            self._ahead[rid], self._responses[rid] = ahead, ahead.task
        elif isinstance(command, Prefill):
            self._spawn(self._prefill(command))
        elif isinstance(command, ScoreTurn):
            self._scoring[command.id] = self._spawn(self._score(command))
        elif isinstance(command, Respond):
            # A turn is being answered: guesses about whether it ended are moot now and
            # must not hold the LLM.
            for task in self._scoring.values():
                task.cancel()
            rid = command.request.response_id
            ahead = self._ahead.pop(rid, None)
            if command.request.say is not None:
                outputs = _timed(self._say(command.request), self._clock)
            else:
                outputs = ahead.outputs() if ahead else _timed(
                    self.brain.respond(command.request), self._clock)
            self._responses[rid] = self._spawn(self._respond(command, outputs))
        elif isinstance(command, RunTool):
            self._tool_tasks[command.call_id] = self._spawn(self._run_tool(command))
        else:
            tasks = self._responses if isinstance(command, Cancel) else self._tool_tasks
            key = command.response_id if isinstance(command, Cancel) else command.call_id
            self._ahead.pop(key, None)
            task = tasks.pop(key, None)
            if task is not None:
                task.cancel()

    async def _prefill(self, command: Prefill) -> None:
        try:
            await self.brain.prefill(command.request)
        except Exception as exc:  # only a head start was lost
            log.warning("prefilling failed: %s", exc)

    async def _score(self, command: ScoreTurn) -> None:
        try:
            probability = await self.brain.end_of_turn(command.said, command.context)
        except Exception as exc:  # the turn still ends, at the silence cap
            log.warning("end-of-turn scoring failed: %s", exc)
            return
        finally:
            self._scoring.pop(command.id, None)
        self.session.end_of_turn_scored(command.id, probability, self._clock())
        await self.flush()

    async def _run_tool(self, command: RunTool) -> None:
        try:
            if self.tools is None:
                output = json.dumps({"error": f"no server tool named {command.name}"})
            else:
                output = await self.tools.answer(command.name, command.arguments,
                                                 self.tool_context)
        finally:
            self._tool_tasks.pop(command.call_id, None)
        self.session.tool_result(command.call_id, output, self._clock())
        await self.flush()

    async def _say_filler(self, rid: str, voice: str, speed: float) -> None:
        """A tool call is coming: say something short instead of going silent for the
        call, the tool and the model's second pass."""
        assert self._fillers is not None
        async with contextlib.aclosing(self.brain.speak(next(self._fillers), voice,
                                                        speed)) as speech:
            async for out in speech:
                self.session.response_audio(rid, out.pcm, out.text, self._clock())
                await self.flush()

    async def _say(self, request: ResponseRequest) -> AsyncIterator[BrainOutput]:
        """A fixed line as the response's output, spoken or written as it asks."""
        assert request.say is not None
        if request.modalities != ["audio"]:
            yield TextDelta(request.say)
            return
        async with contextlib.aclosing(self.brain.speak(request.say, request.voice,
                                                        request.speed)) as speech:
            async for out in speech:
                yield out

    async def _transcribe(self, command: Transcribe) -> None:
        seconds = len(command.audio) / INTERNAL_RATE
        try:
            text = await self.brain.transcribe(command.audio, command.language, command.prompt)
        except Exception as exc:
            log.warning("transcription failed: %s", exc)
            self.session.transcription_failed(command.item_id, str(exc), self._clock())
        else:
            self.session.transcription_done(command.item_id, text, seconds, self._clock())
        await self.flush()

    async def _respond(self, command: Respond, outputs: AsyncIterator[Made]) -> None:
        rid = command.request.response_id
        session = self.session
        error: str | None = None
        usage: Usage | None = None
        filler: asyncio.Task[None] | None = None
        try:
            async with contextlib.aclosing(outputs) as stream:
                async for out, made in stream:
                    now = self._clock()
                    if isinstance(out, AudioOut):
                        session.response_mark(rid, "audio_ready", made)
                        session.response_audio(rid, out.pcm, out.text, now)
                    elif isinstance(out, TextDelta):
                        session.response_text(rid, out.text, now)
                    elif isinstance(out, ToolCallStarted):
                        session.response_mark(rid, "tool_call_start", made)
                        if command.request.modalities == ["audio"] and self._fillers:
                            filler = self._spawn(self._say_filler(
                                rid, command.request.voice, command.request.speed))
                        continue
                    elif isinstance(out, ToolCall):
                        if filler is not None:
                            await filler  # said before the call it announces
                        session.response_tool_call(rid, out.name, out.arguments, out.call_id, now)
                    elif isinstance(out, Mark):
                        session.response_mark(rid, out.name, made)
                        continue
                    else:
                        usage = out
                    await self.flush()
        except asyncio.CancelledError:
            # Cancelled by the session, which has already closed the response.
            raise
        except Exception as exc:
            log.warning("response %s failed: %s", rid, exc)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            if filler is not None:
                filler.cancel()
            self._responses.pop(rid, None)
        session.response_finish(rid, error, usage, self._clock())
        await self.flush()

    async def ended(self) -> str:
        """A local session never ends on its own: only when its client leaves."""
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
