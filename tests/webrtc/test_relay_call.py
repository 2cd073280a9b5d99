"""A WebRTC call to a relay: the upstream Realtime session sits behind a WebSocket and
leaves playback to its client, which is this server. The relay plays the upstream's
answer on the call, says `output_audio_buffer.*` as the hosted API does on WebRTC, and
when the upstream hears the caller talk over it, cuts playback at once and keeps
upstream only what was heard. Upstream: a vivavoce with a scripted brain, in the
test's namespace."""

from __future__ import annotations

import asyncio

from tests.fakes import FakeBrain, FakeVAD, speech, voice
from tests.helpers import UPSTREAM_KEY, relay_tools, start_server
from tests.validation import validate_ga
from tests.webrtc.test_calls import text_turn
from vivavoce.brains.relay import Relay
from vivavoce.settings import Settings
from vivavoce.transports.app import create_app


async def test_talking_over_a_relayed_answer_cuts_it_here_and_upstream(inside, callers):
    long = [speech(f"Word{n} word{n} word{n}. ", 500) for n in range(8)]  # 4 s
    upstream = start_server(create_app(Settings(api_key=UPSTREAM_KEY),
                                       FakeBrain(scripts=[long, []]), FakeVAD()),
                            Settings(api_key=UPSTREAM_KEY))
    settings = Settings(brain="relay")
    relay = start_server(create_app(settings, Relay(f"{upstream.ws}/v1/realtime", None,
                                                    UPSTREAM_KEY, relay_tools()), None),
                         settings)
    try:
        client = callers()
        assert (await client.call(relay.http)).status_code == 201
        await client.next("session.created", 15)
        text_turn(client, "Talk.")
        started_at, started = await client.next("output_audio_buffer.started")
        await asyncio.sleep(1.0)
        client.say(voice(600))  # the caller talks over it
        cut_at, cleared = await client.next("output_audio_buffer.cleared", 10)
        assert cleared["response_id"] == started["response_id"]
        _, truncated = await client.next("conversation.item.truncated", 10)
        # The voice stops within a frame or two of the cut (plus the jitter buffer).
        assert all(h.at < cut_at + 0.2 for h in client.loud_since(cut_at))
        # Upstream keeps what the caller heard: a little over a second of 4 s.
        heard_ms = 20 * len(client.loud_since(started_at - 0.5))
        assert -20 <= truncated["audio_end_ms"] - heard_ms <= 200, (truncated, heard_ms)
        assert 800 <= truncated["audio_end_ms"] <= 2500, truncated
        assert not any(e["type"] == "conversation.item.truncate" for e in client.sent)
        # The caller's words get their turn.
        _, done = await client.next(lambda e: e["type"] == "response.done" and
                                    e["response"]["id"] != started["response_id"], 15)
        assert done["response"]["status"] == "completed"
        types = [e["type"] for e in client.log]
        assert "response.output_audio.delta" not in types  # audio is RTP only
        assert types.index("output_audio_buffer.started") < types.index("output_audio_buffer"
                                                                        ".cleared")
        for event in client.log:
            validate_ga(event)
    finally:
        relay.stop()
        upstream.stop()
