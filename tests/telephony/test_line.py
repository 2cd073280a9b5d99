"""The phone line, the stream's messages and the keypad, sans-I/O."""

from __future__ import annotations

import base64
import json

import pytest

from tests.fakes import voice
from vivavoce.transports.twilio import messages
from vivavoce.transports.twilio.keypad import Keypad
from vivavoce.transports.twilio.line import PhoneLine


def frames(line: PhoneLine, n: int) -> list[str]:
    """Send `n` frames; the marks named after them."""
    marks: list[str] = []
    for _ in range(n):
        payload, named = line.frame()
        assert len(payload) == messages.FRAME_BYTES
        marks += named
    return marks


def test_marks_say_which_item_and_how_much_will_have_played():
    line = PhoneLine(mark_every=5)
    line.push("resp_1", "item_1", voice(300))
    line.end_item("resp_1", "item_1")
    marks = frames(line, 15)
    assert line.idle
    # The first frame (the answer started), every 100 ms, and the end (drained).
    assert [m.split("#")[0] for m in marks] == ["item_1@20ms", "item_1@120ms",
                                                "item_1@220ms", "item_1@300ms"]
    reports = [line.echoed(m) for m in marks]
    assert [r.state for r in reports] == ["playing", "playing", "playing", "drained"]
    assert reports[-1].item_samples == reports[-1].response_samples == 7200
    assert not line.playing


def test_a_cut_keeps_only_what_the_echoed_marks_prove():
    line = PhoneLine(mark_every=5)
    line.push("resp_1", "item_1", voice(1000))
    marks = frames(line, 12)  # 240 ms sent; Twilio has played 120 ms of it so far
    line.echoed(marks[0])
    line.echoed(marks[1])
    cut = line.clear()
    assert (cut.state, cut.item_id, cut.item_samples) == ("cleared", "item_1", 120 * 24)
    # Marks pending at the clear come back at once (Twilio's way): they prove nothing.
    assert line.echoed(marks[2]) is None
    assert line.idle and not line.playing
    assert line.clear() is None  # nothing left to cut


def test_a_missing_echo_is_moot_once_a_later_one_comes():
    line = PhoneLine(mark_every=1)
    line.push("resp_1", "item_1", voice(100))
    marks = frames(line, 3)
    assert line.echoed(marks[2]).item_samples == 60 * 24
    assert line.echoed(marks[1]) is None
    assert line.playing and not line.idle  # 40 ms of it still to send


def test_the_first_frame_of_the_next_answer_is_marked_too():
    line = PhoneLine(mark_every=50)
    line.push("resp_1", "item_1", voice(30))
    line.end_item("resp_1", "item_1")
    line.push("resp_2", "item_2", voice(100))
    marks = frames(line, 2)
    # The second frame ends item_1 and starts item_2: item_1 drained, item_2 playing.
    reports = [line.echoed(m) for m in marks]
    assert [(r.state, r.item_id) for r in reports] == [
        ("playing", "item_1"), ("drained", "item_1"), ("playing", "item_2")]


def stream_message(event: str, **fields) -> str:
    return json.dumps({"event": event, "streamSid": "MZ1", **fields})


@pytest.mark.parametrize(("raw", "reason"), [
    (b"\x00", "binary"),
    ("[1]", "not an object"),
    (stream_message("media", media={"payload": "@@@"}), "not base64"),
    (stream_message("media", media={}), "media.payload"),
    (stream_message("media", media={"track": "outbound", "payload": "/w=="}), "outbound"),
    (json.dumps({"event": "media", "streamSid": "MZ2", "media": {"payload": "/w=="}}),
     "another stream"),
    (stream_message("mark", mark={}), "mark.name"),
    (stream_message("dtmf", dtmf={"digit": "12"}), "unknown key"),
    (stream_message("hello"), "unknown event"),
    (json.dumps({"event": "start", "start": {"streamSid": "MZ1", "callSid": "CA1",
                                             "mediaFormat": {"encoding": "audio/x-l16",
                                                             "sampleRate": 16000}}}),
     "unsupported media format"),
])
def test_bad_messages_say_why(raw, reason):
    with pytest.raises(messages.BadMessage, match=reason):
        messages.parse(raw, "MZ1")


def test_good_messages():
    payload = bytes(range(160))
    media = messages.parse(stream_message("media", media={
        "track": "inbound", "chunk": "1", "timestamp": "20",
        "payload": base64.b64encode(payload).decode()}), "MZ1")
    assert media == messages.Media(payload)
    start = messages.parse(json.dumps({"event": "start", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "callSid": "CA1", "customParameters": {"persona": "enigma"},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}),
        None)
    assert start == messages.Start("MZ1", "CA1", {"persona": "enigma"})
    with pytest.raises(messages.BadMessage, match="before 'start'"):
        messages.parse(stream_message("media", media={"payload": "/w=="}), None)
    assert json.loads(messages.clear("MZ1")) == {"event": "clear", "streamSid": "MZ1"}


def test_keys_gather_until_pound_or_a_pause():
    keypad = Keypad(pause_s=2.0)
    assert keypad.due is None
    assert [keypad.press(k, 1.0) for k in "482"] == [None, None, None]
    assert keypad.due == 3.0
    assert keypad.press("9", 1.5) is None
    assert keypad.tick(3.4) is None  # the pause counts from the last key
    assert keypad.tick(3.5) == "The caller pressed 4 8 2 9"
    assert keypad.due is None and keypad.tick(9.0) is None
    assert keypad.press("*", 10.0) is None
    assert keypad.press("#", 10.1) == "The caller pressed star"
    assert keypad.press("#", 10.2) is None  # nothing typed: nothing to say
