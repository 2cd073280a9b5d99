"""The page's own behaviour, with exact control over what the server says.

The page is served by the real app (no models behind it); for most tests Playwright
routes the page's WebSocket to a scripted stand-in, so tool cards, errors, a dropped
connection and the stop button can be checked event by event.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from tests.web.conftest import connect, debug, open_page, shot, wait_until


def tone(ms: int) -> bytes:
    t = np.arange(24 * ms) / 24000
    return (np.sin(2 * np.pi * 440 * t) * 0.3 * 32767).astype("<i2").tobytes()


def test_settings_and_typed_messages_go_out_as_ga_events(light_server, launch):
    live = light_server()
    page = open_page(launch(), f"{live.http}/")
    fake = connect(page)

    # On connect: the GA session shape, with input transcription on so captions work.
    first = fake.wait_for("session.update")["session"]
    assert first["type"] == "realtime"
    assert first["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    assert first["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert first["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    wait_until(lambda: fake.appends > 5, 10, "microphone audio", page)

    # The drawer shows the server's session; changes go out as session.update.
    page.click("#settings-btn")
    assert page.input_value("textarea[name=instructions]") == "You are Viva."
    page.fill("textarea[name=instructions]", "Be terse.")
    page.check("input[name=turn][value=semantic_vad]")
    assert page.is_hidden(".when-server") and page.is_visible(".when-semantic")
    page.select_option("select[name=eagerness]", "high")
    # The voices are the server's (one embedded voice).
    assert page.locator("select[name=voice] option").all_text_contents() == ["joe"]
    shot(page, "settings")
    page.click("#settings-form button[type=submit]")
    update = wait_until(lambda: len(fake.of_type("session.update")) == 2
                        and fake.of_type("session.update")[1], 10, "the settings", page)
    assert update["session"] == {
        "type": "realtime",
        "instructions": "Be terse.",
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                            "transcription": {"model": "whisper-1"},
                            "turn_detection": {"type": "semantic_vad", "eagerness": "high"}},
                  "output": {"format": {"type": "audio/pcm", "rate": 24000}}},
    }

    # Server VAD with a silence window.
    page.click("#settings-btn")
    page.check("input[name=turn][value=server_vad]")
    page.fill("input[name=silence]", "800")
    page.click("#settings-form button[type=submit]")
    update = wait_until(lambda: len(fake.of_type("session.update")) == 3
                        and fake.of_type("session.update")[2], 10, "the settings", page)
    assert update["session"]["audio"]["input"]["turn_detection"] == {
        "type": "server_vad", "silence_duration_ms": 800}

    # Typing: a user message, then a response.
    page.fill("#text-input", "Hello there")
    page.press("#text-input", "Enter")
    fake.wait_for("response.create")
    (create,) = fake.of_type("conversation.item.create")
    assert create["item"] == {"type": "message", "role": "user",
                              "content": [{"type": "input_text", "text": "Hello there"}]}
    kinds = [e["type"] for e in fake.received]
    assert kinds.index("conversation.item.create") < kinds.index("response.create")
    assert debug(page, "state") == "thinking"

    # Choices survive a reload (localStorage), and are sent when the session starts.
    page.reload()
    fake = connect(page)
    first = fake.wait_for("session.update")["session"]
    assert first["instructions"] == "Be terse."
    assert first["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 800
    assert page.problems == []


def test_tool_calls_errors_and_a_dropped_connection(light_server, launch):
    live = light_server()
    page = open_page(launch(), f"{live.http}/")
    fake = connect(page)
    fake.send({"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}})
    call = {"id": "item_call", "type": "function_call", "call_id": "call_1",
            "name": "get_weather", "arguments": '{"city": "Paris"}', "status": "completed"}
    fake.send({"type": "response.output_item.added", "response_id": "resp_1", "output_index": 0,
               "item": {**call, "arguments": "", "status": "in_progress"}})
    fake.send({"type": "response.output_item.done", "response_id": "resp_1", "output_index": 0,
               "item": call})
    fake.send({"type": "response.done", "response": {"id": "resp_1", "status": "completed",
                                                     "output": [call]}})
    card = page.locator("li.tool")
    card.wait_for()
    assert card.locator(".name").text_content() == "get_weather"
    assert json.loads(card.locator(".args").text_content()) == {"city": "Paris"}
    assert "running" in card.locator(".result").text_content()
    fake.send({"type": "conversation.item.added", "previous_item_id": "item_call",
               "item": {"id": "item_out", "type": "function_call_output", "call_id": "call_1",
                        "output": '{"temp_c": 21, "sky": "clear"}'}})
    wait_until(lambda: "temp_c" in card.locator(".result").text_content(), 5, "the result", page)
    # The server runs its tool and answers in a new response: still thinking meanwhile.
    assert debug(page, "state") == "thinking"
    answer = {"id": "item_answer", "type": "message", "role": "assistant", "status": "completed",
              "content": [{"type": "output_text", "text": "It is 21 degrees and clear."}]}
    fake.send({"type": "response.created", "response": {"id": "resp_2", "status": "in_progress"}})
    fake.send({"type": "response.output_item.added", "response_id": "resp_2", "output_index": 0,
               "item": {**answer, "content": []}})
    fake.send({"type": "response.output_text.delta", "response_id": "resp_2",
               "item_id": "item_answer", "output_index": 0, "content_index": 0,
               "delta": "It is 21 degrees and clear."})
    fake.send({"type": "response.done", "response": {"id": "resp_2", "status": "completed",
                                                     "output": [answer]}})
    wait_until(lambda: debug(page, "state") == "idle", 5, "idle", page)
    assert page.text_content('li[data-item-id="item_answer"] .text') == \
        "It is 21 degrees and clear."
    # One stretch of thinking from the first response to the answer, not idle in between.
    assert [e["state"] for e in debug(page, "stateLog")] == ["idle", "thinking", "idle"]

    # A server error is a short message, and the session carries on.
    fake.send({"type": "error", "error": {"type": "invalid_request_error", "code": "invalid_value",
                                          "message": "Invalid value for 'session.voice'.",
                                          "param": "session.voice", "event_id": None}})
    toast = page.locator(".toast")
    toast.wait_for()
    assert toast.text_content() == "Invalid value for 'session.voice'."
    shot(page, "tool-card-and-error")
    assert "connected" in page.text_content("#conn")

    # The server goes away: say so, and offer to reconnect.
    fake.sockets[-1].close(code=1011, reason="server shutting down")
    banner = page.locator("#banner")
    banner.wait_for()
    assert "closed the session" in banner.text_content()
    assert page.locator("#banner button.action").text_content() == "Reconnect"
    assert page.text_content("#conn").strip() == "disconnected"
    assert debug(page, "state") == "idle"
    assert page.is_visible("#orb")
    shot(page, "connection-dropped")
    page.click("#banner button.action")
    wait_until(lambda: "connected" in page.text_content("#conn"), 10, "reconnected", page)
    assert len(fake.sockets) == 2
    assert page.is_hidden("#banner")


def test_stop_button_cancels_and_truncates_what_was_not_heard(light_server, launch):
    live = light_server()
    page = open_page(launch(), f"{live.http}/")
    fake = connect(page)
    fake.send({"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}})
    fake.send({"type": "response.output_item.added", "response_id": "resp_1", "output_index": 0,
               "item": {"id": "item_a", "type": "message", "role": "assistant", "content": []}})
    common = {"response_id": "resp_1", "item_id": "item_a", "output_index": 0, "content_index": 0}
    fake.send({"type": "response.output_audio_transcript.delta", **common,
               "delta": "A tone for three seconds."})
    pcm = tone(3000)
    for start in range(0, len(pcm), 4800):  # 100 ms chunks, all at once: faster than real time
        fake.send({"type": "response.output_audio.delta", **common,
                   "delta": base64.b64encode(pcm[start:start + 4800]).decode()})
    wait_until(lambda: debug(page, "state") == "speaking" and debug(page, "playedMs") > 500,
               10, "playback", page)
    assert page.is_visible("#stop-answer")
    # Captions follow the audio: the words are shown once their audio plays.
    assert "A tone for three seconds." in page.text_content('li[data-item-id="item_a"]')
    page.click("#stop-answer")
    cancel = fake.wait_for("response.cancel")
    truncate = fake.wait_for("conversation.item.truncate")
    assert cancel == {"type": "response.cancel"}
    heard = truncate["audio_end_ms"]
    assert truncate["item_id"] == "item_a" and truncate["content_index"] == 0
    assert 500 < heard < 3000
    assert debug(page, "items")["item_a"] == heard
    page.wait_for_timeout(500)
    assert debug(page, "items")["item_a"] == heard  # nothing more was played
    fake.send({"type": "response.done", "response": {
        "id": "resp_1", "status": "cancelled",
        "status_details": {"type": "cancelled", "reason": "client_cancelled"},
        "output": [{"id": "item_a", "type": "message", "role": "assistant"}]}})
    wait_until(lambda: debug(page, "state") == "idle", 5, "idle", page)
    assert "cut" in page.get_attribute('li[data-item-id="item_a"]', "class")
    assert page.is_hidden("#stop-answer")
    assert debug(page, "truncations") == [{"item_id": "item_a", "audio_end_ms": heard}]


def test_an_answer_played_to_the_end_is_not_truncated(light_server, launch):
    live = light_server()
    page = open_page(launch(), f"{live.http}/")
    fake = connect(page)
    common = {"response_id": "resp_1", "item_id": "item_a", "output_index": 0, "content_index": 0}
    fake.send({"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}})
    # Odd chunk sizes: joins fall anywhere, the count must still be exact.
    pcm = tone(1000)
    for start, end in ((0, 1234), (1234, 30002), (30002, len(pcm))):
        fake.send({"type": "response.output_audio.delta", **common,
                   "delta": base64.b64encode(pcm[start:end]).decode()})
    fake.send({"type": "response.output_audio.done", **common})
    fake.send({"type": "response.done", "response": {
        "id": "resp_1", "status": "completed",
        "output": [{"id": "item_a", "type": "message", "role": "assistant"}]}})
    wait_until(lambda: debug(page, "state") == "speaking", 5, "speaking", page)
    wait_until(lambda: debug(page, "state") == "idle", 5, "the end of playback", page)
    assert debug(page, "items")["item_a"] == 1000
    # The user speaks after it ended: nothing to truncate.
    fake.send({"type": "input_audio_buffer.speech_started", "audio_start_ms": 5000,
               "item_id": "item_user"})
    wait_until(lambda: debug(page, "state") == "listening", 5, "listening", page)
    page.wait_for_timeout(300)
    assert fake.of_type("conversation.item.truncate") == []


def test_refused_microphone_is_explained_and_typing_still_works(light_server, launch):
    live = light_server()
    page = open_page(launch(allow_mic=False), f"{live.http}/")
    fake = connect(page)
    banner = page.locator("#banner")
    banner.wait_for()
    assert "Microphone access was blocked" in banner.text_content()
    assert "type" in banner.text_content()
    assert page.is_enabled("#text-input")
    assert "Microphone off" in page.text_content("#state-label")
    shot(page, "mic-denied")
    page.fill("#text-input", "Hi")
    page.press("#text-input", "Enter")
    fake.wait_for("response.create")


def test_unreachable_server_is_explained(light_server, launch):
    live = light_server()
    page = open_page(launch(), f"{live.http}/")
    live.stop()
    page.click("#start")
    banner = page.locator("#banner")
    banner.wait_for()
    assert "Can't reach the vivavoce server" in banner.text_content()
    assert page.locator("#banner button.action").text_content() == "Try again"
    assert page.text_content("#conn").strip() == "offline"
    assert page.text_content("#start") == "Start"
    assert page.is_visible("#orb")
    shot(page, "server-unreachable")


def canvas_frames(page: Any, count: int, gap_ms: int) -> list[str]:
    frames = []
    for _ in range(count):
        frames.append(page.evaluate("document.querySelector('#orb canvas').toDataURL()"))
        page.wait_for_timeout(gap_ms)
    return frames


def test_orb_holds_still_for_reduced_motion(light_server, launch):
    live = light_server()
    browser = launch()
    moving = open_page(browser, f"{live.http}/")
    still = open_page(browser, f"{live.http}/", reduced_motion="reduce")
    moving.wait_for_timeout(800)  # let the colour settle
    still.wait_for_timeout(800)
    assert len(set(canvas_frames(moving, 3, 300))) > 1  # idle breathes
    assert len(set(canvas_frames(still, 3, 300))) == 1  # …unless asked not to
    assert still.get_attribute("#orb", "data-state") == "idle"


def test_switching_character_starts_a_new_session(light_server, launch):
    live = light_server()
    page = open_page(launch(), f"{live.http}/")
    fake = connect(page)
    assert "persona=" not in fake.sockets[0].url  # the server's default character
    page.click("#settings-btn")
    page.wait_for_selector("#persona-field:not([hidden])")
    titles = page.locator("select[name=persona] option").all_text_contents()
    assert "Jarvis" in titles
    page.select_option("select[name=persona]", "jarvis")
    assert page.input_value("textarea[name=instructions]") == ""  # Jarvis brings his own
    page.click("#settings-form button[type=submit]")
    wait_until(lambda: len(fake.sockets) == 2, 10, "a new session", page)
    assert fake.sockets[1].url.endswith("/v1/realtime?persona=jarvis")
    wait_until(lambda: "connected" in page.text_content("#conn"), 10, "connected", page)
    update = fake.wait_for("session.update")["session"]
    assert "instructions" not in update  # nothing of the old character's carried over
    # Anything else is a session.update on the same session.
    page.click("#settings-btn")
    page.fill("textarea[name=instructions]", "Be very dry.")
    page.click("#settings-form button[type=submit]")
    wait_until(lambda: fake.of_type("session.update")[-1]["session"].get("instructions")
               == "Be very dry.", 10, "the update", page)
    assert len(fake.sockets) == 2
