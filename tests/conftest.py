"""Shared fixtures: real engines loaded once, a live server on loopback, test speech.

A test that uses the models or a browser (through these fixtures, or marked so itself)
is `slow`: `scripts/test.sh` runs the others first, so a broken seam shows in seconds.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from tests.helpers import LiveServer, start_server
from tests.postgres import PostgresServer
from tests.web.conftest import BASE_ARGS, CHROMIUM
from vivavoce.audio.formats import INTERNAL_RATE
from vivavoce.audio.resample import resample
from vivavoce.brains.cascade import Cascade
from vivavoce.settings import Settings

# Every fixture that loads a model or a browser depends on one of these.
_SLOW_FIXTURES = {"vad_engine", "stt_engine", "llm_engine", "tts_engine", "speak", "pw"}


def pytest_configure(config: pytest.Config) -> None:
    # Servers the tests start keep their conversations in a scratch directory, not the
    # user's data directory.
    os.environ["VIVAVOCE_DATA_DIR"] = tempfile.mkdtemp(prefix="vivavoce-data-")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # Playwright's sync API holds an event loop from its first use on: async tests run
    # before any browser test.
    items.sort(key=lambda item: "pw" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def pw():
    assert Path(CHROMIUM).exists(), "chromium is not installed (apt-get install chromium)"
    with sync_playwright() as p:
        yield p


@pytest.fixture
def launch(pw) -> Iterator[Callable[..., Any]]:
    """launch(wav=None, allow_mic=True): a headless chromium with a fake microphone.

    `wav` is what the microphone hears, played once from the moment the page opens the
    mic (then silence); without it chromium's fake device beeps. allow_mic=False leaves
    the permission prompt in place, which headless chromium answers with a refusal.
    `executable`: run chromium through this (a wrapper that enters a network namespace)."""
    browsers = []

    def start(wav: Path | None = None, allow_mic: bool = True,
              executable: Path | None = None) -> Any:
        args = [*BASE_ARGS, "--use-fake-device-for-media-stream"]
        if allow_mic:
            args.append("--use-fake-ui-for-media-stream")
        if wav is not None:
            args.append(f"--use-file-for-fake-audio-capture={wav}%noloop")
        browser = pw.chromium.launch(executable_path=str(executable or CHROMIUM), headless=True,
                                     args=args)
        browsers.append(browser)
        return browser

    yield start
    for browser in browsers:
        browser.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on loopback for the whole run (started on first use)."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture(scope="session")
def vad_engine():
    from vivavoce.brains.factory import build_vad

    return build_vad()


@pytest.fixture(scope="session")
def stt_engine():
    from vivavoce.brains.factory import build_stt

    return build_stt(Settings())


@pytest.fixture(scope="session")
def llm_engine():
    from vivavoce.brains.factory import build_llm

    return build_llm(Settings())


@pytest.fixture(scope="session")
def tts_engine():
    from vivavoce.brains.factory import build_tts

    return build_tts(Settings())


@pytest.fixture(scope="session")
def engines(vad_engine, stt_engine, llm_engine, tts_engine):
    """The embedded models, each loaded once for the whole test run."""
    return {"vad": vad_engine, "stt": stt_engine, "llm": llm_engine, "tts": tts_engine}


@pytest.fixture(scope="session")
def cascade(engines) -> Cascade:
    from vivavoce.brains.factory import build_end_of_turn

    return Cascade(engines["stt"], engines["llm"], engines["tts"],
                   build_end_of_turn(Settings(), engines["llm"]))


@pytest.fixture(scope="session")
def server(engines, cascade) -> Iterator[LiveServer]:
    from vivavoce.transports.app import create_app

    # Outside the WebRTC tests' namespace no call may start: ICE would pick the
    # machine's own interface address, which tests must never use.
    settings = Settings(max_calls=0)
    live = start_server(create_app(settings, cascade, engines["vad"]), settings)
    yield live
    live.stop()


@pytest.fixture(scope="session")
def speak():
    """Text → int16 speech at 24 kHz, in the embedded Piper voice, the same on every run
    (turn-detection tests depend on where its pauses fall)."""
    from vivavoce.engines.piper_tts import PiperTTS
    from vivavoce.models.locate import model_path

    tts = PiperTTS(model_path("tts"), noise=False)
    cache: dict[str, np.ndarray] = {}

    def make(text: str) -> np.ndarray:
        if text not in cache:
            chunks = list(tts.synthesize(text, None, threading.Event()))
            cache[text] = resample(np.concatenate(chunks), tts.sample_rate, INTERNAL_RATE)
        return cache[text]

    return make


@pytest.fixture(scope="session")
def transcribe(stt_engine):
    """int16 24 kHz audio → text, with the embedded Whisper (to check what was said)."""
    from vivavoce.audio.resample import int16_to_float

    def run(audio: np.ndarray) -> str:
        return stt_engine.transcribe(int16_to_float(resample(audio, INTERNAL_RATE, 16000)))

    return run
