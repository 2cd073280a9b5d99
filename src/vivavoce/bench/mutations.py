"""Client events as a hostile or buggy client sends them: one valid example of every
client event (every field the protocol gives it filled in), and mutations of them —
fields dropped, retyped, oversized, unknown fields, garbage text, binary frames, deep
nesting. For `benchmarks/fuzz.py` (and, as examples, the tests)."""

from __future__ import annotations

import base64
import copy
import json
import random
from collections.abc import Iterator
from typing import Any

Event = dict[str, Any]
Path = tuple[str | int, ...]

# 20 ms of a quiet room (samples 0..6), PCM16 at 24 kHz: audio valid in every way.
AUDIO = base64.b64encode(bytes(b for n in range(480) for b in (n % 7, 0))).decode()
TOOL = {"type": "function", "name": "get_time", "description": "Get the time.",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}


def examples() -> list[Event]:
    """One of each client event, GA dialect; every string field the protocol defines
    for it is present (a fresh copy each call)."""
    text = {"type": "input_text", "text": "What time is it?"}
    return [
        {"type": "session.update", "event_id": "evt_session", "session": {
            "type": "realtime", "instructions": "Be brief.", "output_modalities": ["text"],
            "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": 24000},
                          "transcription": {"model": "whisper-1", "language": "en",
                                            "prompt": "Names: Ada."},
                          "turn_detection": {"type": "server_vad", "threshold": 0.5,
                                             "prefix_padding_ms": 300,
                                             "silence_duration_ms": 500},
                          "noise_reduction": {"type": "near_field"}},
                "output": {"format": {"type": "audio/pcm"}, "voice": "alloy", "speed": 1.0}},
            "tools": [TOOL], "tool_choice": "auto", "max_output_tokens": 64,
            "tracing": {"workflow_name": "fuzz", "group_id": "g1"}, "truncation": "auto",
            "include": ["item.input_audio_transcription.logprobs"],
            "prompt": {"id": "pmpt_1", "version": "1"}, "reasoning": {"effort": "low"}}},
        {"type": "input_audio_buffer.append", "event_id": "evt_append", "audio": AUDIO},
        {"type": "input_audio_buffer.commit", "event_id": "evt_commit"},
        {"type": "input_audio_buffer.clear", "event_id": "evt_clear"},
        {"type": "conversation.item.create", "event_id": "evt_user", "previous_item_id": None,
         "item": {"id": "item_user", "type": "message", "role": "user", "object": "realtime.item",
                  "status": "completed",
                  "content": [text, {"type": "input_audio", "audio": AUDIO,
                                     "transcript": "What time is it?"}]}},
        {"type": "conversation.item.create", "event_id": "evt_assistant",
         "item": {"id": "item_assistant", "type": "message", "role": "assistant",
                  "content": [{"type": "output_text", "text": "It is noon."},
                              {"type": "output_audio", "transcript": "It is noon."}]}},
        {"type": "conversation.item.create", "event_id": "evt_system",
         "item": {"type": "message", "role": "system",
                  "content": [{"type": "input_text", "text": "Speak slowly."}]}},
        {"type": "conversation.item.create", "event_id": "evt_call",
         "item": {"id": "item_call", "type": "function_call", "call_id": "call_1",
                  "name": "get_time", "arguments": "{}"}},
        {"type": "conversation.item.create", "event_id": "evt_output",
         "item": {"type": "function_call_output", "call_id": "call_1",
                  "output": "{\"time\": \"12:00\"}"}},
        {"type": "conversation.item.retrieve", "event_id": "evt_retrieve",
         "item_id": "item_user"},
        {"type": "conversation.item.truncate", "event_id": "evt_truncate",
         "item_id": "item_assistant", "content_index": 0, "audio_end_ms": 0},
        {"type": "conversation.item.delete", "event_id": "evt_delete", "item_id": "item_call"},
        {"type": "response.create", "event_id": "evt_response", "response": {
            "instructions": "Answer in one word.", "output_modalities": ["text"],
            "audio": {"output": {"format": {"type": "audio/pcm"}, "voice": "alloy"}},
            "tools": [TOOL], "tool_choice": {"type": "function", "name": "get_time"},
            "max_output_tokens": 16, "temperature": 0.7, "conversation": "none",
            "input": [{"type": "item_reference", "id": "item_user"},
                      {"type": "message", "role": "user", "content": [text]}],
            "metadata": {"topic": "time"}}},
        {"type": "response.cancel", "event_id": "evt_cancel", "response_id": "resp_1"},
        {"type": "output_audio_buffer.clear", "event_id": "evt_output_clear"},
    ]


def string_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    """Where `value` holds strings: every string field, the free-form JSON schema of a
    tool's `parameters` aside (any JSON is valid there)."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, child in value.items():
            if key != "parameters":
                yield from string_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from string_paths(child, (*path, index))


def param(path: Path) -> str:
    """A path as the `param` of an error: `item.content[0].text`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def replace(event: Event, path: Path, value: Any) -> Event:
    """A copy of `event` with the value at `path` replaced."""
    event = copy.deepcopy(event)
    node: Any = event
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return event


# ------------------------------------------------------------------ random mutation
def _nodes(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    yield path, value
    children = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _nodes(child, (*path, key))


def junk(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value: any type, some of them huge or odd."""
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**70), rng.randrange(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.5, -1e300, 1e-300, rng.uniform(-5, 5)])
    if kind == 4:
        return rng.choice(["", "x" * rng.randrange(1, 300_000), "\u0000\ud7ff\U0001f600",
                           "realtime", "audio/pcm", "message", "user", "item_user",
                           "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(20))])
    if kind == 5:
        return rng.choice(["auto", "none", "inf", "server_vad", "function_call", "call_1"])
    if kind == 6:
        return [junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 7:
        return {rng.choice(["type", "id", "x", "role", "text", "audio"]): junk(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    return nested(rng.randrange(2, 60))


def nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def mutate(event: Event, rng: random.Random) -> Event:
    """`event` with one to three random mutations."""
    event = copy.deepcopy(event)
    for _ in range(rng.randrange(1, 4)):
        path, node = rng.choice(list(_nodes(event)))
        choice = rng.randrange(5)
        if choice == 0 and isinstance(node, dict) and node:
            del node[rng.choice(list(node))]  # a field dropped
        elif choice == 1 and isinstance(node, dict):
            node[rng.choice(["bogus", "zz", "metadata", "id"])] = junk(rng)  # one added
        elif choice == 2 and isinstance(node, str) and path:  # up to ~1 MB: frames stay
            times = min(rng.randrange(2, 2000), 1_000_000 // max(1, len(node)))  # under the
            event = replace(event, path, node * max(times, 2))  # server's frame size limit
        elif path:
            event = replace(event, path, junk(rng))  # retyped, or a strange value
    return event


def frame(rng: random.Random, events: list[Event]) -> str | bytes:
    """One WebSocket frame of a fuzzing client: mostly mutated events, sometimes valid
    ones, garbage text, binary frames or very deep nesting."""
    kind = rng.random()
    if kind < 0.08:
        return rng.randbytes(rng.randrange(1, 200))
    if kind < 0.14:
        return rng.choice(["{", "[]", "null", "\"text\"", "{\"type\": ", "nan", "{}" * 3,
                           "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(40))])
    if kind < 0.17:
        return "[" * 5000 + "]" * 5000
    if kind < 0.35:
        return json.dumps(rng.choice(events))
    return json.dumps(mutate(rng.choice(events), rng))
