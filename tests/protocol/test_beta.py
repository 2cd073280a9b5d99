"""The beta dialect mapped to GA and back, event by event."""

from __future__ import annotations

import pytest

from tests.validation import validate_beta
from vivavoce.protocol.beta import client_to_ga, server_to_beta
from vivavoce.session.config import SessionConfig


@pytest.mark.parametrize("beta, ga", [
    # Flat session fields become GA's nested audio settings.
    ({"type": "session.update", "session": {
        "modalities": ["audio", "text"], "voice": "alloy", "speed": 1.2,
        "input_audio_format": "g711_ulaw", "output_audio_format": "pcm16",
        "input_audio_transcription": {"model": "whisper-1"}, "turn_detection": None,
        "input_audio_noise_reduction": None, "max_response_output_tokens": 50,
        "instructions": "Be brief.", "id": "sess_x", "object": "realtime.session"}},
     {"type": "session.update", "session": {
         "type": "realtime", "output_modalities": ["audio"], "instructions": "Be brief.",
         "max_output_tokens": 50,
         "audio": {"input": {"format": {"type": "audio/pcmu"},
                             "transcription": {"model": "whisper-1"},
                             "turn_detection": None, "noise_reduction": None},
                   "output": {"voice": "alloy", "speed": 1.2,
                              "format": {"type": "audio/pcm"}}}}}),
    ({"type": "session.update", "session": {"modalities": ["text"]}},
     {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}}),
    # Assistant text parts are output parts in GA.
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "assistant",
                                                   "content": [{"type": "text", "text": "Hi"}]}},
     {"type": "conversation.item.create", "item": {
         "type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Hi"}]}}),
    ({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                   "content": [{"type": "input_text",
                                                                "text": "Hi"}]}},
     {"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                   "content": [{"type": "input_text",
                                                                "text": "Hi"}]}}),
    # A response's overrides are mapped like a session's; only its output audio is kept.
    ({"type": "response.create", "response": {
        "modalities": ["text"], "voice": "echo", "input": [
            {"type": "message", "role": "assistant", "content": [{"type": "audio",
                                                                  "transcript": "Hm"}]}]}},
     {"type": "response.create", "response": {
         "output_modalities": ["text"], "audio": {"output": {"voice": "echo"}}, "input": [
             {"type": "message", "role": "assistant",
              "content": [{"type": "output_audio", "transcript": "Hm"}]}]}}),
    # Events GA and beta share pass through as they are.
    ({"type": "input_audio_buffer.commit", "event_id": "e1"},
     {"type": "input_audio_buffer.commit", "event_id": "e1"}),
    ({"type": "response.cancel"}, {"type": "response.cancel"}),
])
def test_client_events_to_ga(beta, ga):
    assert client_to_ga(beta) == ga


@pytest.mark.parametrize("ga_type, beta_type", [
    ("conversation.item.added", "conversation.item.created"),
    ("response.output_audio.delta", "response.audio.delta"),
    ("response.output_audio.done", "response.audio.done"),
    ("response.output_audio_transcript.delta", "response.audio_transcript.delta"),
    ("response.output_audio_transcript.done", "response.audio_transcript.done"),
    ("response.output_text.delta", "response.text.delta"),
    ("response.output_text.done", "response.text.done"),
    ("input_audio_buffer.speech_started", "input_audio_buffer.speech_started"),
    ("conversation.item.done", None),  # GA only: beta has no name for it
    ("input_audio_buffer.timeout_triggered", None),
])
def test_server_event_names(ga_type, beta_type):
    out = server_to_beta({"type": ga_type, "event_id": "e"})
    assert (out and out["type"]) == beta_type


def test_the_session_object_in_beta_shape():
    ga = SessionConfig(id="sess_1", instructions="Hi.").model_copy(
        update={"model": "vivavoce-local"}).wire()
    event = server_to_beta({"type": "session.created", "event_id": "e", "session": ga})
    validate_beta(event)
    session = event["session"]
    assert session["modalities"] == ["audio", "text"]
    assert session["input_audio_format"] == session["output_audio_format"] == "pcm16"
    assert session["voice"] == "alloy" and session["speed"] == 1.0
    assert session["turn_detection"]["type"] == "server_vad"
    assert "model" not in session  # beta's model names are the hosted ones only


def test_items_and_responses_in_beta_shape():
    item = {"id": "item_1", "object": "realtime.item", "type": "message", "status": "completed",
            "role": "assistant", "content": [{"type": "output_audio", "transcript": "Hi."}]}
    added = server_to_beta({"type": "conversation.item.added", "event_id": "e",
                            "previous_item_id": None, "item": item})
    assert added["item"]["content"] == [{"type": "audio", "transcript": "Hi."}]
    assert item["content"][0]["type"] == "output_audio"  # the GA event is left as it was
    done = server_to_beta({"type": "response.done", "event_id": "e", "response": {
        "id": "resp_1", "object": "realtime.response", "status": "completed",
        "status_details": None, "output": [item], "conversation_id": "conv_1",
        "output_modalities": ["audio"], "max_output_tokens": "inf", "usage": None,
        "metadata": None, "audio": {"output": {"format": {"type": "audio/pcmu"},
                                               "voice": "alloy"}}}})
    validate_beta(done)
    response = done["response"]
    assert response["modalities"] == ["audio", "text"]
    assert response["output_audio_format"] == "g711_ulaw" and response["voice"] == "alloy"
    assert response["output"][0]["content"][0]["type"] == "audio"
