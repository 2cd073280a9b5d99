"""WebRTC calls end to end on scripted parts: a real server (aiortc, the runner, the
session) in the test's network namespace, an aiortc caller, a scripted brain. Every
event on the data channel is validated against the openai package's types."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.fakes import FakeBrain, speech
from tests.validation import validate_ga
from vivavoce.bench.call_client import CallClient

KEY = "sk-server-5d1c0e"
COUNTING = [speech("One two three. ", 400), speech("Four five six.", 400)]


def text_turn(client: CallClient, text: str) -> None:
    client.send({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
    client.send({"type": "response.create"})


def http(live) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live.http, trust_env=False, timeout=10)


async def test_a_call_answers_with_sdp_and_plays_the_answer_on_its_track(serve, callers, inside):
    live = serve(brain=FakeBrain(scripts=[COUNTING]))
    client = callers()
    reply = await client.call(live.http, query="?model=gpt-realtime")
    assert reply.status_code == 201
    assert reply.headers["content-type"].startswith("application/sdp")
    assert reply.headers["location"] == f"/v1/realtime/calls/{client.call_id}"
    assert client.call_id.startswith("rtc_")
    # Every candidate is in the answer (clients do not trickle): the namespace's address.
    assert "a=candidate:" in reply.text and inside.address in reply.text
    _, created = await client.next("session.created", 15)
    assert client.log[0] is created  # the first event on the channel
    text_turn(client, "Count to six.")
    _, done = await client.next("response.done")
    assert done["response"]["status"] == "completed"
    started_at, _ = await client.next("output_audio_buffer.started")
    _, stopped = await client.next("output_audio_buffer.stopped", 10)
    assert stopped["response_id"] == done["response"]["id"]
    for event in client.log:
        validate_ga(event)
    types = [e["type"] for e in client.log]
    assert "response.output_audio.delta" not in types  # audio is RTP only
    assert types.index("response.output_audio_transcript.delta") < types.index("response.done")
    # The voice came on the track: the scripted 800 ms of tone, in about real time.
    heard = client.loud_since(started_at - 0.5)
    assert 0.6 <= len(heard) * 0.02 <= 1.0, len(heard)
    assert 0.5 <= heard[-1].at - heard[0].at <= 1.3


async def test_the_call_keeps_the_protocol_on_the_data_channel(serve, callers):
    live = serve(brain=FakeBrain(scripts=[COUNTING]))
    client = callers()
    assert (await client.call(live.http)).status_code == 201
    await client.next("session.created", 15)
    # Audio goes on the track, not as JSON: refused, clearly, and the call goes on.
    client.send({"type": "input_audio_buffer.append", "event_id": "evt_a", "audio": "AAAA"})
    _, error = await client.next("error")
    assert error["error"]["event_id"] == "evt_a" and "media track" in error["error"]["message"]
    client.send({"type": "session.update", "session": {"type": "realtime",
                                                       "instructions": "Count."}})
    _, updated = await client.next("session.updated")
    assert updated["session"]["instructions"] == "Count."
    client.channel.send("{oops")
    _, error = await client.next("error")
    assert error["error"]["code"] == "invalid_json"
    text_turn(client, "Count to six.")
    _, done = await client.next("response.done")
    assert done["response"]["status"] == "completed"
    for event in client.log:
        validate_ga(event)


async def test_a_cancel_and_clear_cut_the_answer_where_it_was_heard(serve, callers):
    long = [speech(f"Word{n} word{n} word{n}. ", 500) for n in range(8)]  # 4 s
    live = serve(brain=FakeBrain(scripts=[long]))
    client = callers()
    await client.call(live.http)
    text_turn(client, "Talk.")
    started_at, _ = await client.next("output_audio_buffer.started")
    await asyncio.sleep(1.0)
    client.send({"type": "response.cancel"})  # too late: it was all made already
    _, error = await client.next("error")
    assert error["error"]["code"] == "response_cancel_not_active"
    client.send({"type": "output_audio_buffer.clear"})
    cut_at, _ = await client.next("output_audio_buffer.cleared")
    _, truncated = await client.next("conversation.item.truncated")
    # The voice stops within a frame or two of the cut (plus the jitter buffer).
    assert all(h.at < cut_at + 0.2 for h in client.loud_since(cut_at))
    # The item is cut where the caller stopped hearing it: about a second in (less on a
    # machine so busy that the server's track fell behind its clock), of 4 s.
    heard_ms = 20 * len(client.loud_since(started_at - 0.5))
    assert -20 <= truncated["audio_end_ms"] - heard_ms <= 200, (truncated, heard_ms)
    assert 300 <= truncated["audio_end_ms"] <= 1400, truncated
    client.send({"type": "conversation.item.retrieve", "item_id": truncated["item_id"]})
    _, retrieved = await client.next("conversation.item.retrieved")
    words = retrieved["item"]["content"][0]["transcript"].split()
    said = truncated["audio_end_ms"] * 3 / 500  # 3 words per 500 ms
    assert abs(len(words) - said) <= 1, (words, truncated)
    assert not any(e["type"] == "conversation.item.truncate" for e in client.sent)
    for event in client.log:
        validate_ga(event)


async def test_keys_content_types_and_bad_offers_get_json_errors(serve, callers):
    live = serve(api_key=KEY, max_calls=1)
    offer_client = callers()
    await offer_client.pc.setLocalDescription(await offer_client.pc.createOffer())
    offer = offer_client.pc.localDescription.sdp
    async with http(live) as web:
        async def post(body, kind="application/sdp", key=KEY, **kw):
            headers = {"Content-Type": kind} if kind else {}
            if key:
                headers["Authorization"] = f"Bearer {key}"
            reply = await web.post("/v1/realtime/calls", content=body, headers=headers, **kw)
            return reply.status_code, (reply.json()["error"] if reply.status_code >= 400
                                       else None)

        status, err = await post(offer, key="sk-wrong")
        assert status == 401 and err["code"] == "invalid_api_key" and err["message"]
        status, err = await post(offer, key=None)
        assert status == 401
        status, err = await post("hello", kind="application/sdp")
        assert status == 400 and err["code"] == "invalid_offer"
        status, err = await post("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n")
        assert status == 400 and err["type"] == "invalid_request_error"
        status, err = await post(json.dumps({"sdp": offer}), kind="application/json")
        assert status == 415 and "application/sdp" in err["message"]
        # A client secret opens a raw-SDP call with its session; a form needs the key.
        minted = (await web.post("/v1/realtime/client_secrets", json={"session": {
            "type": "realtime", "instructions": "Speak like a pirate."}},
            headers={"Authorization": f"Bearer {KEY}"})).json()["value"]
        files = {"sdp": (None, offer), "session": (None, json.dumps({"type": "realtime"}))}
        reply = await web.post("/v1/realtime/calls", files=files,
                               headers={"Authorization": f"Bearer {minted}"})
        assert reply.status_code == 401 and reply.json()["error"]["message"]
        files["session"] = (None, json.dumps({"type": "realtime", "voice": 3}))
        reply = await web.post("/v1/realtime/calls", files=files,
                               headers={"Authorization": f"Bearer {KEY}"})
        assert reply.status_code == 400
    client = callers()
    assert (await client.call(live.http, token=minted)).status_code == 201
    _, created = await client.next("session.created", 15)
    assert created["session"]["instructions"] == "Speak like a pirate."
    async with http(live) as web:
        # At capacity (one call): the next is refused until this one ends.
        reply = await web.post("/v1/realtime/calls", content=offer, headers={
            "Content-Type": "application/sdp", "Authorization": f"Bearer {KEY}"})
        assert reply.status_code == 503
        assert reply.json()["error"]["code"] == "server_at_capacity"
        reply = await web.post(f"/v1/realtime/calls/{client.call_id}/hangup",
                               headers={"Authorization": f"Bearer {minted}"})
        assert reply.status_code == 401  # a client secret cannot end calls
        reply = await web.post(f"/v1/realtime/calls/{client.call_id}/hangup",
                               headers={"Authorization": f"Bearer {KEY}"})
        assert reply.status_code == 200
        reply = await web.delete("/v1/realtime/calls/rtc_nope",
                                 headers={"Authorization": f"Bearer {KEY}"})
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "call_not_found"
    await asyncio.sleep(0.5)
    second = callers()
    reply = await second.call(live.http, token=KEY, session={
        "type": "realtime", "instructions": "Be brief."})
    assert reply.status_code == 201  # the slot is free again; a form with the key works
    _, created = await second.next("session.created", 15)
    assert created["session"]["instructions"] == "Be brief."
