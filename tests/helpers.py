"""Helpers the tests share: driving a session by hand, live servers on loopback, test
input (silence, bad events), and a relay in front of an upstream."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import uvicorn
import websockets

from tests.validation import validate_ga
from vivavoce.brains.relay import Relay
from vivavoce.session.session import Session
from vivavoce.session.spans import SPANS_EVENT
from vivavoce.settings import Settings
from vivavoce.tools import ToolRegistry
from vivavoce.transports.app import create_app

UPSTREAM_KEY = "sk-upstream-3c1f9e0d7b2a"
TEXT_SESSION = {"type": "realtime", "output_modalities": ["text"], "max_output_tokens": 24,
                "audio": {"input": {"turn_detection": None}}}


def silence(ms: int) -> np.ndarray:
    return np.zeros(24 * ms, np.int16)


# ------------------------------------------------------------------ a session by hand
def drain(session: Session):
    """Events as a client sees them (without the opt-in spans extension), validated."""
    events, commands = session.drain()
    events = [e for e in events if e["type"] != SPANS_EVENT]
    for event in events:
        validate_ga(event)
    return events, commands


def types(events) -> list[str]:
    return [e["type"] for e in events]


def feed(session: Session, pcm: np.ndarray) -> tuple[list[dict], list]:
    events, commands = [], []
    for start in range(0, len(pcm), 960):
        data = pcm[start:start + 960].astype("<i2").tobytes()
        session.receive({"type": "input_audio_buffer.append",
                         "audio": base64.b64encode(data).decode()})
        batch, more = session.drain()
        events += [e for e in batch if e["type"] != SPANS_EVENT]
        commands += more
    return events, commands


# ------------------------------------------------------------------ live servers
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    port: int
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def app(self):
        """The server's ASGI app (its `state`: the runner, the open sessions...)."""
        return self.server.config.app

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"
    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(app, settings: Settings, port: int | None = None) -> LiveServer:
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            ws_max_size=32 * 1024 * 1024)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    return LiveServer(port, settings, server, thread)


@contextlib.contextmanager
def scripted_server(brain=None, **settings) -> Iterator[LiveServer]:
    """A live server on loopback whose brain and VAD are the scripted fakes (no models)."""
    from tests.fakes import FakeBrain, FakeVAD

    config = Settings(**settings)
    live = start_server(create_app(config, brain or FakeBrain(), FakeVAD()), config)
    try:
        yield live
    finally:
        live.stop()


async def raw_events(ws, until: str, limit: int = 200) -> list[dict]:
    events = []
    for _ in range(limit):
        event = json.loads(await ws.recv())
        validate_ga(event)
        events.append(event)
        if event["type"] == until:
            return events
    raise AssertionError(f"no {until} in {len(events)} events")


async def text_turn(ws, text: str) -> dict:
    """A typed user turn and its answer: the `response` of its `response.done`."""
    await ws.send(json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}))
    await ws.send(json.dumps({"type": "response.create"}))
    return (await raw_events(ws, "response.done", limit=2000))[-1]["response"]


BAD_INPUTS = [
    ("malformed json", "{oops", "invalid_json"),
    ("not an object", "42", "invalid_json"),
    ("unknown type", json.dumps({"type": "response.explode"}), "invalid_value"),
    ("missing type", json.dumps({"event_id": "x"}), "missing_required_parameter"),
    ("bad base64", json.dumps({"type": "input_audio_buffer.append", "audio": "!!!"}),
     "invalid_base64"),
    ("audio wrong type", json.dumps({"type": "input_audio_buffer.append", "audio": [1]}),
     "invalid_type"),
    ("oversized audio", json.dumps({"type": "input_audio_buffer.append",
                                    "audio": "AAAA" * (4 * 1024 * 1024)}), "audio_too_large"),
    ("empty commit", json.dumps({"type": "input_audio_buffer.commit"}),
     "input_audio_buffer_commit_empty"),
    ("cancel nothing", json.dumps({"type": "response.cancel"}), "response_cancel_not_active"),
    ("truncate unknown", json.dumps({"type": "conversation.item.truncate", "item_id": "x",
                                     "content_index": 0, "audio_end_ms": 10}), "item_not_found"),
    ("delete unknown", json.dumps({"type": "conversation.item.delete", "item_id": "x"}),
     "item_not_found"),
    ("retrieve unknown", json.dumps({"type": "conversation.item.retrieve", "item_id": "x"}),
     "item_not_found"),
    ("session wrong type", json.dumps({"type": "session.update", "session": "loud"}),
     "invalid_type"),
    ("bad item", json.dumps({"type": "conversation.item.create", "item": {"type": "message",
                             "role": "user", "content": [{"type": "input_image"}]}}),
     "invalid_value"),
    ("bad previous item", json.dumps({"type": "conversation.item.create",
                                      "previous_item_id": "nope", "item": {
                                          "type": "message", "role": "user",
                                          "content": [{"type": "input_text", "text": "a"}]}}),
     "item_not_found"),
    ("binary frame", b"\x00\x01", "invalid_event"),
]


async def bad_input_then_a_turn(base_ws: str, frame: str | bytes, code: str) -> None:
    async with websockets.connect(f"{base_ws}/v1/realtime", max_size=None) as ws:
        await raw_events(ws, "conversation.created")
        await ws.send(json.dumps({"type": "session.update", "session": TEXT_SESSION}))
        await raw_events(ws, "session.updated")
        await ws.send(frame)
        (error,) = [e for e in await raw_events(ws, "error")]
        assert error["error"]["code"] == code
        assert error["error"]["message"]
        # ...and a normal turn still works.
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Say hi."}]}}))
        await ws.send(json.dumps({"type": "response.create"}))
        events = await raw_events(ws, "response.done")
        assert events[-1]["response"]["status"] == "completed"
        assert events[-1]["response"]["output"][0]["content"][0]["text"].strip()


# ------------------------------------------------------------------ a relay
def relay_tools() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool
    def get_weather(city: str) -> dict:
        """Get the current weather for a city.

        Args:
            city: The city, e.g. "Paris".
        """
        # A reading only this function gives, so the answer can only come from here.
        return {"city": city, "temperature_c": 31, "sky": "sunny"}

    return registry


def upstream_app(engines, cascade):
    return create_app(Settings(api_key=UPSTREAM_KEY, max_calls=0), cascade, engines["vad"])


def start_relay(upstream: LiveServer, api_key: str | None = None,
                **relay_options) -> LiveServer:
    settings = Settings(brain="relay", api_key=api_key, max_calls=0)
    relay = Relay(f"{upstream.ws}/v1/realtime", None, UPSTREAM_KEY, relay_tools(),
                  **relay_options)
    return start_server(create_app(settings, relay, None), settings)


def fail_once(monkeypatch, transport: type, event_type: str) -> list[dict]:
    """Make `transport.send` raise once, for the first event of `event_type`."""
    send = transport.send
    failed: list[dict] = []

    async def fails_once(self, event: dict) -> None:
        if event["type"] == event_type and not failed:
            failed.append(event)
            raise ValueError("Out of range float values are not JSON compliant")
        await send(self, event)

    monkeypatch.setattr(transport, "send", fails_once)
    return failed
