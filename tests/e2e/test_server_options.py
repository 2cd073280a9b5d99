"""Server options seen from a client: auth, an HTTP LLM stage, engine failures, formats."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
import websockets
from openai import AsyncOpenAI

from tests.helpers import TEXT_SESSION, free_port, raw_events, silence, start_server, text_turn
from tests.realtime_client import Recorder
from vivavoce.audio import g711
from vivavoce.audio.resample import resample
from vivavoce.bench.wer import wer
from vivavoce.brains.cascade import Cascade
from vivavoce.models.locate import model_path
from vivavoce.settings import Settings
from vivavoce.store import store_for
from vivavoce.store.export import export
from vivavoce.transports.app import create_app

KEY = "sk-test-server-key"


@pytest.fixture(scope="module")
def keyed_server(engines, cascade):
    settings = Settings(api_key=KEY)
    live = start_server(create_app(settings, cascade, engines["vad"]), settings)
    yield live
    live.stop()


async def test_key_required_when_configured(keyed_server):
    async with websockets.connect(f"{keyed_server.ws}/v1/realtime") as ws:
        error = json.loads(await ws.recv())
        assert error["type"] == "error" and error["error"]["code"] == "invalid_api_key"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 1008
    async with websockets.connect(f"{keyed_server.ws}/v1/realtime",
                                  additional_headers={"Authorization": "Bearer wrong"}) as ws:
        assert json.loads(await ws.recv())["error"]["code"] == "invalid_api_key"


async def test_key_accepted_by_header_and_browser_subprotocol(keyed_server):
    client = AsyncOpenAI(base_url=f"{keyed_server.http}/v1", api_key=KEY)
    async with client.realtime.connect(model="vivavoce-local") as connection:
        assert json.loads(await connection.recv_bytes())["type"] == "session.created"
    protocols = ["realtime", f"openai-insecure-api-key.{KEY}"]
    async with websockets.connect(f"{keyed_server.ws}/v1/realtime",
                                  subprotocols=protocols) as ws:
        assert ws.subprotocol == "realtime"
        assert json.loads(await ws.recv())["type"] == "session.created"


async def test_client_secret_opens_a_preconfigured_session(keyed_server):
    async with httpx.AsyncClient() as http:
        refused = await http.post(f"{keyed_server.http}/v1/realtime/client_secrets", json={})
        assert refused.status_code == 401
        minted = await http.post(
            f"{keyed_server.http}/v1/realtime/client_secrets",
            headers={"Authorization": f"Bearer {KEY}"},
            json={"expires_after": {"anchor": "created_at", "seconds": 60},
                  "session": {"type": "realtime", "instructions": "Be a pirate."}})
    assert minted.status_code == 200
    body = minted.json()
    assert body["value"].startswith("ek_") and body["expires_at"] > time.time()
    assert body["session"]["instructions"] == "Be a pirate."
    protocols = ["realtime", f"openai-insecure-api-key.{body['value']}"]
    async with websockets.connect(f"{keyed_server.ws}/v1/realtime",
                                  subprotocols=protocols) as ws:
        created = json.loads(await ws.recv())
        assert created["session"]["instructions"] == "Be a pirate."


@pytest.fixture(scope="module")
def llama_http_port():
    return free_port()


@pytest.fixture(scope="module")
def http_llm_server(engines, llama_http_port):
    """vivavoce whose LLM stage is an OpenAI-compatible HTTP server (llama.cpp's)."""
    settings = Settings(llm="http", llm_url=f"http://127.0.0.1:{llama_http_port}/v1",
                        llm_model="local-qwen")
    from vivavoce.brains.factory import build_llm

    brain = Cascade(engines["stt"], build_llm(settings), engines["tts"])
    live = start_server(create_app(settings, brain, engines["vad"]), settings)
    yield live
    live.stop()


def start_llama_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path("llm-0.5b")),
         "--port", str(port), "--n_ctx", "2048", "--model_alias", "local-qwen"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("llama_cpp.server did not start")




async def test_llm_endpoint_down_fails_the_response_then_recovers(http_llm_server,
                                                                  llama_http_port):
    async with websockets.connect(f"{http_llm_server.ws}/v1/realtime") as ws:
        await raw_events(ws, "conversation.created")
        await ws.send(json.dumps({"type": "session.update", "session": TEXT_SESSION}))
        await raw_events(ws, "session.updated")
        failed = await text_turn(ws, "Say hello.")
        assert failed["status"] == "failed"
        assert failed["status_details"]["error"]["message"]
        process = start_llama_server(llama_http_port)
        try:
            ok = await text_turn(ws, "Say hello.")
            assert ok["status"] == "completed"
            assert ok["output"][0]["content"][0]["text"].strip()
        finally:
            process.terminate()
            process.wait(10)


@pytest.mark.parametrize("fmt, encode", [("audio/pcmu", g711.ulaw_encode),
                                         ("audio/pcma", g711.alaw_encode)])
async def test_telephony_formats_in_and_out(server, speak, fmt, encode):
    client = AsyncOpenAI(base_url=f"{server.http}/v1", api_key="local")
    async with client.realtime.connect(model="vivavoce-local") as connection:
        rec = Recorder(connection)
        await rec.wait_for("session.created")
        await rec.send({"type": "session.update", "session": {"type": "realtime", "audio": {
            "input": {"format": {"type": fmt}, "transcription": {"model": "whisper-1"}},
            "output": {"format": {"type": fmt}}}, "max_output_tokens": 40}})
        await rec.wait_for("session.updated")
        question = "What is the capital of France?"
        speech = np.concatenate([speak(question), silence(1200)])
        wire = encode(resample(speech, 24000, 8000))
        for start in range(0, len(wire), 320):  # 40 ms at 8 kHz
            await rec.send({"type": "input_audio_buffer.append",
                            "audio": base64.b64encode(wire[start:start + 320]).decode()})
        heard = await rec.wait_for("conversation.item.input_audio_transcription.completed",
                                   timeout=60)
        assert wer(question, heard["transcript"]) <= 0.25, heard["transcript"]
        done = await rec.wait_for("response.done", timeout=120)
        assert done["response"]["audio"]["output"]["format"]["type"] == fmt
        out = b"".join(base64.b64decode(e["delta"])
                       for e in rec.of_type("response.output_audio.delta"))
        assert len(out) > 8000 * 0.5  # one byte per sample at 8 kHz
        rec.close()


async def test_a_cascade_session_is_logged_for_operators_and_on_disk(engines, cascade, tmp_path):
    settings = Settings(api_key=KEY, data_dir=str(tmp_path))
    live = start_server(create_app(settings, cascade, engines["vad"]), settings)
    try:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with websockets.connect(f"{live.ws}/v1/realtime",
                                      additional_headers=headers) as ws:
            session_id = (await raw_events(ws, "session.created"))[-1]["session"]["id"]
            await ws.send(json.dumps({"type": "session.update", "session": TEXT_SESSION}))
            await raw_events(ws, "session.updated")
            await ws.send(json.dumps({"type": "conversation.item.create", "item": {
                "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "Say hi."}]}}))
            await ws.send(json.dumps({"type": "response.create"}))
            done = (await raw_events(ws, "response.done"))[-1]["response"]
            url = f"{live.http}/v1/sessions/{session_id}/items"
            async with httpx.AsyncClient() as http:
                assert (await http.get(url)).status_code == 401  # operators only
                items = (await http.get(url, headers=headers)).json()["items"]
        assert [(i["role"], i["id"]) for i in items] == [
            ("user", items[0]["id"]), ("assistant", done["output"][0]["id"])]
        store = store_for(data_dir=str(tmp_path))  # the same SQLite file, opened afresh
        await store.open()
        assert (await export(store, session_id))["items"] == items
        await store.close()
    finally:
        live.stop()
