"""WebRTC calls as the hosted Realtime API takes them: `POST /v1/realtime/calls` with an
SDP offer; Opus audio both ways over RTP (the server plays the answer itself); every
JSON event on the client's `oai-events` data channel; a sideband WebSocket may join."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from vivavoce.runtime import Runner
from vivavoce.settings import Settings
from vivavoce.transports.auth import Auth
from vivavoce.transports.webrtc.calls import Calls
from vivavoce.transports.webrtc.routes import call_routes


def mount_calls(app: FastAPI, runner: Runner, auth: Auth, settings: Settings) -> Calls:
    """The call routes on `app` and CORS for the configured origins (so a page served
    elsewhere may start calls); the app's lifespan ends every call (`Calls.close`)."""
    calls = Calls(runner, settings.ice_server_urls, settings.max_calls)
    app.include_router(call_routes(calls, auth))
    if settings.cors_origin_list:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list,
                           allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type", "OpenAI-Beta"],
                           expose_headers=["Location"])
    return calls
