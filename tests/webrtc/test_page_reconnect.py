"""The page on its default transport (a WebRTC call) keeps its conversation when the
call drops: the server goes away mid-conversation (its calls close with it), the page
retries with growing waits until a server is back on the same store, then starts a new
call that resumes the session, redraws it and says so. Real Chromium inside the test's
network namespace, real servers and store, a scripted brain."""

from __future__ import annotations

from tests.fakes import FakeBrain, speech
from tests.helpers import free_port, silence
from tests.web.conftest import debug, open_page, shot, wait_until, write_wav
from tests.web.test_reconnect import ask, session_ids, texts
from tests.webrtc.test_calls import KEY


def test_a_dropped_call_reconnects_and_restores_the_conversation(serve, launch,
                                                                  chromium_inside, tmp_path):
    settings = {"api_key": KEY, "port": free_port()}  # resuming needs the session's token
    live = serve(brain=FakeBrain(scripts=[[speech("Hello Ada, nice to meet you.", 600)]]),
                 **settings)
    mic = write_wav(tmp_path / "quiet.wav", silence(60000))
    page = open_page(launch(mic, executable=chromium_inside), f"{live.http}/",
                     transport="webrtc")
    page.click("#start")
    wait_until(lambda: "connected" in page.text_content("#conn"), 30, "the call", page)
    assert debug(page, "transport") == "webrtc"
    ask(page, "Hello! My name is Ada.", 1)
    before = texts(page)
    assert before == ["Hello! My name is Ada.", "Hello Ada, nice to meet you."]
    (first_id,) = session_ids(page)
    first_call = debug(page, "callId")

    live.stop()  # the server goes, and its calls with it
    wait_until(lambda: "reconnecting" in page.text_content("#conn"), 15, "the drop noticed",
               page)
    shot(page, "webrtc-reconnecting")
    page.wait_for_timeout(2500)  # a few tries fail while no server answers
    brain = FakeBrain(scripts=[[speech("You are Ada.", 400)]])
    serve(brain=brain, **settings)  # back, on the same store
    wait_until(lambda: debug(page, "restored") == 1, 45, "the conversation restored", page)
    assert "connected" in page.text_content("#conn")
    assert any(t.text_content() == "Reconnected — conversation restored"
               for t in page.locator(".toast").all())
    shot(page, "webrtc-reconnected")
    assert debug(page, "callId") != first_call  # a new call...
    assert session_ids(page) == [first_id, first_id]  # ...resuming the same session
    assert texts(page) == before  # redrawn from the server, in order

    ask(page, "What is my name?", 2)
    assert texts(page)[2:] == ["What is my name?", "You are Ada."]
    history = [p.get("text") or p.get("transcript") for i in brain.requests[-1].items
               for p in i["content"]]
    assert history == ["Hello! My name is Ada.", "Hello Ada, nice to meet you.",
                       "What is my name?"]
    assert debug(page, "reconnects") == 1 and debug(page, "errors") == []
    # The browser logs each request refused while no server listened; nothing else.
    assert [p for p in page.problems if "ERR_CONNECTION_REFUSED" not in p] == []
    page.click("#start")  # End
