"""Keys stay on the server: the page holds none, and client secrets expire."""

from __future__ import annotations

import asyncio
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

import vivavoce
from tests.web.conftest import open_page, shot, wait_until

KEY = "sk-test-web-3f9a1c7e5b2d"
WEB = Path(vivavoce.__file__).resolve().parent / "web"
KEYLIKE = re.compile(r"\b(sk|ek)[-_][A-Za-z0-9_-]{8,}")


def test_served_page_and_scripts_hold_no_key(light_server):
    live = light_server(api_key=KEY)
    files = sorted(p.relative_to(WEB).as_posix() for p in WEB.rglob("*") if p.is_file())
    assert {"index.html", "app.js", "capture-worklet.js", "player-worklet.js"} <= set(files)
    with httpx.Client(base_url=live.http) as http:
        served = {"/": http.get("/")}
        served.update({f"/{name}": http.get(f"/{name}") for name in files})
    for path, response in served.items():
        assert response.status_code == 200, path
        assert KEY not in response.text, path
        assert not KEYLIKE.search(response.text), (path, KEYLIKE.search(response.text))
    # Every script the page loads is among the files checked.
    for name in re.findall(r'src="([^"]+)"', served["/"].text):
        assert f"/{name}" in served


def test_browser_never_receives_the_key(light_server, launch):
    live = light_server(api_key=KEY)
    page = open_page(launch(), "about:blank")
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(f"{live.http}/")
    page.click("#start")
    wait_until(lambda: page.is_visible("#banner") or "connected" in page.text_content("#conn"),
               15, "the connection attempt", page)
    page.wait_for_timeout(300)
    assert responses
    for response in responses:
        body = response.body().decode("utf-8", "replace")
        assert KEY not in body, response.url
        assert KEY not in json.dumps(response.request.headers), response.url
    assert KEY not in page.content()
    assert KEY not in page.evaluate("JSON.stringify(localStorage) + document.cookie")


def test_page_explains_a_refusal_when_web_sessions_are_off(light_server, launch):
    live = light_server(api_key=KEY, web_sessions=False)
    page = open_page(launch(), f"{live.http}/")
    page.click("#start")
    banner = page.locator("#banner")
    banner.wait_for()
    text = banner.text_content()
    assert "would not start a session" in text and "web page is turned off" in text
    assert page.locator("#banner button.action").text_content() == "Try again"
    assert page.text_content("#conn").strip() == "offline"
    shot(page, "key-refused")


def test_page_connects_with_a_short_lived_client_secret(light_server, launch):
    live = light_server(api_key=KEY)
    page = open_page(launch(), f"{live.http}/")
    page.click("#start")
    wait_until(lambda: "connected" in page.text_content("#conn"), 15, "connected", page)
    minted = live.app.state.auth._minted  # kept by hash, never the secret itself
    assert minted and all(len(hashed) == 64 and not hashed.startswith("ek_")
                          for hashed in minted)
    assert all(secret.expires_at - time.time() <= 600 for secret in minted.values())


def realtime(live, credential: str):
    return ws_connect(f"{live.ws}/v1/realtime",
                      subprotocols=["realtime", f"openai-insecure-api-key.{credential}"])


def mint(auth, ttl_s: int):
    """A client secret minted in-process, on a thread of its own (Playwright's sync API
    keeps an event loop running on this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, auth.mint(ttl_s, {})).result()


def test_expired_client_secret_is_refused(light_server):
    live = light_server(api_key=KEY)
    auth = live.app.state.auth
    fresh = mint(auth, 60)
    stale = mint(auth, 1)  # minted directly: the HTTP route clamps lifetimes to >= 10 s
    time.sleep(2.1)
    # The same path with a live secret works, so the refusal below is about expiry.
    with realtime(live, fresh.value) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "session.created"
    with realtime(live, stale.value) as ws:
        event = json.loads(ws.recv(timeout=5))
        assert event["type"] == "error"
        assert event["error"]["code"] == "invalid_api_key"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_minting_needs_the_server_key(light_server):
    live = light_server(api_key=KEY)
    body = {"expires_after": {"anchor": "created_at", "seconds": 600},
            "session": {"type": "realtime", "instructions": "Be brief."}}
    with httpx.Client(base_url=live.http) as http:
        assert http.post("/v1/realtime/client_secrets", json=body).status_code == 401
        minted = http.post("/v1/realtime/client_secrets", json=body,
                           headers={"Authorization": f"Bearer {KEY}"})
    assert minted.status_code == 200
    secret = minted.json()
    assert secret["value"].startswith("ek_")
    assert secret["session"]["instructions"] == "Be brief."
    # A client secret opens a session but cannot mint more secrets.
    with httpx.Client(base_url=live.http) as http:
        again = http.post("/v1/realtime/client_secrets", json=body,
                          headers={"Authorization": f"Bearer {secret['value']}"})
    assert again.status_code == 401
    with realtime(live, secret["value"]) as ws:
        created = json.loads(ws.recv(timeout=5))
    assert created["session"]["instructions"] == "Be brief."
