"""The web page served by a relay: a spoken turn answered by the upstream, in Chromium.

The relay holds its own key (the page gets a short-lived secret from it) and the
upstream's (which nothing the browser receives may carry).
"""

from __future__ import annotations

import numpy as np

from tests.helpers import UPSTREAM_KEY, silence, start_relay, start_server, upstream_app
from tests.web.conftest import debug, open_page, shot, wait_until, write_wav
from vivavoce.bench.wer import wer
from vivavoce.settings import Settings

QUESTION = "What is the capital of France?"


def test_a_spoken_turn_through_a_relay_in_the_browser(engines, cascade, speak, launch,
                                                      tmp_path):
    upstream = start_server(upstream_app(engines, cascade), Settings(api_key=UPSTREAM_KEY))
    relay = start_relay(upstream, api_key="relay-key")
    try:
        mic = write_wav(tmp_path / "question.wav",
                        np.concatenate([silence(1500), speak(QUESTION), silence(9000)]))
        page = open_page(launch(mic), "about:blank")
        frames: list[str] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
        page.goto(f"{relay.http}/")
        page.click("#start")
        wait_until(lambda: "connected" in page.text_content("#conn"), 30, "the connection",
                   page)

        def answered() -> dict | None:
            done = [e for e in debug(page, "log") if e["type"] == "response.done"]
            return done[-1]["response"] if done and debug(page, "state") == "idle" else None

        done = wait_until(answered, 150, "the answer", page)
        shot(page, "relay-answered")
        heard = [e for e in debug(page, "log")
                 if e["type"] == "conversation.item.input_audio_transcription.completed"]
        assert heard and wer(QUESTION, heard[-1]["transcript"]) <= 0.25, heard
        assert done["status"] == "completed", done
        (item,) = done["output"]
        assert item["content"][0]["transcript"].strip()
        received = debug(page, "receivedMs")[item["id"]]
        assert received > 500 and debug(page, "items")[item["id"]] == received
        assert debug(page, "errors") == [] and page.problems == []
        assert frames and not [f for f in frames if UPSTREAM_KEY in str(f)]
    finally:
        relay.stop()
        upstream.stop()
