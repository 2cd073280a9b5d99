"""The phone bridge's HTTP face: Twilio's voice webhook (`POST /v1/telephony/twilio/voice`)
answers with TwiML that connects the call to the stream endpoint
(`/v1/telephony/twilio`), where each call is served as a session by the runner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import Response
from starlette.websockets import WebSocketDisconnect
from twilio.twiml.voice_response import Connect, VoiceResponse

from vivavoce import metrics
from vivavoce.runtime import Context, Runner
from vivavoce.runtime.limits import Busy
from vivavoce.settings import Settings
from vivavoce.transports.origins import origin_refusal
from vivavoce.transports.realtime_ws import deny_upgrade
from vivavoce.transports.twilio import messages
from vivavoce.transports.twilio.security import (
    signed_by_twilio,
    stream_allowed,
    stream_parameters,
)
from vivavoce.transports.twilio.stream import TwilioStream

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/v1/telephony/twilio/voice"
STREAM_PATH = "/v1/telephony/twilio"
# Twilio sends `connected` and `start` at once; a stream silent for longer is not Twilio.
START_TIMEOUT_S = 10.0
# How long shutting down waits for the calls it ended to close their sessions.
SHUTDOWN_WAIT_S = 10.0
# What a phone call's session starts with: the caller's words transcribed into the
# conversation (nobody reads the events of a call: the log is where they are kept).
PHONE_SESSION = {"type": "realtime", "audio": {"input": {"transcription": {
    "model": "whisper-1"}}}}


def public_base(request: Request, public_url: str | None) -> str:
    """This server's address as Twilio reaches it: `--public-url`, else what the request
    (and a reverse proxy's X-Forwarded-* headers) says."""
    if public_url:
        return public_url.rstrip("/")
    headers = request.headers
    scheme = headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = headers.get("x-forwarded-host", headers.get("host", request.url.netloc))
    return f"{scheme}://{host.split(',')[0].strip()}"


def stream_twiml(stream_url: str, parameters: Mapping[str, str]) -> str:
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return str(response)


class PhoneCalls:
    """The phone calls in progress, by Twilio's call id."""

    def __init__(self) -> None:
        self.streams: dict[str, TwilioStream] = {}
        self._idle = asyncio.Event()  # no call in progress
        self._idle.set()

    def add(self, call_sid: str, stream: TwilioStream) -> None:
        self.streams[call_sid] = stream
        self._idle.clear()

    def remove(self, call_sid: str) -> None:
        del self.streams[call_sid]
        if not self.streams:
            self._idle.set()

    async def close(self) -> None:
        """Server shutdown: end every call, and let their sessions finish writing."""
        for stream in list(self.streams.values()):
            stream.end("the server is shutting down")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), SHUTDOWN_WAIT_S)


def twilio_routes(runner: Runner, settings: Settings, calls: PhoneCalls) -> APIRouter:
    router = APIRouter()
    auth_token = settings.twilio_auth_token

    @router.post(WEBHOOK_PATH)
    async def voice(request: Request) -> Response:
        # Twilio sends no Origin: one that does not belong here is a browser page's.
        refusal = origin_refusal(request.headers, settings)
        if refusal is not None:
            return Response(refusal, status_code=403, media_type="text/plain")
        form = await request.form()
        params = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        base = public_base(request, settings.public_url)
        if auth_token is not None:
            url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if not signed_by_twilio(auth_token, url, params,
                                    request.headers.get("x-twilio-signature")):
                log.warning("refused a voice webhook without Twilio's signature for %s", url)
                return Response("This request is not signed by Twilio.", status_code=403,
                                media_type="text/plain")
        query = request.query_params
        greeting = query.get("greeting", "1" if settings.phone_greeting else "0")
        parameters = stream_parameters(auth_token, params.get("CallSid", ""), {
            "persona": query.get("persona") or settings.persona,
            "greeting": "1" if greeting in ("1", "true", "yes") else "0"})
        scheme, rest = base.split("://", 1)
        stream_url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}{STREAM_PATH}"
        return Response(stream_twiml(stream_url, parameters), media_type="application/xml")

    @router.websocket(STREAM_PATH)
    async def stream(websocket: WebSocket) -> None:
        refusal = origin_refusal(websocket.headers, settings)
        if refusal is not None:
            await deny_upgrade(websocket, 403, refusal)
            return
        await websocket.accept()
        start = await _start_of(websocket)
        if start is None:
            await websocket.close(1008, "no 'start' message")
            return
        if not stream_allowed(auth_token, start.call_sid, start.parameters):
            log.warning("call %s: refused a stream without a valid call token", start.call_sid)
            await websocket.close(1008, "invalid or missing call token")
            return
        if start.call_sid in calls.streams:
            log.warning("call %s: refused a second stream for the call", start.call_sid)
            await websocket.close(1008, "the call has a stream already")
            return
        try:  # a phone call is a session like any other: it needs a place
            ticket = runner.admission.admit(None)
        except Busy as busy:
            log.warning("call %s: refused, %s", start.call_sid, busy.reason)
            await websocket.close(busy.close_code, busy.reason[:120])
            return
        with ticket:
            await _serve(websocket, start)

    async def _serve(websocket: WebSocket, start: messages.Start) -> None:
        stream = TwilioStream(websocket, start, tool_state=lambda sid: (
            runner.sessions[sid].tools.state if sid in runner.sessions else None))
        params = start.parameters
        context = await runner.claim(Context(
            persona=params.get("persona") or None, greeting=params.get("greeting") == "1",
            tools=("end_call",), session=PHONE_SESSION))
        assert context.session_id is not None
        calls.add(start.call_sid, stream)
        # In the one call registry under Twilio's call id, as WebRTC calls are under
        # theirs: a sideband (`/v1/realtime?call_id=CA…`) or a hangup finds it.
        await runner.calls.register(start.call_sid, context.session_id, stream)
        metrics.PHONE_CALLS.inc()
        metrics.PHONE_ACTIVE.inc()
        stream.open()
        try:
            ended = await runner.serve(stream, context)
            log.info("call %s ended: %s", start.call_sid, ended or stream.end_reason)
        except Exception:
            log.exception("call %s failed", start.call_sid)
        finally:
            metrics.PHONE_ACTIVE.dec()
            await runner.calls.release(start.call_sid)
            calls.remove(start.call_sid)
            await stream.close()

    return router


async def _start_of(websocket: WebSocket) -> messages.Start | None:
    """The stream's `start` (after `connected`); None if it does not come."""
    async def wait() -> messages.Start | None:
        while True:
            raw = await websocket.receive()
            if raw["type"] == "websocket.disconnect":
                return None
            try:
                message = messages.parse(raw.get("text") or raw.get("bytes") or "", None)
            except messages.BadMessage as err:
                log.warning("a phone stream sent a message before 'start': %s", err)
                continue
            if isinstance(message, messages.Start):
                return message

    with contextlib.suppress(TimeoutError, WebSocketDisconnect):
        return await asyncio.wait_for(wait(), START_TIMEOUT_S)
    return None
