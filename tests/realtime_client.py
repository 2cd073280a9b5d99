"""Test-side helpers around the openai SDK's realtime connection.

Every event is read raw and validated strictly against the openai package's
server-event types before the test sees it.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import websockets

from tests.validation import validate_beta, validate_ga

CHUNK_MS = 40
SAMPLES_PER_CHUNK = 24 * CHUNK_MS


class Recorder:
    def __init__(self, connection: Any, beta: bool = False) -> None:
        self.connection = connection
        self.validate = validate_beta if beta else validate_ga
        self.events: list[dict[str, Any]] = []
        self.frames: list[bytes] = []  # every frame as received, before parsing
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            try:
                raw = await self.connection.recv_bytes()
            except websockets.ConnectionClosed:
                return
            self.frames.append(raw)
            event = json.loads(raw)
            self.validate(event)
            self.events.append(event)
            self._queue.put_nowait(event)

    async def send(self, event: dict[str, Any]) -> None:
        await self.connection.send(event)

    async def wait_for(self, match: str | Callable[[dict[str, Any]], bool],
                       timeout: float = 60.0) -> dict[str, Any]:
        """The next event (from now on) that matches a type or predicate."""
        predicate = (lambda e: e["type"] == match) if isinstance(match, str) else match

        async def find() -> dict[str, Any]:
            while True:
                event = await self._queue.get()
                if predicate(event):
                    return event

        return await asyncio.wait_for(find(), timeout)

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]

    async def stream_audio(self, pcm: np.ndarray, realtime: bool = True) -> None:
        for start in range(0, len(pcm), SAMPLES_PER_CHUNK):
            chunk = pcm[start:start + SAMPLES_PER_CHUNK].astype("<i2").tobytes()
            await self.send({"type": "input_audio_buffer.append",
                             "audio": base64.b64encode(chunk).decode()})
            if realtime:
                await asyncio.sleep(CHUNK_MS / 1000)

    def close(self) -> None:
        self._reader.cancel()


def audio_of(events: list[dict[str, Any]], response_id: str,
             delta_type: str = "response.output_audio.delta") -> np.ndarray:
    parts = [np.frombuffer(base64.b64decode(e["delta"]), "<i2") for e in events
             if e["type"] == delta_type and e["response_id"] == response_id]
    return np.concatenate(parts) if parts else np.zeros(0, np.int16)
