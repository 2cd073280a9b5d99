"""Shared fixtures: real engines loaded once, a live server on loopback, test speech."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import uvicorn

from vivavoce.audio.formats import INTERNAL_RATE
from vivavoce.audio.resample import resample
from vivavoce.brains.cascade import Cascade
from vivavoce.settings import Settings


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
    return Cascade(engines["stt"], engines["llm"], engines["tts"])


@pytest.fixture(scope="session")
def server(engines, cascade) -> Iterator[LiveServer]:
    from vivavoce.transports.app import create_app

    settings = Settings()
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
