"""HTTP engines against a local server speaking the documented OpenAI shapes."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from vivavoce.engines.base import EngineError, LLMRequest, TextDelta, ToolCall, Usage
from vivavoce.engines.openai_http_llm import OpenAIHTTPLLM
from vivavoce.engines.openai_http_stt import OpenAIHTTPSTT
from vivavoce.engines.openai_http_tts import OpenAIHTTPTTS

REPLY = ["Hello", " there", ", how", " can", " I", " help?"]
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}
SPEECH = (np.sin(np.arange(12000) / 10) * 8000).astype("<i2")  # 0.5 s at 24 kHz


@dataclass
class Requests:
    seen: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200  # set to an error code to make every endpoint fail
    delay: float = 0.0  # between streamed pieces
    # How every endpoint misbehaves: "hang" (never answers), "garbage" (an HTML page),
    # "cut" (the connection closes a few hundred bytes into the answer).
    fault: str | None = None
    fault_on: str = ""  # only on paths containing this (all by default)
    stopping: threading.Event = field(default_factory=threading.Event)
    # Set: no request is answered until as many as it counts are open at once (503 if
    # they never are): calls that wait for each other fail.
    together: threading.Barrier | None = None


class _Cut(Exception):
    """The misbehaving server hangs up mid-answer."""


class FakeOpenAI(BaseHTTPRequestHandler):
    requests: Requests
    CUT_AFTER = 40  # bytes of an answer written before a "cut"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.seen.append({"path": self.path, "headers": dict(self.headers),
                                   "body": body})
        self._written, self._cutting = 0, False
        if self.requests.together is not None:
            try:
                self.requests.together.wait()
            except threading.BrokenBarrierError:
                self._send(503, "text/plain", b"the other request never came")
                return
        try:
            self._answer(body)
        except _Cut:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    def _answer(self, body: bytes) -> None:
        fault = self.requests.fault if self.requests.fault_on in self.path else None
        status = self.requests.status if self.requests.fault_on in self.path else 200
        self._cutting = fault == "cut"
        if fault == "hang":
            self._hang()
        elif fault == "garbage":
            self._send(200, "text/html", b"<html><body>502 Bad Gateway</body></html>")
        elif status != 200:
            # Quoting the key it got, as some servers do in their errors.
            key = (self.headers.get("Authorization") or "")[len("Bearer "):]
            self._send(status, "application/json", json.dumps({"error": {
                "message": f"Incorrect API key provided: {key}",
                "type": "invalid_request_error"}}).encode())
        elif self.path == "/v1/audio/transcriptions":
            self._transcription(body)
        elif self.path == "/v1/chat/completions":
            self._chat(json.loads(body))
        elif self.path == "/v1/audio/speech":
            self._speech()
        else:
            self._send(404, "text/plain", b"no such route")

    def _hang(self) -> None:
        """Read nothing more, answer nothing, until the client gives up."""
        self.connection.settimeout(0.05)
        while not self.requests.stopping.is_set():
            try:
                if not self.connection.recv(1):
                    return
            except TimeoutError:
                continue

    def _write(self, data: bytes) -> None:
        if self._cutting and self._written + len(data) > self.CUT_AFTER:
            self.wfile.write(data[:max(0, self.CUT_AFTER - self._written)])
            self.wfile.flush()
            raise _Cut
        self._written += len(data)
        self.wfile.write(data)

    def _send(self, status: int, ctype: str, payload: bytes = b"",
              length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if payload or length:
            self.send_header("Content-Length", str(length or len(payload)))
        self.end_headers()
        self._write(payload)

    def _transcription(self, body: bytes) -> None:
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        form = {
            part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in BytesParser(policy=HTTP).parsebytes(head + body).iter_parts()
        }
        with wave.open(io.BytesIO(form["file"])) as w:
            frames, rate = w.getnframes(), w.getframerate()
        text = f" {form['model'].decode()} heard {frames} frames at {rate} Hz "
        self._send(200, "application/json", json.dumps({"text": text}).encode())

    def _chat(self, req: dict[str, Any]) -> None:
        self._send(200, "text/event-stream")
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": req["model"]}
        if req.get("tools"):
            deltas: list[dict[str, Any]] = [
                {"role": "assistant", "content": None, "tool_calls": [
                    {"index": 0, "id": "call_abc", "type": "function",
                     "function": {"name": "get_weather", "arguments": ""}}]},
                {"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]},
                {"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]},
            ]
        else:
            deltas = [{"role": "assistant", "content": ""}] + [{"content": t} for t in REPLY]
        for delta in deltas:
            self._event({**base, "choices": [{"index": 0, "delta": delta,
                                              "finish_reason": None}]})
        finish = "tool_calls" if req.get("tools") else "stop"
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if req.get("stream_options", {}).get("include_usage"):
            self._event({**base, "choices": [], "usage": {
                "prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49,
                "prompt_tokens_details": {"cached_tokens": 32}}})
        self._write(b"data: [DONE]\n\n")

    def _event(self, payload: dict[str, Any]) -> None:
        self._write(f"data: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()
        time.sleep(self.requests.delay)

    def _speech(self) -> None:
        data = SPEECH.tobytes()
        self._send(200, "application/octet-stream", length=len(data))
        for i in range(0, len(data), 1001):  # odd sizes split samples across pieces
            self._write(data[i:i + 1001])
            self.wfile.flush()
            time.sleep(self.requests.delay)


@pytest.fixture
def fake_openai() -> Iterator[tuple[str, Requests]]:
    requests = Requests()
    handler = type("Handler", (FakeOpenAI,), {"requests": requests})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True  # do not wait for handlers a cancelled client left behind
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1/", requests
    requests.stopping.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def dead_url() -> str:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_stt_uploads_wav_and_returns_text(fake_openai):
    url, requests = fake_openai
    stt = OpenAIHTTPSTT(url, api_key="sk-test", model="whisper-1")
    text = stt.transcribe(np.zeros(16000, np.float32), language="en", prompt="vivavoce")
    assert text == "whisper-1 heard 16000 frames at 16000 Hz"
    req = requests.seen[0]
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    assert b'name="language"\r\n\r\nen' in req["body"]
    assert b'name="prompt"\r\n\r\nvivavoce' in req["body"]


def test_llm_streams_text_and_usage(fake_openai):
    url, requests = fake_openai
    llm = OpenAIHTTPLLM(url, model="qwen2.5:7b")
    messages = [{"role": "user", "content": "hi"}]
    chunks = list(llm.stream(LLMRequest(messages, temperature=0.2, max_tokens=50),
                             threading.Event()))
    assert [c.text for c in chunks if isinstance(c, TextDelta)] == REPLY
    assert chunks[-1] == Usage(input_tokens=42, output_tokens=7, cached_tokens=32)
    sent = json.loads(requests.seen[0]["body"])
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["messages"] == messages and sent["max_tokens"] == 50
    assert "tools" not in sent and "Authorization" not in requests.seen[0]["headers"]


def test_llm_assembles_tool_call_deltas(fake_openai):
    url, requests = fake_openai
    llm = OpenAIHTTPLLM(url, model="gpt-4o-mini")
    request = LLMRequest([{"role": "user", "content": "Weather in Paris?"}],
                         tools=[WEATHER_TOOL], tool_choice={"type": "function",
                                                            "name": "get_weather"})
    chunks = list(llm.stream(request, threading.Event()))
    calls = [c for c in chunks if isinstance(c, ToolCall)]
    assert calls == [ToolCall("get_weather", '{"city": "Paris"}', "call_abc")]
    assert not any(isinstance(c, TextDelta) for c in chunks)
    sent = json.loads(requests.seen[0]["body"])
    assert sent["tools"] == [{"type": "function", "function": {
        k: WEATHER_TOOL[k] for k in ("name", "description", "parameters")}}]
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_llm_cancel_stops_the_stream(fake_openai):
    url, requests = fake_openai
    requests.delay = 0.2
    cancel = threading.Event()
    got = []
    start = time.monotonic()
    for chunk in OpenAIHTTPLLM(url).stream(LLMRequest([{"role": "user", "content": "hi"}]),
                                           cancel):
        got.append(chunk)
        cancel.set()
    assert len(got) == 1
    assert time.monotonic() - start < 1.0  # the whole reply would take 1.6 s


def test_tts_streams_pcm_in_pieces(fake_openai):
    url, requests = fake_openai
    tts = OpenAIHTTPTTS(url, model="tts-1")
    chunks = list(tts.synthesize("Hello there.", "nova", threading.Event()))
    assert len(chunks) > 1 and all(c.dtype == np.int16 for c in chunks)
    assert np.array_equal(np.concatenate(chunks), SPEECH)
    assert json.loads(requests.seen[0]["body"]) == {
        "model": "tts-1", "input": "Hello there.", "voice": "nova", "response_format": "pcm"}
    assert tts.sample_rate == 24000 and tts.default_voice in tts.voices


def test_tts_asks_for_the_speed_when_it_is_not_the_default(fake_openai):
    url, requests = fake_openai
    tts = OpenAIHTTPTTS(url, model="tts-1")
    list(tts.synthesize("Hello there.", "nova", threading.Event(), 1.25))
    assert json.loads(requests.seen[0]["body"])["speed"] == 1.25


def test_tts_cancel(fake_openai):
    url, requests = fake_openai
    requests.delay = 0.05
    cancel = threading.Event()
    got = []
    for chunk in OpenAIHTTPTTS(url).synthesize("Hello there.", None, cancel):
        got.append(chunk)
        cancel.set()
    assert len(got) == 1


def test_error_status_becomes_engine_error(fake_openai):
    url, requests = fake_openai
    requests.status = 401
    with pytest.raises(EngineError, match=r"401.*Incorrect API key"):
        OpenAIHTTPSTT(url).transcribe(np.zeros(1600, np.float32))
    with pytest.raises(EngineError, match="401"):
        list(OpenAIHTTPLLM(url).stream(LLMRequest([]), threading.Event()))
    with pytest.raises(EngineError, match="401"):
        list(OpenAIHTTPTTS(url).synthesize("Hi.", None, threading.Event()))


def test_unreachable_endpoint_becomes_engine_error(dead_url):
    with pytest.raises(EngineError, match="transcriptions failed"):
        OpenAIHTTPSTT(dead_url).transcribe(np.zeros(1600, np.float32))
    with pytest.raises(EngineError, match="chat/completions failed"):
        list(OpenAIHTTPLLM(dead_url).stream(LLMRequest([]), threading.Event()))
    with pytest.raises(EngineError, match="speech failed"):
        list(OpenAIHTTPTTS(dead_url).synthesize("Hi.", None, threading.Event()))
