"""Server-owned playback (as on a WebRTC call) on scripted parts: the real runner, driver,
session and `Playback`, a transport that plays the audio on the test's clock.

The transport reports what it played; the session sends `output_audio_buffer.*` and, when
playback is cut, truncates the assistant item to what was heard: the client sends nothing.
"""

from __future__ import annotations

import numpy as np

from tests.fakes import FakeBrain, FakePlayer, Wait, speech, until, voice
from tests.helpers import silence
from tests.runtime.test_runner import leave, open_session, runner_for, text_turn
from vivavoce.runtime.playback import Playback
from vivavoce.runtime.transport import Context
from vivavoce.session.spans import SPANS_EVENT

WORDS = [speech("One two three. ", 500), speech("Four five six. ", 500),
         speech("Seven eight nine.", 500)]


class PlayingTransport(FakePlayer):
    """Plays what it is given one 20 ms frame per `tick`, as a WebRTC call's track does."""

    def __init__(self) -> None:
        super().__init__()
        self.playback = Playback()

    async def play(self, response_id, item_id, pcm) -> None:
        await super().play(response_id, item_id, pcm)
        self.playback.push(response_id, item_id, pcm)

    async def send(self, event) -> None:
        await super().send(event)
        if event["type"] == "output_audio_buffer.cleared":
            cut = self.playback.clear()
            if cut is not None:
                self.put(cut)
        elif event["type"] == "response.output_audio.done":
            self.playback.end_item(event["response_id"], event["item_id"])

    def tick(self, frames: int = 1) -> None:
        for _ in range(frames):
            for report in self.playback.frame()[1]:
                self.put(report)


def buffer_events(client) -> list[str]:
    return [e["type"] for e in client.events if e["type"].startswith("output_audio_buffer.")
            or e["type"] in ("response.done", "conversation.item.truncated")]


async def test_started_when_the_first_frame_plays_stopped_when_all_of_it_has():
    client = PlayingTransport()
    client, served = await open_session(runner_for(FakeBrain(scripts=[WORDS])), client)
    text_turn(client, "Count.")
    done = (await client.wait_for("response.done"))["response"]
    assert not client.of_type("output_audio_buffer.started")  # nothing played yet
    client.tick()
    started = await client.wait_for("output_audio_buffer.started")
    assert started["response_id"] == done["id"]
    client.tick(70)  # 1.4 s: not all of it
    await until(lambda: len(client.events) and not client.playback.idle)
    assert not client.of_type("output_audio_buffer.stopped")
    client.tick(10)
    stopped = await client.wait_for("output_audio_buffer.stopped")
    assert stopped["response_id"] == done["id"]
    assert buffer_events(client) == ["response.done", "output_audio_buffer.started",
                                     "output_audio_buffer.stopped"]
    assert not client.of_type("response.output_audio.delta")
    await leave(client, served)


async def test_barge_in_cuts_playback_and_truncates_the_item_to_what_was_heard():
    client = PlayingTransport()
    runner = runner_for(FakeBrain(scripts=[WORDS, [speech("Yes?", 200)]]))
    client, served = await open_session(runner, client)
    text_turn(client, "Count.")
    done = (await client.wait_for("response.done"))["response"]
    item_id = done["output"][0]["id"]
    client.tick(30)  # 600 ms heard, of 1.5 s made
    client.audio(np.concatenate([voice(300), silence(700)]))
    cleared = await client.wait_for("output_audio_buffer.cleared")
    truncated = await client.wait_for("conversation.item.truncated")
    assert cleared["response_id"] == done["id"]
    assert truncated["item_id"] == item_id and abs(truncated["audio_end_ms"] - 600) <= 2
    client.put({"type": "conversation.item.retrieve", "item_id": item_id})
    item = (await client.wait_for("conversation.item.retrieved"))["item"]
    assert item["content"][0]["transcript"] == "One two three. Four"
    # The order a WebRTC client sees: the cut, then the truncation; no `stopped` for it.
    assert buffer_events(client)[:4] == ["response.done", "output_audio_buffer.started",
                                         "output_audio_buffer.cleared",
                                         "conversation.item.truncated"]
    assert not client.of_type("output_audio_buffer.stopped")
    # The rest was dropped at once: what plays next is the answer to the interruption.
    answer = (await client.wait_for(lambda e: e["type"] == "response.done"
                                    and e["response"]["id"] != done["id"]))["response"]
    client.tick()
    await until(lambda: len(client.of_type("output_audio_buffer.started")) == 2)
    assert [e["response_id"] for e in client.of_type("output_audio_buffer.started")] == \
        [done["id"], answer["id"]]
    await leave(client, served)


async def test_cancel_then_clear_stops_an_answer_still_being_made():
    wait = Wait()
    client = PlayingTransport()
    runner = runner_for(FakeBrain(scripts=[[WORDS[0], wait, *WORDS[1:]]]))
    client, served = await open_session(runner, client)
    text_turn(client, "Count.")
    await until(lambda: client.played)
    client.tick(10)  # 200 ms heard
    client.put({"type": "response.cancel"})
    client.put({"type": "output_audio_buffer.clear", "event_id": "evt_clear"})
    truncated = await client.wait_for("conversation.item.truncated")
    done = client.of_type("response.done")[0]["response"]
    assert done["status"] == "cancelled"
    assert abs(truncated["audio_end_ms"] - 200) <= 2
    assert client.of_type("output_audio_buffer.cleared")[0]["response_id"] == done["id"]
    # Clearing again finds nothing to clear: one clear error, and the session goes on.
    client.put({"type": "output_audio_buffer.clear", "event_id": "evt_again"})
    error = (await client.wait_for("error"))["error"]
    assert error["code"] == "output_audio_buffer_not_active"
    assert error["event_id"] == "evt_again"
    wait.go()
    await leave(client, served)


async def test_the_spans_of_an_answer_made_before_it_plays_hold_when_it_began_to_play():
    client = PlayingTransport()
    client, served = await open_session(runner_for(FakeBrain(scripts=[WORDS, WORDS])), client,
                                        Context(extensions=True))
    text_turn(client, "Count.")
    done = (await client.wait_for("response.done"))["response"]
    assert not client.of_type(SPANS_EVENT)  # made, but not a frame of it played yet
    client.tick()
    spans = await client.wait_for(SPANS_EVENT)
    assert spans["response_id"] == done["id"]
    assert 0 <= spans["spans"]["first_audio"] <= spans["spans"]["first_played"]
    client.tick(80)
    await client.wait_for("output_audio_buffer.stopped")
    # An answer cut before any of it played still reports its spans, without the moment.
    text_turn(client, "Count again.")
    second = (await client.wait_for(lambda e: e["type"] == "response.done"
                                    and e["response"]["id"] != done["id"]))["response"]
    client.put({"type": "output_audio_buffer.clear"})
    later = await client.wait_for(lambda e: e["type"] == SPANS_EVENT
                                  and e["response_id"] == second["id"])
    assert "first_audio" in later["spans"] and "first_played" not in later["spans"]
    await leave(client, served)
