"""A spoken conversation in a real Chromium against the real local cascade.

The fake microphone plays a WAV made with the embedded Piper voice; everything else is
the product: the page's capture worklet, the WebSocket, VAD, Whisper, the LLM, Piper, the
player worklet, the orb and the captions.
"""

from __future__ import annotations

import re
import time

import numpy as np

from tests.helpers import silence
from tests.web.conftest import debug, open_page, shot, wait_until, write_wav
from vivavoce.bench.wer import wer

QUESTION = "What is the capital of France?"
STORY = "Tell me a long story about a brave little dragon."
STORYTELLER = ("You are Viva, a storyteller. Whatever you are asked, answer with a long story "
               "of at least ten sentences.")


def states_in_order(log: list[dict], wanted: list[str]) -> bool:
    """`wanted` appears in the state log as a subsequence."""
    it = iter(entry["state"] for entry in log)
    return all(any(state == w for state in it) for w in wanted)


def last_of(page, type_: str) -> dict | None:
    found = [e for e in debug(page, "log") if e["type"] == type_]
    return found[-1] if found else None


def text_of(page, selector: str) -> str:
    return " ".join((page.text_content(selector) or "").split())


def test_spoken_question_answered_with_captions_and_orb_states(server, speak, launch, tmp_path):
    mic = write_wav(tmp_path / "question.wav",
                    np.concatenate([silence(1500), speak(QUESTION), silence(9000)]))
    page = open_page(launch(mic), f"{server.http}/")
    assert page.get_attribute("#orb", "data-state") == "idle"
    shot(page, "offline")

    page.click("#start")
    wait_until(lambda: "connected" in page.text_content("#conn"), 30, "the connection", page)
    page.wait_for_timeout(400)  # the orb settles; the mic is still hearing silence
    assert debug(page, "state") == "idle"
    shot(page, "idle")

    # Follow the orb through the turn, photographing each state once it has settled in.
    seen: set[str] = set()
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        state = page.get_attribute("#orb", "data-state")
        if state in ("listening", "thinking", "speaking") and state not in seen:
            # Thinking may last only a moment: an answer started at the user's first
            # pause is ready when the turn ends.
            if state != "thinking":
                page.wait_for_timeout(600)
            if page.get_attribute("#orb", "data-state") == state:
                seen.add(state)
                shot(page, state)
        done = last_of(page, "response.done")
        if done and debug(page, "state") == "idle":
            break
        page.wait_for_timeout(50)
    log = debug(page, "stateLog")
    assert states_in_order(log, ["idle", "listening", "thinking", "speaking", "idle"]), log
    assert {"listening", "thinking", "speaking"} <= seen, seen

    # What the fake mic said was heard and shown as the user's caption.
    heard = last_of(page, "conversation.item.input_audio_transcription.completed")
    assert heard is not None, debug(page, "events")
    user_text = text_of(page, f'li.msg.user[data-item-id="{heard["item_id"]}"] .text')
    assert wer(QUESTION, user_text) <= 0.25, user_text

    # The answer was played, all of it, and its captions are exactly its transcript.
    done = last_of(page, "response.done")["response"]
    assert done["status"] == "completed", done
    (item,) = done["output"]
    transcript = item["content"][0]["transcript"]
    # What the model says is tests/e2e's business; here: that the page shows and plays it.
    assert transcript.strip()
    received = debug(page, "receivedMs")[item["id"]]
    played = debug(page, "items")[item["id"]]
    assert received > 500
    assert played == received, (played, received)
    assert debug(page, "playedMs") >= played
    assert text_of(page, f'li.msg.assistant[data-item-id="{item["id"]}"] .text') \
        == " ".join(transcript.split())
    assert text_of(page, "#caption").endswith(" ".join(transcript.split())[-20:])
    assert not debug(page, "truncations")

    # One latency figure for the turn, shown next to the orb and in the panel.
    turns = debug(page, "turns")
    assert len(turns) == 1, (turns, log, [e for e in debug(page, "events") if "delta" not in e])
    (turn,) = turns
    assert turn["kind"] == "voice"
    assert 0 < turn["afterStopMs"] < 60000
    assert turn["afterLastWordMs"] is None or turn["afterLastWordMs"] >= turn["afterStopMs"]
    assert re.fullmatch(r"\d+\.\d\d s", page.text_content("#latency"))
    assert page.locator("#turns tr").count() == 1

    # Typing is the other way to talk.
    page.fill("#text-input", "Please say goodbye.")
    page.press("#text-input", "Enter")
    wait_until(lambda: len(debug(page, "turns")) == 2 and debug(page, "state") == "idle"
               and last_of(page, "response.done")["response"]["id"] != done["id"],
               120, "the typed turn's answer", page)
    assert debug(page, "turns")[1]["kind"] == "text"
    assert "Please say goodbye." in text_of(page, "#transcript")
    assert page.locator("li.msg.assistant").count() == 2
    assert debug(page, "errors") == []
    assert page.problems == []
    shot(page, "after-two-turns")


def backlog_ms(page) -> int:
    """How much received assistant audio is still waiting to be played."""
    return page.evaluate("""() => {
        const v = window.vivavoce;
        return Object.keys(v.receivedMs)
            .reduce((n, id) => n + v.receivedMs[id] - (v.items[id] || 0), 0);
    }""")


def test_speaking_over_the_answer_interrupts_it(server, speak, launch, tmp_path):
    # Chromium replays the fake mic's file from the start whenever the mic is opened again,
    # so muting and unmuting makes the user speak again exactly when the test wants: while
    # the answer is playing with audio still queued (however fast the models are today).
    mic = write_wav(tmp_path / "story.wav", np.concatenate([silence(300), speak(STORY),
                                                              silence(30000)]))
    page = open_page(launch(mic), f"{server.http}/")
    # A persona that makes the answer long enough to talk over, set in the drawer.
    page.click("#settings-btn")
    page.fill("#settings-form textarea[name=instructions]", STORYTELLER)
    page.click("#settings-form button[type=submit]")
    assert page.is_hidden("#settings")
    page.click("#start")
    wait_until(lambda: (last_of(page, "session.updated") or {}).get("session", {})
               .get("instructions") == STORYTELLER, 30, "the persona to apply", page)

    wait_until(lambda: debug(page, "state") == "speaking" and backlog_ms(page) > 1500, 150,
               "the answer to be playing with audio queued", page)
    shot(page, "speaking-before-barge-in")
    page.click("#mute")
    page.click("#mute")  # the mic reopens: the user speaks over the answer
    wait_until(lambda: debug(page, "truncations"), 30, "the barge-in truncation", page)
    (cut,) = debug(page, "truncations")
    item_id, heard_ms = cut["item_id"], cut["audio_end_ms"]
    page.wait_for_timeout(600)  # the orb's colour settles on listening
    shot(page, "barge-in")

    # The page had been speaking that item and switched to listening when the user spoke.
    assert states_in_order(debug(page, "stateLog"), ["speaking", "listening"])
    # It had played some of the item, not all of what it had received.
    assert 0 < heard_ms < debug(page, "receivedMs")[item_id]
    # Playback stopped there, at once, and stays stopped.
    assert debug(page, "items")[item_id] == heard_ms
    page.wait_for_timeout(1000)
    assert debug(page, "items")[item_id] == heard_ms
    # The truncate followed the user's speech start and the server confirmed it.
    wait_until(lambda: any(e["type"] == "conversation.item.truncated" and e["item_id"] == item_id
                           for e in debug(page, "log")), 10, "conversation.item.truncated", page)
    events = debug(page, "events")
    starts = [i for i, t in enumerate(events) if t == "input_audio_buffer.speech_started"]
    assert len(starts) >= 2
    assert starts[1] < events.index("conversation.item.truncated")
    confirmed = next(e for e in debug(page, "log") if e["type"] == "conversation.item.truncated")
    assert confirmed["audio_end_ms"] == heard_ms
    # The transcript marks the answer as cut off.
    assert "cut" in page.get_attribute(f'li.msg.assistant[data-item-id="{item_id}"]', "class")
    assert page.locator(f'li[data-item-id="{item_id}"] .badge').text_content() == "cut off"
    assert debug(page, "errors") == []
    assert page.problems == []
    page.click("#start")  # End: no need to hear the next story
