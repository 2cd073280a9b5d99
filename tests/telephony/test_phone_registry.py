"""A phone call is in the one call registry under Twilio's call id, as a WebRTC call is
under its own: a backend joins it with the sideband (`/v1/realtime?call_id=CA…`) and
steers it, and the hangup route ends it (the stream closes, so Twilio hangs up)."""

from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pytest
import websockets

from tests.fakes import speech, until, voice
from tests.helpers import silence
from tests.telephony.conftest import brain
from tests.webrtc.test_sideband import until_event


async def test_a_backend_joins_a_phone_call_by_its_call_sid_and_hangs_it_up(phone_server,
                                                                            phones):
    live = await phone_server(brain=brain([speech("Hello there.", 400)]))
    phone = phones(live.caller())
    assert (await phone.dial()).status_code == 200
    await phone.connect()
    session_id = await live.session_of(phone)
    record = await live.runner.calls.locate(phone.call_sid)
    assert record is not None and record.session_id == session_id
    backend = await websockets.connect(
        f"ws://127.0.0.1:{live.port}/v1/realtime?call_id={phone.call_sid}")
    try:
        seen: list[dict] = []
        await backend.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "instructions": "You answer the shop's phone."}}))
        await until_event(backend, "session.updated", seen)
        phone.say(np.concatenate([voice(500), silence(800)]))
        done = (await until_event(backend, "response.done", seen))["response"]
        assert done["status"] == "completed"
        assert "Hello there." in json.dumps(done["output"])
        assert live.runner.backend.brain.requests[0].instructions == \
            "You answer the shop's phone."
        async with httpx.AsyncClient(base_url=live.http, trust_env=False) as web:
            hung_up = await web.post(f"/v1/realtime/calls/{phone.call_sid}/hangup")
        assert hung_up.status_code == 200
        await asyncio.wait_for(phone.closed.wait(), 10)
        assert phone.close_code == 1000
        with pytest.raises(websockets.ConnectionClosed):  # the sideband is let go too
            while True:
                await asyncio.wait_for(backend.recv(), 10)
        assert backend.close_reason == "session ended"
        await until(lambda: phone.call_sid not in live.app.state.phone_calls.streams)
        assert await live.runner.calls.locate(phone.call_sid) is None
    finally:
        await backend.close()
