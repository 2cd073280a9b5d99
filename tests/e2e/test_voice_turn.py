"""A spoken conversation over the real WebSocket with the openai SDK and real models."""

from __future__ import annotations

import asyncio

import pytest
from openai import AsyncOpenAI

from tests.helpers import silence
from tests.realtime_client import Recorder, audio_of
from vivavoce.bench.wer import wer

QUESTION = "What is the capital of France?"


@pytest.fixture
async def ga(server):
    client = AsyncOpenAI(base_url=f"{server.http}/v1", api_key="local")
    async with client.realtime.connect(model="vivavoce-local") as connection:
        recorder = Recorder(connection)
        created = await recorder.wait_for("session.created")
        assert created["session"]["model"] == "vivavoce-local"
        yield recorder
        recorder.close()


async def test_spoken_question_gets_spoken_answer(ga, speak, transcribe):
    await ga.send({"type": "session.update", "session": {
        "type": "realtime",
        "audio": {"input": {"transcription": {"model": "whisper-1"}}}}})
    await ga.wait_for("session.updated")
    await ga.stream_audio(speak(QUESTION))
    await ga.stream_audio(silence(1200))
    done = await ga.wait_for("response.done", timeout=120)

    types = [e["type"] for e in ga.events]
    for expected in ("input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                     "input_audio_buffer.committed", "response.created",
                     "response.output_audio.delta", "response.output_audio_transcript.delta"):
        assert expected in types, expected
    # The server answered only after the user's turn ended.
    assert types.index("input_audio_buffer.speech_stopped") < types.index("response.created")

    heard = ga.of_type("conversation.item.input_audio_transcription.completed")
    assert heard, "input transcription was requested"
    assert wer(QUESTION, heard[0]["transcript"]) <= 0.25, heard[0]["transcript"]

    response = done["response"]
    assert response["status"] == "completed", response["status_details"]
    (item,) = response["output"]
    transcript = item["content"][0]["transcript"]
    assert transcript.strip()
    assert "paris" in transcript.lower()
    spoken = audio_of(ga.events, response["id"])
    assert len(spoken) > 24000 * 0.5
    # What the assistant said is what its transcript says (Whisper tiny on a
    # short answer: one misheard word is already 1/6 of it).
    assert wer(transcript, transcribe(spoken)) <= 0.4
    deltas = "".join(e["delta"] for e in ga.of_type("response.output_audio_transcript.delta"))
    assert deltas == transcript
    assert response["usage"]["output_tokens"] > 0


async def test_speech_during_answer_interrupts_it(ga, speak):
    await ga.stream_audio(speak("Tell me a long story about a brave little dragon."))
    await ga.stream_audio(silence(900))
    first_audio = await ga.wait_for("response.output_audio.delta", timeout=120)
    response_id = first_audio["response_id"]
    item_id = first_audio["item_id"]
    # The user talks over the answer.
    await ga.stream_audio(speak("Stop, stop please."))
    cancelled = await ga.wait_for(lambda e: e["type"] == "response.done"
                                  and e["response"]["id"] == response_id, timeout=30)
    assert cancelled["response"]["status"] == "cancelled"
    assert cancelled["response"]["status_details"]["reason"] == "turn_detected"
    done_at = ga.events.index(cancelled)
    assert not [e for e in ga.events[done_at:] if e["type"] == "response.output_audio.delta"
                and e["response_id"] == response_id]
    full = cancelled["response"]["output"][0]["content"][0]["transcript"]
    # The client played only the first 400 ms of it.
    await ga.send({"type": "conversation.item.truncate", "item_id": item_id,
                   "content_index": 0, "audio_end_ms": 400})
    truncated = await ga.wait_for("conversation.item.truncated")
    assert truncated["audio_end_ms"] == 400
    await ga.send({"type": "conversation.item.retrieve", "item_id": item_id})
    retrieved = await ga.wait_for("conversation.item.retrieved")
    heard = retrieved["item"]["content"][0]["transcript"]
    assert len(heard) < len(full)
    assert full.startswith(heard)
    # The interruption is itself a turn that gets an answer.
    await ga.stream_audio(silence(900))
    nxt = await ga.wait_for("response.done", timeout=120)
    assert nxt["response"]["status"] == "completed"
    await asyncio.sleep(0)
