"""Phone calls through Twilio Media Streams: a TwiML webhook that connects each call to a
bidirectional stream, and the stream served as a session (μ-law 8 kHz both ways, marks
as the proof of what the caller heard, barge-in by `clear`, key presses as text)."""

from __future__ import annotations

from fastapi import FastAPI

from vivavoce.runtime import Runner
from vivavoce.settings import Settings
from vivavoce.transports.twilio.routes import PhoneCalls, twilio_routes


def mount_twilio(app: FastAPI, runner: Runner, settings: Settings) -> PhoneCalls:
    """The webhook and stream routes on `app`; the app's lifespan ends every call
    (`PhoneCalls.close`)."""
    calls = PhoneCalls()
    app.include_router(twilio_routes(runner, settings, calls))
    return calls
