"""The page keeps its conversation through a dropped connection: mid-conversation the
network goes (Chromium offline, its socket cut), the page retries until it is back,
resumes the session and redraws it; "New conversation" starts afresh. Real browser,
real server, real models and store."""

from __future__ import annotations

from tests.helpers import silence
from tests.web.conftest import debug, open_page, shot, wait_until, write_wav


def texts(page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("#transcript li .text").all_text_contents()]


def session_ids(page) -> list[str]:
    return [e["session"]["id"] for e in debug(page, "log") if e["type"] == "session.created"]


def ask(page, text: str, answers: int) -> None:
    page.fill("#text-input", text)
    page.press("#text-input", "Enter")
    wait_until(lambda: len(page.locator("#transcript li.assistant").all()) >= answers
               and debug(page, "state") == "idle", 120, f"the answer to {text!r}", page)


def test_offline_mid_conversation_then_back_restores_it(light_server, launch, tmp_path):
    live = light_server(api_key="sk-page-9c2b")  # resuming needs the session's token then
    mic = write_wav(tmp_path / "quiet.wav", silence(60000))
    page = open_page(launch(mic), f"{live.http}/")
    # Chromium's offline mode stops new requests but leaves an open socket alone: pass the
    # page's sockets through Playwright, to cut the one in use when the network goes.
    sockets = []

    def through(ws) -> None:
        sockets.append((ws, ws.connect_to_server()))

    page.route_web_socket(lambda url: "/v1/realtime" in url, through)
    page.click("#start")
    wait_until(lambda: "connected" in page.text_content("#conn"), 30, "the connection", page)
    assert page.is_hidden("#new-conversation") is False
    ask(page, "Hello! My name is Ada.", 1)
    before = texts(page)
    assert before[0] == "Hello! My name is Ada." and before[1]
    (first_id,) = session_ids(page)

    page.context.set_offline(True)
    page_side, server_side = sockets[-1]
    server_side.close()
    page_side.close(code=1001)  # gone away, no reason given: a drop, not a dismissal
    wait_until(lambda: "reconnecting" in page.text_content("#conn"), 15, "the drop noticed",
               page)
    shot(page, "reconnecting")
    page.wait_for_timeout(2500)  # a few tries fail while offline
    page.context.set_offline(False)
    wait_until(lambda: debug(page, "restored") == 1, 30, "the conversation restored", page)
    assert "connected" in page.text_content("#conn")
    assert any(t.text_content() == "Reconnected — conversation restored"
               for t in page.locator(".toast").all())
    shot(page, "reconnected")
    assert session_ids(page) == [first_id, first_id]  # the same session, resumed
    assert texts(page) == before  # redrawn from the server, in order

    ask(page, "Thank you! Say goodbye.", 2)
    assert len(texts(page)) == 4

    page.click("#new-conversation")
    wait_until(lambda: len(session_ids(page)) == 3, 30, "a new session", page)
    assert session_ids(page)[-1] != first_id
    wait_until(lambda: texts(page) == [], 5, "an empty transcript", page)
    assert debug(page, "reconnects") == 1
    # The browser logs each request that failed while offline, and a frame the page sent
    # as the cut socket was closing (the page checks readyState; the routed socket may
    # still say open); nothing else went wrong.
    expected = ("ERR_INTERNET_DISCONNECTED", "WebSocket is already in CLOSING or CLOSED state")
    assert [p for p in page.problems if not any(e in p for e in expected)] == []
