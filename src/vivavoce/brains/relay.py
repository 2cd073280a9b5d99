"""The relay brain: each client session is bridged to one session of an upstream
Realtime API (OpenAI's, or another vivavoce) whose key stays on this server.

This is the I/O half: the upstream socket, reconnecting after a drop, running server
tools, metering. The protocol logic is `relay_bridge.RelayBridge`. The runner drives a
`RelayConnection` exactly as it drives a local session (start, handle, audio, reject,
ended, close).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from vivavoce import metrics
from vivavoce.brains.relay_bridge import (
    CancelServerTool,
    EndSession,
    Metered,
    RelayBridge,
    RunServerTool,
)
from vivavoce.protocol.errors import ProtocolError
from vivavoce.tools import ToolContext, ToolRegistry
from vivavoce.types import Ending, Event, Played, Send

log = logging.getLogger(__name__)
# The upstream socket's own log. websockets writes a handshake's headers at debug level,
# the upstream's key among them: this logger never goes below info.
_socket_log = logging.getLogger(f"{__name__}.upstream")
_socket_log.setLevel(logging.INFO)

# Waits between reconnection attempts; the last one repeats until the deadline.
BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0)


@dataclass
class Relay:
    """Where the upstream is and how to reach it."""

    url: str
    model: str | None
    api_key: str | None
    tools: ToolRegistry
    usage_cap: int | None = None
    # How long a dropped upstream may take to come back before the session ends.
    reconnect_timeout_s: float = 60.0

    # The upstream's voices are its own business; the relay does not list them.
    voices = ()

    def upstream_url(self) -> str:
        if not self.model:
            return self.url
        return f"{self.url}{'&' if '?' in self.url else '?'}{urlencode({'model': self.model})}"


class RelayConnection:
    def __init__(self, relay: Relay, bridge: RelayBridge, send: Send,
                 context: ToolContext) -> None:
        self.relay = relay
        self.bridge = bridge
        self._send = send
        self._context = context
        self._upstream: ClientConnection | None = None
        self._lock = asyncio.Lock()
        self._tools: dict[str, asyncio.Task[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._ended = asyncio.Event()
        self._end_reason: str | None = None

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._from_upstream())

    async def handle(self, event: Event) -> None:
        self.bridge.client_event(event)
        await self._flush()

    async def greet(self, text: str) -> None:
        # The upstream's model says it: the one way to make it speak first.
        await self.handle({"type": "response.create", "response": {
            "instructions": f"Greet the user with exactly these words: {text}"}})

    async def audio(self, pcm: np.ndarray) -> None:
        self.bridge.client_audio(pcm)
        await self._flush()

    async def reject(self, err: ProtocolError, client_event_id: str | None = None) -> None:
        """A problem with what the client sent: the client's to know, not the upstream's."""
        await self._send(err.to_event(client_event_id))

    async def played(self, report: Played) -> None:
        self.bridge.played(report)
        await self._flush()

    async def ended(self) -> str | None:
        """Wait until the relay ends the session itself; why (None: the upstream side
        stopped unexpectedly)."""
        assert self._reader is not None
        waiter = asyncio.create_task(self._ended.wait())
        try:
            await asyncio.wait({self._reader, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        return self._end_reason

    def user_audio(self, item_id: str) -> np.ndarray | None:
        return None  # the upstream commits the user's audio; this side keeps none

    async def close(self) -> None:
        tasks = [t for t in (self._reader, *self._tools.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._upstream is not None:
            await self._upstream.close()
        self._log_usage()

    async def _from_upstream(self) -> None:
        """Read upstream until it drops; then reconnect and go on."""
        while True:
            if not await self._connect():
                self.bridge.upstream_failed(f"no connection within "
                                            f"{self.relay.reconnect_timeout_s:g} s")
                await self._flush()
                return
            assert self._upstream is not None
            try:
                async for message in self._upstream:
                    received = time.perf_counter()
                    try:
                        event = json.loads(message)
                    except ValueError:
                        log.warning("upstream sent something that is not JSON; ignored")
                        continue
                    self.bridge.upstream_event(event)
                    await self._flush()
                    metrics.RELAY_FORWARD_SECONDS.observe(time.perf_counter() - received)
            except ConnectionClosed:
                pass
            log.warning("upstream connection lost; reconnecting")
            metrics.RELAY_UPSTREAM_DROPS.inc()
            self._upstream = None
            self.bridge.upstream_lost()
            await self._flush()

    async def _connect(self) -> bool:
        """Open an upstream session, retrying with backoff until the deadline."""
        deadline = time.monotonic() + self.relay.reconnect_timeout_s
        headers = {"Authorization": f"Bearer {self.relay.api_key}"} if self.relay.api_key \
            else {}
        host = urlsplit(self.relay.url).hostname
        for attempt in itertools.count():
            try:
                self._upstream = await connect(
                    self.relay.upstream_url(), additional_headers=headers, max_size=None,
                    logger=_socket_log,
                    # Loopback never goes through a proxy from the environment.
                    proxy=None if host in ("127.0.0.1", "localhost", "::1") else True)
            except Exception as exc:  # refused, timed out, rejected (bad key, 5xx): retry
                wait = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                if time.monotonic() + wait > deadline:
                    log.warning("upstream unreachable: %s", exc)
                    return False
                await asyncio.sleep(wait)
                continue
            self.bridge.upstream_opened()
            await self._flush()
            return True
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ outputs
    async def _flush(self) -> None:
        async with self._lock:
            to_client, to_upstream, commands = self.bridge.drain()
            for command in commands:
                self._execute(command)
            for index, event in enumerate(to_upstream):
                try:
                    if self._upstream is None:
                        raise ConnectionError
                    await self._upstream.send(json.dumps(event))
                except (ConnectionClosed, ConnectionError):
                    # Dropping: the reader will notice; these go to the next upstream.
                    self.bridge.unsent(to_upstream[index:])
                    break
            for event in to_client:
                await self._send(event)

    def _execute(self, command: object) -> None:
        if isinstance(command, RunServerTool):
            self._tools[command.call_id] = asyncio.create_task(self._run_tool(command))
        elif isinstance(command, CancelServerTool):
            task = self._tools.pop(command.call_id, None)
            if task is not None:
                task.cancel()
        elif isinstance(command, Metered):
            metrics.record_relay_usage(command.usage)
        elif isinstance(command, EndSession):
            log.info("ending relay session %s: %s", self._context.session_id, command.reason)
            self._end_reason = Ending(command.reason, command.code)
            self._ended.set()

    async def _run_tool(self, command: RunServerTool) -> None:
        try:
            output = await self.relay.tools.answer(command.name, command.arguments,
                                                   self._context)
        finally:
            self._tools.pop(command.call_id, None)
        self.bridge.tool_result(command.call_id, output)
        await self._flush()

    def _log_usage(self) -> None:
        log.info("relay session %s usage %s", self._context.session_id,
                 json.dumps(vars(self.bridge.usage)))
