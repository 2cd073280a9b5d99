"""Browser fixtures: Debian's chromium driven by Playwright, a fake microphone fed from a
WAV file, screenshots under artifacts/screenshots/, and a model-free server for the tests
that only need the page and the protocol (auth, errors, tool cards)."""

from __future__ import annotations

import json
import shutil
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import LiveServer, start_server
from vivavoce.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Headless tabs are never "visible"; without these, timers and audio may be throttled.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def write_wav(path: Path, pcm: np.ndarray, rate: int = 24000) -> Path:
    """16-bit mono PCM WAV, the format chromium's fake capture device reads."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.astype("<i2").tobytes())
    return path


# The page calls over WebRTC unless told otherwise; most page tests run on the host's
# loopback, where WebRTC has no candidates (tests/netns.py): they use the WebSocket.
WEBSOCKET_ONLY = """try {
  const saved = JSON.parse(localStorage.getItem("vivavoce.settings") || "{}");
  if (!saved.transport) {
    saved.transport = "websocket";
    localStorage.setItem("vivavoce.settings", JSON.stringify(saved));
  }
} catch { /* about:blank has no storage */ }"""


def open_page(browser: Any, url: str, transport: str = "websocket", **context: Any) -> Any:
    """A page with its console errors and uncaught exceptions collected on `page.problems`;
    `transport` "websocket" (the default here) or "webrtc" (the page's own default)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, **context)
    if transport == "websocket":
        ctx.add_init_script(WEBSOCKET_ONLY)
    page = ctx.new_page()
    page.problems = []
    page.on("pageerror", lambda err: page.problems.append(f"pageerror: {err}"))
    page.on("console", lambda msg: msg.type == "error" and page.problems.append(msg.text))
    page.goto(url)
    return page


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def debug(page: Any, expr: str) -> Any:
    """Read the page's window.vivavoce hooks."""
    return page.evaluate(f"() => window.vivavoce.{expr}")


def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               page: Any | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = ""
            if page is not None:
                banner = page.text_content("#banner") if page.is_visible("#banner") else None
                detail = (f"\nconnection: {page.text_content('#conn')!r}, banner: {banner!r}"
                          f"\nstates: {debug(page, 'stateLog')}\nturns: {debug(page, 'turns')}"
                          f"\nerrors: {debug(page, 'errors')}\nproblems: {page.problems}")
            raise AssertionError(f"timed out waiting for {what}{detail}")
        # The sync Playwright API only delivers events (socket messages, console) while a
        # call is in progress: wait through it.
        if page is not None:
            page.wait_for_timeout(50)
        else:
            time.sleep(0.05)


@pytest.fixture
def light_server(cascade, vad_engine) -> Iterator[Callable[..., LiveServer]]:
    """light_server(api_key=None, web_sessions=True): a server of its own, real models."""
    from vivavoce.transports.app import create_app

    servers: list[LiveServer] = []

    def start(api_key: str | None = None, web_sessions: bool = True) -> LiveServer:
        settings = Settings(api_key=api_key, web_sessions=web_sessions, max_calls=0)
        live = start_server(create_app(settings, cascade, vad_engine), settings)
        servers.append(live)
        return live

    yield start
    for live in servers:
        live.stop()


# ------------------------------------------------------------------ a scripted server
SESSION = {
    "type": "realtime", "object": "realtime.session", "id": "sess_test", "model": "vivavoce-local",
    "instructions": "You are Viva.",
    "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "transcription": None,
                        "turn_detection": {"type": "server_vad", "silence_duration_ms": 500}},
              "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "joe"}},
}


class FakeRealtime:
    """Stands in for the server's Realtime WebSocket, as seen by the page."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.sockets: list[Any] = []
        self.received: list[dict[str, Any]] = []  # client events, audio appends left out
        self.appends = 0
        page.route_web_socket(lambda url: "/v1/realtime" in url, self._accept)

    def _accept(self, ws: Any) -> None:
        self.sockets.append(ws)
        ws.on_message(self._on_message)
        self.send({"type": "session.created", "session": SESSION})

    def _on_message(self, message: str | bytes) -> None:
        event = json.loads(message)
        if event["type"] == "input_audio_buffer.append":
            self.appends += 1
        else:
            self.received.append(event)

    def send(self, event: dict[str, Any]) -> None:
        self.sockets[-1].send(json.dumps({"event_id": "event_test", **event}))

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e["type"] == type_]

    def wait_for(self, type_: str, timeout: float = 10) -> dict[str, Any]:
        return wait_until(lambda: (self.of_type(type_) or [None])[-1], timeout, type_, self.page)


def connect(page: Any) -> FakeRealtime:
    fake = FakeRealtime(page)
    page.click("#start")
    wait_until(lambda: "connected" in page.text_content("#conn"), 10, "connected", page)
    return fake
