"""Conversations survive the server: `vivavoce serve` killed with SIGKILL mid-response,
restarted, resumed; and two instances on one PostgreSQL, the first killed. Real
processes, real models, real databases."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.helpers import free_port, raw_events, start_server, text_turn
from vivavoce.settings import Settings
from vivavoce.transports.app import create_app

KEY = "sk-survive-5e1a"
AUTH = {"Authorization": f"Bearer {KEY}"}
# Greedy decoding, short answers: the small model then answers from what it was told.
INSTRUCTIONS = "You are a helpful assistant. Answer in one short sentence."
SESSION = {"type": "realtime", "output_modalities": ["text"], "temperature": 0.0,
           "instructions": INSTRUCTIONS, "max_output_tokens": 40, "tool_choice": "none",
           "audio": {"input": {"turn_detection": None}}}
# Text only: speech stages on a port nobody listens on, so only the LLM loads; its
# prompt prefix (these instructions) is read in before the server listens.
TEXT_ONLY = ["--instructions", INSTRUCTIONS, "--stt", "http", "--tts", "http",
             "--stt-url", "http://127.0.0.1:9/v1", "--tts-url", "http://127.0.0.1:9/v1"]
VIVAVOCE = str(Path(sys.executable).parent / "vivavoce")


class Serve:
    """`vivavoce serve` in a process of its own."""

    def __init__(self, log: Path, *args: str) -> None:
        self.port = free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [VIVAVOCE, "serve", "--port", str(self.port), "--api-key", KEY, *TEXT_ONLY, *args],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.http}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"vivavoce serve did not start; see {log}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture
def serve(tmp_path) -> Iterator:
    started: list[Serve] = []

    def start(*args: str) -> Serve:
        started.append(Serve(tmp_path / "serve.log", *args))
        return started[-1]

    yield start
    for server in started:
        server.stop()




def told_final(events: list[dict]) -> list[dict]:
    """The items the client was told are final, in the order it was told."""
    final: dict[str, dict] = {}
    for event in events:
        item = event.get("item") or {}
        if event["type"] == "conversation.item.done" or (
                event["type"] == "conversation.item.added" and item.get("status") == "completed"):
            final[item["id"]] = item
        elif event["type"] == "conversation.item.input_audio_transcription.completed":
            final[event["item_id"]]["content"][event["content_index"]]["transcript"] = \
                event["transcript"]
    return list(final.values())


async def resume_and_ask(ws_url: str, session_id: str, expected: list[dict]) -> str:
    """Resume with the server key; check the redraw; ask for the name from history."""
    async with websockets.connect(f"{ws_url}/v1/realtime?resume={session_id}",
                                  additional_headers=AUTH, max_size=None) as ws:
        events = await raw_events(ws, "session.created")
        assert events[-1]["session"]["id"] == session_id
        assert events[-1]["session"]["output_modalities"] == ["text"]
        redraw = []
        while len(redraw) < len(expected):
            event = json.loads(await ws.recv())
            if event["type"] == "conversation.item.done":
                redraw.append(event["item"])
        assert redraw == expected  # every final item back, in order, as it was
        answer = await text_turn(ws, "What is my name?")
        return answer["output"][0]["content"][0]["text"]


async def test_killed_mid_response_then_restarted_and_resumed(serve, tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    first = serve(*data)
    events: list[dict] = []
    async with websockets.connect(f"{first.ws}/v1/realtime", additional_headers=AUTH) as ws:
        events += await raw_events(ws, "session.created")
        session_id = events[-1]["session"]["id"]
        await ws.send(json.dumps({"type": "session.update", "session": SESSION}))
        events += await raw_events(ws, "session.updated")
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Hello! My name is Ada."}]}}))
        await ws.send(json.dumps({"type": "response.create"}))
        events += await raw_events(ws, "response.done", limit=2000)
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{
                "type": "input_text", "text": "Tell me a long story about a lighthouse."}]}}))
        await ws.send(json.dumps({"type": "response.create", "response": {
            "instructions": "Tell a long, detailed story.", "max_output_tokens": 400}}))
        events += await raw_events(ws, "response.output_text.delta")
        first.kill()  # mid-response: SIGKILL, no chance to clean up
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                events.append(json.loads(await ws.recv()))
    final = told_final(events)
    assert [i["role"] for i in final] == ["user", "assistant", "user"]
    assert "response.done" not in [e["type"] for e in events[-3:]]  # it died mid-answer

    second = serve(*data)
    answer = await resume_and_ask(second.ws, session_id, final)
    assert "ada" in answer.lower(), answer


async def test_two_instances_on_postgres_the_first_killed(serve, postgres, cascade,
                                                          vad_engine):
    url = postgres.new_database()
    a = serve("--database-url", url)
    settings = Settings(api_key=KEY, database_url=url)
    b = start_server(create_app(settings, cascade, vad_engine), settings)
    try:
        async with httpx.AsyncClient(headers=AUTH) as http:
            minted = [(await http.post(f"{a.http}/v1/realtime/client_secrets",
                                       json={"session": SESSION})).json() for _ in range(2)]
        events: list[dict] = []
        async with websockets.connect(f"{a.ws}/v1/realtime", additional_headers={
                "Authorization": f"Bearer {minted[0]['value']}"}) as ws:
            events += await raw_events(ws, "session.created")
            session_id = events[-1]["session"]["id"]
            assert session_id == minted[0]["session_id"]
            await ws.send(json.dumps({"type": "conversation.item.create", "item": {
                "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "Hello! My name is Ada."}]}}))
            await ws.send(json.dumps({"type": "response.create"}))
            events += await raw_events(ws, "response.done", limit=2000)
            a.kill()
        answer = await resume_and_ask(b.ws, session_id, told_final(events))
        assert "ada" in answer.lower(), answer
        # A's second client secret opens a session on B: the secrets are shared.
        async with websockets.connect(f"{b.ws}/v1/realtime", additional_headers={
                "Authorization": f"Bearer {minted[1]['value']}"}) as ws:
            created = (await raw_events(ws, "session.created"))[-1]
            assert created["session"]["id"] == minted[1]["session_id"]
            assert created["session"]["instructions"] == SESSION["instructions"]
    finally:
        b.stop()
