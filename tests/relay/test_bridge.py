"""The relay bridge without sockets: tools merged and run, replay, usage, the cap."""

from __future__ import annotations

import base64
import json

import numpy as np

from tests.validation import validate_ga
from vivavoce.audio import g711
from vivavoce.brains.relay_bridge import (
    OWN_PREFIX,
    CancelServerTool,
    EndSession,
    Metered,
    RelayBridge,
    RunServerTool,
)
from vivavoce.store import ConversationLog
from vivavoce.types import Ending, Played

CLOCK = {"type": "function", "name": "get_time", "description": "Time now.",
         "parameters": {"type": "object", "properties": {}}}
DOOR = {"type": "function", "name": "open_door", "description": "Open it.",
        "parameters": {"type": "object", "properties": {}}}


def session_obj(tools: list | None = None) -> dict:
    return {"type": "realtime", "object": "realtime.session", "id": "sess_up",
            "model": "m", "output_modalities": ["audio"], "instructions": "be kind",
            "tools": tools or [], "tool_choice": "auto"}


def opened(**kwargs) -> tuple[RelayBridge, list[dict]]:
    """A bridge whose upstream just opened, its setup acknowledged."""
    log = kwargs.pop("log", None) or ConversationLog("sess_client")
    bridge = RelayBridge(log=log, server_tools=[CLOCK], session={"instructions": "be kind"},
                         **kwargs)
    bridge.upstream_opened()
    bridge.upstream_event({"type": "session.created", "event_id": "u1",
                           "session": session_obj()})
    to_client, to_upstream, _ = bridge.drain()
    assert to_client == []  # not until the relay's own settings are applied
    (update,) = to_upstream
    assert update["event_id"].startswith(OWN_PREFIX)
    assert update["session"]["tools"] == [CLOCK]
    assert update["session"]["instructions"] == "be kind"
    bridge.upstream_event({"type": "session.updated", "event_id": "u2",
                           "session": session_obj([CLOCK])})
    return bridge, to_upstream


def client_sees(bridge: RelayBridge) -> list[dict]:
    to_client, _, _ = bridge.drain()
    for event in to_client:
        validate_ga(event)
    return to_client


def test_the_client_gets_one_session_created_without_the_server_tools():
    bridge, _ = opened()
    (created,) = client_sees(bridge)
    assert created["type"] == "session.created"
    assert created["session"]["tools"] == []  # the server's own tools stay out of sight
    assert created["session"]["instructions"] == "be kind"


def test_client_tools_are_merged_and_shadow_server_tools_of_the_same_name():
    bridge, _ = opened()
    bridge.drain()
    mine = dict(CLOCK, description="The client's clock.")
    bridge.client_event({"type": "session.update",
                         "session": {"type": "realtime", "tools": [DOOR, mine]}})
    _, (update,), _ = bridge.drain()
    assert update["session"]["tools"] == [DOOR, mine]  # no second get_time
    bridge.upstream_event(call("resp_1", "call_1", "get_time"))
    _, _, commands = bridge.drain()
    assert commands == []  # the client's to answer


def call(response_id: str, call_id: str, name: str) -> dict:
    return {"type": "response.output_item.done", "event_id": "u9", "response_id": response_id,
            "output_index": 0, "item": {"id": f"item_{call_id}", "object": "realtime.item",
                                        "type": "function_call", "status": "completed",
                                        "call_id": call_id, "name": name, "arguments": "{}"}}


def done(response_id: str, usage: dict | None = None) -> dict:
    return {"type": "response.done", "event_id": "u10", "response": {
        "id": response_id, "object": "realtime.response", "status": "completed",
        "output": [], "usage": usage}}


def test_a_server_tool_runs_here_and_the_answer_follows_its_output():
    bridge, _ = opened()
    bridge.drain()
    bridge.upstream_event(call("resp_1", "call_1", "get_time"))
    to_client, _, commands = bridge.drain()
    assert [e["type"] for e in to_client] == ["response.output_item.done"]  # client sees it
    assert commands == [RunServerTool("call_1", "get_time", "{}")]
    bridge.upstream_event(done("resp_1"))
    _, to_upstream, _ = bridge.drain()
    assert to_upstream == []  # the tool has not answered yet
    bridge.tool_result("call_1", '{"time": "14:05"}')
    _, to_upstream, _ = bridge.drain()
    assert [e["type"] for e in to_upstream] == ["conversation.item.create", "response.create"]
    assert to_upstream[0]["item"] == {"type": "function_call_output", "call_id": "call_1",
                                      "output": '{"time": "14:05"}'}


def test_speech_over_a_running_tool_cancels_it():
    bridge, _ = opened()
    bridge.upstream_event(call("resp_1", "call_1", "get_time"))
    bridge.upstream_event(done("resp_1"))
    bridge.drain()
    bridge.upstream_event({"type": "input_audio_buffer.speech_started", "event_id": "u11",
                           "audio_start_ms": 100, "item_id": "item_u"})
    _, to_upstream, commands = bridge.drain()
    assert commands == [CancelServerTool("call_1")]
    (output,) = to_upstream  # answered as cancelled, and no response.create
    assert "Cancelled" in json.loads(output["item"]["output"])["error"]
    bridge.tool_result("call_1", "{}")  # too late
    assert bridge.drain() == ([], [], [])


def test_a_drop_fails_the_open_response_holds_client_events_and_replays_the_log():
    log = ConversationLog("sess_client")
    bridge, _ = opened(log=log)
    user = {"id": "item_u1", "object": "realtime.item", "type": "message", "status": "completed",
            "role": "user", "content": [{"type": "input_audio", "transcript": None}]}
    for event in ({"type": "conversation.item.added", "event_id": "a", "item": user,
                   "previous_item_id": None},
                  {"type": "conversation.item.done", "event_id": "b", "item": user,
                   "previous_item_id": None},
                  {"type": "conversation.item.input_audio_transcription.completed",
                   "event_id": "c", "item_id": "item_u1", "content_index": 0,
                   "transcript": "My name is Ada.", "usage": {"type": "duration", "seconds": 1}},
                  {"type": "response.created", "event_id": "d", "response": {
                      "id": "resp_2", "object": "realtime.response", "status": "in_progress",
                      "output": []}}):
        bridge.upstream_event(event)
    for event in client_sees(bridge):
        log.observe(event)  # as the transport does with everything it sends
    bridge.upstream_lost()
    lost = client_sees(bridge)
    assert [e["type"] for e in lost] == ["response.done", "error"]
    assert lost[0]["response"]["status"] == "failed"
    assert lost[1]["error"]["code"] == "upstream_lost"

    append = {"type": "input_audio_buffer.append", "audio": "AAAA"}
    bridge.client_event(append)
    assert bridge.drain() == ([], [], [])  # held, not lost

    bridge.upstream_opened()
    _, to_upstream, _ = bridge.drain()
    assert [e["type"] for e in to_upstream] == [
        "session.update", "conversation.item.create", "input_audio_buffer.append"]
    assert to_upstream[0]["session"]["instructions"] == "be kind"
    assert to_upstream[1]["item"] == {"id": "item_u1", "type": "message", "role": "user",
                                      "content": [{"type": "input_text",
                                                   "text": "My name is Ada."}]}
    # The fresh upstream's own greeting and the replay's echoes are not news to the client.
    replayed = dict(user, content=[{"type": "input_text", "text": "My name is Ada."}])
    for event in ({"type": "session.created", "event_id": "e", "session": session_obj()},
                  {"type": "conversation.item.added", "event_id": "f", "item": replayed,
                   "previous_item_id": None},
                  {"type": "conversation.item.done", "event_id": "g", "item": replayed,
                   "previous_item_id": None},
                  {"type": "session.updated", "event_id": "h", "session": session_obj([CLOCK])}):
        bridge.upstream_event(event)
    assert client_sees(bridge) == []


def test_usage_is_summed_and_the_cap_ends_the_session_politely():
    bridge, _ = opened(usage_cap=100)
    bridge.drain()
    usage = {"total_tokens": 60, "input_tokens": 40, "output_tokens": 20,
             "input_token_details": {"text_tokens": 10, "audio_tokens": 30, "cached_tokens": 8},
             "output_token_details": {"text_tokens": 5, "audio_tokens": 15}}
    bridge.upstream_event(done("resp_1", usage))
    _, _, commands = bridge.drain()
    assert commands == [Metered(usage)]
    bridge.upstream_event(done("resp_2", usage))
    to_client, _, commands = bridge.drain()
    assert bridge.usage.total_tokens == 120 and bridge.usage.input_audio_tokens == 60
    assert bridge.usage.cached_tokens == 16 and bridge.usage.output_audio_tokens == 30
    assert to_client[-1]["error"]["code"] == "session_usage_limit"
    assert commands[-1] == EndSession("usage limit reached", Ending.POLICY)


def test_errors_about_the_relays_own_events_carry_no_client_event_id():
    bridge = RelayBridge(log=ConversationLog("s"), server_tools=[CLOCK], session={})
    bridge.upstream_opened()
    (update,), = [bridge.drain()[1]]
    bridge.upstream_event({"type": "session.created", "event_id": "u1",
                           "session": session_obj()})
    bridge.upstream_event({"type": "error", "event_id": "u2", "error": {
        "type": "invalid_request_error", "code": "invalid_value", "message": "no such voice",
        "param": None, "event_id": update["event_id"]}})
    created, error = client_sees(bridge)
    assert created["type"] == "session.created"  # the session opens all the same
    assert error["error"]["event_id"] is None


def test_client_events_the_dropping_socket_refused_go_to_the_next_upstream():
    bridge, _ = opened()
    bridge.drain()
    first = {"type": "input_audio_buffer.append", "audio": "AAAA", "event_id": "c1"}
    second = {"type": "input_audio_buffer.commit", "event_id": "c2"}
    bridge.client_event(first)
    bridge.client_event(second)
    _, to_upstream, _ = bridge.drain()
    bridge.unsent(to_upstream)  # the socket was closing under them
    bridge.upstream_lost()
    bridge.drain()
    bridge.upstream_opened()
    _, to_upstream, _ = bridge.drain()
    assert [e["type"] for e in to_upstream] == [
        "session.update", "input_audio_buffer.append", "input_audio_buffer.commit"]


def test_audio_that_came_as_audio_is_appended_in_the_sessions_format():
    bridge, _ = opened()
    bridge.drain()
    pcm = (np.sin(np.arange(2400) / 10) * 8000).astype(np.int16)  # 100 ms at 24 kHz
    bridge.client_audio(pcm)
    _, (append,), _ = bridge.drain()
    assert append["type"] == "input_audio_buffer.append"
    assert np.array_equal(np.frombuffer(base64.b64decode(append["audio"]), "<i2"), pcm)
    # The client switched its input to G.711 μ-law: 8 kHz, one byte a sample.
    ulaw = session_obj()
    ulaw["audio"] = {"input": {"format": {"type": "audio/pcmu"}}}
    bridge.upstream_event({"type": "session.updated", "event_id": "u9", "session": ulaw})
    bridge.drain()
    bridge.client_audio(np.concatenate([pcm, pcm]))
    _, appends, _ = bridge.drain()
    data = b"".join(base64.b64decode(a["audio"]) for a in appends)
    assert 750 <= len(data) <= 1600 and g711.ulaw_decode(data).std() > 1000


def test_tools_of_any_shape_from_the_client_are_passed_on_not_choked_on():
    """The relay does not parse client events (the upstream does): a tool whose name is
    not a string goes upstream for it to refuse (what is no object at all is left out)."""
    bridge = RelayBridge(log=ConversationLog("sess_1"), server_tools=[], session={})
    bridge.upstream_opened()
    bridge.drain()
    bridge.client_event({"type": "session.update", "session": {"tools": [
        {"type": "function", "name": ["not", "a", "name"]}, "not a tool"]}})
    _, to_upstream, _ = bridge.drain()
    assert to_upstream[-1]["session"]["tools"] == [
        {"type": "function", "name": ["not", "a", "name"]}]


# ---------------------------------------------------------------- server playback (WebRTC)
def answer(bridge: RelayBridge, response_id: str, samples: int, fmt: str = "audio/pcm") -> None:
    """The upstream's spoken answer: created, its audio in one delta (in `fmt`)."""
    bridge.upstream_event({"type": "response.created", "event_id": "u20", "response": {
        "id": response_id, "object": "realtime.response", "status": "in_progress",
        "output": [], "audio": {"output": {"format": {"type": fmt}}}}})
    width, rate = (2, 24000) if fmt == "audio/pcm" else (1, 8000)
    audio = bytes(samples * rate // 24000 * width)
    bridge.upstream_event({"type": "response.output_audio.delta", "event_id": "u21",
                           "response_id": response_id, "item_id": "item_a",
                           "output_index": 0, "content_index": 0,
                           "delta": base64.b64encode(audio).decode()})


def played(state: str, samples: int, response_id: str = "resp_1") -> Played:
    return Played(state, response_id, "item_a", samples, samples)  # type: ignore[arg-type]


def types_of(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def test_a_relayed_answer_played_here_starts_and_stops_the_output_buffer():
    bridge, _ = opened(server_playback=True)
    client_sees(bridge)
    answer(bridge, "resp_1", 24000, "audio/pcmu")  # one second, as G.711
    assert "output_audio_buffer.started" not in types_of(client_sees(bridge))
    bridge.played(played("playing", 960))
    (started,) = client_sees(bridge)
    assert started["type"] == "output_audio_buffer.started"
    assert started["response_id"] == "resp_1"
    bridge.played(played("drained", 12000))  # half of it: not the end
    bridge.upstream_event(done("resp_1"))
    assert types_of(client_sees(bridge)) == ["response.done"]
    bridge.played(played("drained", 24000))
    assert types_of(client_sees(bridge)) == ["output_audio_buffer.stopped"]


def test_the_upstream_hearing_the_user_cuts_playback_here_and_truncates_upstream():
    bridge, _ = opened(server_playback=True)
    answer(bridge, "resp_1", 48000)
    bridge.played(played("playing", 960))
    client_sees(bridge)
    bridge.upstream_event({"type": "input_audio_buffer.speech_started", "event_id": "u22",
                           "audio_start_ms": 900, "item_id": "item_u"})
    events = client_sees(bridge)
    assert types_of(events) == ["input_audio_buffer.speech_started",
                                "output_audio_buffer.cleared"]
    assert events[1]["response_id"] == "resp_1"
    # The transport flushed and says what was heard: upstream keeps that much.
    bridge.played(played("cleared", 12000))
    _, to_upstream, _ = bridge.drain()
    assert to_upstream == [{"type": "conversation.item.truncate", "item_id": "item_a",
                            "content_index": 0, "audio_end_ms": 500}]


def test_without_interrupt_response_the_users_voice_does_not_cut_the_answer():
    bridge, _ = opened(server_playback=True)
    bridge.client_event({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "server_vad", "interrupt_response": False}}}}})
    answer(bridge, "resp_1", 48000)
    bridge.played(played("playing", 960))
    client_sees(bridge)
    bridge.upstream_event({"type": "input_audio_buffer.speech_started", "event_id": "u22",
                           "audio_start_ms": 900, "item_id": "item_u"})
    assert types_of(client_sees(bridge)) == ["input_audio_buffer.speech_started"]


def test_the_clients_clear_is_done_here_not_sent_to_an_upstream_that_plays_nothing():
    bridge, _ = opened(server_playback=True)
    bridge.drain()
    bridge.client_event({"type": "output_audio_buffer.clear", "event_id": "evt_c1"})
    (error,), to_upstream, _ = bridge.drain()
    validate_ga(error)
    assert error["error"]["code"] == "output_audio_buffer_not_active"
    assert error["error"]["event_id"] == "evt_c1" and to_upstream == []
    answer(bridge, "resp_1", 48000)
    client_sees(bridge)
    bridge.client_event({"type": "output_audio_buffer.clear", "event_id": "evt_c2"})
    to_client, to_upstream, _ = bridge.drain()
    assert types_of(to_client) == ["output_audio_buffer.cleared"]
    # The answer still in progress upstream is stopped too.
    assert types_of(to_upstream) == ["response.cancel"]
