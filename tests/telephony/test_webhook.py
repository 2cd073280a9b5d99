"""The voice webhook: TwiML that connects the call to the stream, Twilio's signature
checked when the auth token is set, and a per-call token for the stream."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import httpx
import pytest
import websockets
from twilio.request_validator import RequestValidator

from tests.telephony.conftest import AUTH_TOKEN
from vivavoce.transports.twilio.security import TOKEN_TTL_S, stream_allowed


async def test_twiml_connects_the_call_to_the_stream_with_its_parameters(phone_server):
    live = await phone_server(persona="jarvis", phone_greeting=True)
    phone = live.caller()
    reply = await phone.dial()
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(reply.text)
    assert root.tag == "Response"
    (stream,) = root.findall("./Connect/Stream")
    # The URL Twilio opens has no query string: values travel as <Parameter>s.
    assert stream.get("url") == f"ws://127.0.0.1:{live.port}/v1/telephony/twilio"
    assert phone.parameters == {"persona": "jarvis", "greeting": "1"}  # signing is off
    assert (await phone.dial("?persona=enigma&greeting=0")).status_code == 200
    assert phone.parameters == {"persona": "enigma", "greeting": "0"}


async def test_behind_a_tls_proxy_the_stream_is_wss_on_the_public_host(phone_server):
    live = await phone_server(public_url="https://voice.example.org/")
    async with httpx.AsyncClient(trust_env=False) as http:
        reply = await http.post(f"{live.http}/v1/telephony/twilio/voice",
                                data={"CallSid": "CA1"})
    stream = ET.fromstring(reply.text).find("./Connect/Stream")
    assert stream.get("url") == "wss://voice.example.org/v1/telephony/twilio"


async def test_signed_webhooks_get_a_token_forged_and_unsigned_ones_are_refused(phone_server):
    live = await phone_server(twilio_auth_token=AUTH_TOKEN)
    phone = live.caller()
    reply = await phone.dial("?persona=enigma")
    assert reply.status_code == 200
    params = phone.parameters
    assert set(params) == {"persona", "greeting", "expires", "token"}
    assert stream_allowed(AUTH_TOKEN, phone.call_sid, params)
    assert not stream_allowed(AUTH_TOKEN, "CAother", params)
    assert not stream_allowed(AUTH_TOKEN, phone.call_sid, {**params, "persona": "jarvis"})
    assert not stream_allowed(AUTH_TOKEN, phone.call_sid, params,
                              now=int(params["expires"]) + 1)
    assert 0 < int(params["expires"]) - time.time() <= TOKEN_TTL_S
    # Signed with another account's token, for another URL, or not at all: refused.
    url = f"{live.http}/v1/telephony/twilio/voice"
    form = {"CallSid": phone.call_sid, "From": "+15550100"}
    for signature in (RequestValidator("someone-else").compute_signature(url, form),
                      RequestValidator(AUTH_TOKEN).compute_signature(url + "?persona=x", form),
                      "", None):
        headers = {} if signature is None else {"X-Twilio-Signature": signature}
        async with httpx.AsyncClient(trust_env=False) as http:
            reply = await http.post(url, data=form, headers=headers)
        assert reply.status_code == 403, signature
        assert "signed by Twilio" in reply.text
    # A parameter changed after signing is a forgery too.
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    async with httpx.AsyncClient(trust_env=False) as http:
        reply = await http.post(url, data={**form, "From": "+15550666"},
                                headers={"X-Twilio-Signature": signature})
        assert reply.status_code == 403
        reply = await http.post(url, data=form, headers={"X-Twilio-Signature": signature})
        assert reply.status_code == 200


async def test_a_browser_page_from_elsewhere_cannot_reach_the_phone_bridge(phone_server):
    """Twilio sends no Origin; a foreign one is a page in someone's browser, refused on
    both the webhook and the stream before any call exists."""
    live = await phone_server()
    evil = {"Origin": "http://evil.example"}
    async with httpx.AsyncClient(trust_env=False) as http:
        reply = await http.post(f"{live.http}/v1/telephony/twilio/voice",
                                data={"CallSid": "CA1"}, headers=evil)
    assert reply.status_code == 403
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(f"ws://127.0.0.1:{live.port}/v1/telephony/twilio",
                                      additional_headers=evil):
            pass
    assert refused.value.response.status_code == 403
    assert not live.app.state.phone_calls.streams
