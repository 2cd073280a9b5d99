"""Server VAD on real speech: Silero over Piper-made prompts, on the audio timeline."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tests.helpers import feed
from tests.validation import validate_ga
from vivavoce.session.commands import Cancel, Prefill, Prepare, Respond, ScoreTurn, Transcribe
from vivavoce.session.session import Session
from vivavoce.session.spans import SPANS_EVENT
from vivavoce.session.speculation import PARTIAL_EVERY_MS


def append(session: Session, pcm: np.ndarray, chunk: int = 960) -> list[dict]:
    events = []
    for start in range(0, len(pcm), chunk):
        data = pcm[start:start + chunk].astype("<i2").tobytes()
        session.receive({"type": "input_audio_buffer.append",
                         "audio": base64.b64encode(data).decode()})
        batch, _ = session.drain()
        events += [e for e in batch if e["type"] != SPANS_EVENT]
    for event in events:
        validate_ga(event)
    return events


def transcribes(commands: list) -> list[Transcribe]:
    """Transcribe commands, less the partial ones taken while the user speaks."""
    return [c for c in commands
            if isinstance(c, Transcribe) and not c.item_id.startswith("part_")]


def test_speech_start_and_stop_follow_the_audio(vad_engine, speak):
    session = Session(session_id="s", model="m", vad=vad_engine)
    session.drain()
    lead, speech = np.zeros(24000, np.int16), speak("Please turn on the kitchen lights.")
    events = append(session, np.concatenate([lead, speech]))
    started = [e for e in events if e["type"] == "input_audio_buffer.speech_started"]
    assert len(started) == 1
    # Speech begins after the 1 s of silence; the start includes 300 ms of padding.
    assert 600 <= started[0]["audio_start_ms"] <= 1100
    assert not [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    events = append(session, np.zeros(24 * 800, np.int16))
    stopped = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    assert len(stopped) == 1
    speech_end_ms = 1000 + len(speech) // 24
    # Piper ends with a little silence of its own; the true end is close to the file's end.
    assert speech_end_ms - 400 <= stopped[0]["audio_end_ms"] <= speech_end_ms + 50
    types = [e["type"] for e in events]
    assert types[types.index("input_audio_buffer.speech_stopped"):][:5] == [
        "input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
        "conversation.item.added", "conversation.item.done", "response.created"]
    _, commands = session.drain()
    assert commands == []  # the commands were drained with the events above


def test_committed_audio_holds_the_utterance(vad_engine, speak):
    session = Session(session_id="s", model="m", vad=vad_engine)
    speech = speak("What time is it?")
    session.drain()
    commands = []
    for pcm in (np.zeros(12000, np.int16), speech, np.zeros(24 * 900, np.int16)):
        for start in range(0, len(pcm), 960):
            data = pcm[start:start + 960].astype("<i2").tobytes()
            session.receive({"type": "input_audio_buffer.append",
                             "audio": base64.b64encode(data).decode()})
            commands += session.drain()[1]
    (transcribe,) = transcribes(commands)
    # The utterance plus prefix padding and the silence window, not the whole stream.
    assert len(speech) <= len(transcribe.audio) <= len(speech) + 24 * 1000
    assert not [c for c in commands if isinstance(c, Respond)]  # waits for the transcript


def test_noise_and_silence_do_not_start_a_turn(vad_engine):
    session = Session(session_id="s", model="m", vad=vad_engine)
    session.drain()
    rng = np.random.default_rng(0)
    noise = (rng.normal(0, 300, 24000 * 3)).astype(np.int16)
    events = append(session, np.concatenate([np.zeros(24000, np.int16), noise]))
    assert not [e for e in events if e["type"].startswith("input_audio_buffer.speech")]


def test_manual_mode_never_detects(vad_engine, speak):
    session = Session(session_id="s", model="m", vad=vad_engine)
    session.receive({"type": "session.update",
                     "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}})
    session.drain()
    events = append(session, np.concatenate([speak("Hello there."), np.zeros(24000, np.int16)]))
    assert [e["type"] for e in events] == []
    session.receive({"type": "input_audio_buffer.commit"})
    events, commands = session.drain()
    assert events[0]["type"] == "input_audio_buffer.committed"
    assert isinstance(commands[0], Transcribe)


def transcribing(session: Session) -> Session:
    session.receive({"type": "session.update", "session": {
        "type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}})
    session.drain()
    return session


def test_stt_starts_at_the_first_pause_and_is_reused(vad_engine, speak):
    session = transcribing(Session(session_id="s", model="m", vad=vad_engine))
    events, commands = feed(session, np.concatenate([speak("What time is it?"),
                                                     np.zeros(24 * 300, np.int16)]))
    # 300 ms into the silence: no turn end yet, but STT has started.
    assert not [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    (early,) = transcribes(commands)
    assert early.item_id.startswith("spec_")
    session.transcription_done(early.item_id, "What time is it?", 1.0)
    events, (prepare,) = session.drain()
    assert events == []  # nothing to say until the turn ends...
    # ...but the response it would get can start already (its output held).
    assert isinstance(prepare, Prepare)
    assert prepare.request.items[-1]["content"][0]["transcript"] == "What time is it?"
    events, commands = feed(session, np.zeros(24 * 400, np.int16))
    types = [e["type"] for e in events]
    assert "input_audio_buffer.speech_stopped" in types
    # The early transcript became the item's; no second transcription.
    assert not transcribes(commands)
    done = [e for e in events
            if e["type"] == "conversation.item.input_audio_transcription.completed"]
    assert done[0]["transcript"] == "What time is it?"
    assert done[0]["item_id"] == events[types.index("input_audio_buffer.committed")]["item_id"]
    (respond,) = [c for c in commands if isinstance(c, Respond)]
    # The turn asks for exactly the response started at the pause: it is adopted, not redone.
    assert prepare.request.same_as(respond.request)
    assert respond.request.response_id == prepare.request.response_id
    (created,) = [e for e in events if e["type"] == "response.created"]
    assert created["response"]["id"] == prepare.request.response_id
    assert not [c for c in commands if isinstance(c, Cancel)]


def test_the_llm_reads_the_turn_so_far_while_the_user_speaks(vad_engine, speak):
    session = transcribing(Session(session_id="s", model="m", vad=vad_engine))
    speech = speak("I would like to know what the weather will be like in Paris tomorrow")
    _, commands = feed(session, speech[: 24 * 1500])  # 1.5 s in, mid-sentence
    partials = [c for c in commands if isinstance(c, Transcribe)]
    # One at a time: the next waits for this one's result.
    assert [c.item_id[:5] for c in partials] == ["part_"]
    # What had been said by then: a second of voice, and the padding before it.
    assert PARTIAL_EVERY_MS <= len(partials[0].audio) / 24 < 1500
    session.transcription_done(partials[0].item_id, "I would like to", 0.8)
    events, (prefill,) = session.drain()
    assert events == []  # nothing a client sees
    assert isinstance(prefill, Prefill)
    assert prefill.request.items[-1]["content"][0]["transcript"] == "I would like to"
    _, more = feed(session, speech[24 * 1500:])
    (later, *_) = [c for c in more if isinstance(c, Transcribe)]
    assert later.item_id.startswith("part_") and len(later.audio) > len(partials[0].audio)


def test_a_response_started_at_a_pause_is_cancelled_when_the_voice_comes_back(vad_engine,
                                                                              speak):
    session = transcribing(Session(session_id="s", model="m", vad=vad_engine))
    _, first = feed(session, np.concatenate([speak("Hello there."),
                                             np.zeros(24 * 300, np.int16)]))
    (early,) = transcribes(first)
    session.transcription_done(early.item_id, "Hello there.", 1.0)
    _, (ahead,) = session.drain()
    assert isinstance(ahead, Prepare)
    _, more = feed(session, np.concatenate([speak("How are you today?"),
                                                 np.zeros(24 * 800, np.int16)]))
    # Stopped as soon as the voice is back, before the next pause is transcribed.
    assert isinstance(more[0], Cancel) and more[0].response_id == ahead.request.response_id
    last = transcribes(more)[-1]
    session.transcription_done(last.item_id, "Hello there. How are you today?", 2.0)
    _, commands = session.drain()
    (respond,) = [c for c in commands if isinstance(c, Respond)]
    assert respond.request.response_id != ahead.request.response_id
    assert respond.request.items[-1]["content"][0]["transcript"] == \
        "Hello there. How are you today?"


def test_a_speculation_is_dropped_when_the_voice_comes_back(vad_engine, speak):
    session = transcribing(Session(session_id="s", model="m", vad=vad_engine))
    _, first = feed(session, np.concatenate([speak("Hello there."),
                                             np.zeros(24 * 300, np.int16)]))
    (stale,) = transcribes(first)
    events, more = feed(session, np.concatenate([speak("How are you today?"),
                                                 np.zeros(24 * 800, np.int16)]))
    assert [e["type"] for e in events].count("input_audio_buffer.speech_stopped") == 1
    # Piper's voice may pause inside the sentence too: the last pause is the one used.
    *older, fresh = transcribes(more)
    assert len(fresh.audio) > len(stale.audio)
    for old in [stale, *older]:
        session.transcription_done(old.item_id, "Hello there.", 1.0)
        assert session.drain()[0] == []  # stale: ignored
    session.transcription_done(fresh.item_id, "Hello there. How are you today?", 2.0)
    events, commands = session.drain()
    done = [e for e in events
            if e["type"] == "conversation.item.input_audio_transcription.completed"]
    assert done[0]["transcript"] == "Hello there. How are you today?"
    assert [c for c in commands if isinstance(c, Respond)]


def semantic(session: Session, eagerness: str = "auto") -> Session:
    session.receive({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "semantic_vad", "eagerness": eagerness}}}}})
    session.drain()
    return session


def scores(commands: list) -> list[ScoreTurn]:
    return [c for c in commands if isinstance(c, ScoreTurn)]


def test_semantic_vad_ends_a_turn_scored_finished_at_the_first_pause(vad_engine, speak):
    session = semantic(transcribing(Session(session_id="s", model="m", vad=vad_engine)))
    _, commands = feed(session, np.concatenate([speak("What time is it?"),
                                                np.zeros(24 * 300, np.int16)]))
    (early,) = transcribes(commands)
    session.transcription_done(early.item_id, "What time is it?", 1.0)
    events, commands = session.drain()
    assert events == []  # not yet: the words are being scored
    (score,) = scores(commands)
    assert score.said == "What time is it?" and score.context.items == []
    session.end_of_turn_scored(score.id, 0.9)
    events, commands = session.drain()
    types = [e["type"] for e in events if e["type"] != SPANS_EVENT]
    # No 4 s cap: the turn ends now, with the early transcript, and is answered.
    assert types[:2] == ["input_audio_buffer.speech_stopped", "input_audio_buffer.committed"]
    assert "conversation.item.input_audio_transcription.completed" in types
    assert "response.created" in types and [c for c in commands if isinstance(c, Respond)]
    assert not transcribes(commands)


def test_semantic_vad_does_not_end_a_turn_whose_voice_came_back(vad_engine, speak):
    session = semantic(transcribing(Session(session_id="s", model="m", vad=vad_engine)))
    _, commands = feed(session, np.concatenate([speak("What time is it?"),
                                                np.zeros(24 * 150, np.int16)]))
    (early,) = transcribes(commands)
    session.transcription_done(early.item_id, "What time is it?", 1.0)
    (score,) = scores(session.drain()[1])
    # The score of the pause comes only once the user is speaking again.
    feed(session, speak("And in Tokyo?")[: 24 * 500])
    session.end_of_turn_scored(score.id, 0.99)
    events, commands = session.drain()
    assert not [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
    assert not [c for c in commands if isinstance(c, Prepare | Respond)]


def silence_until_stopped(session: Session, fed_ms: int, most_ms: int) -> int:
    """Feed silence 40 ms at a time until the turn ends; how long the silence then was."""
    for _ in range(most_ms // 40):
        events, _ = feed(session, np.zeros(24 * 40, np.int16))
        fed_ms += 40
        for event in events:
            if event["type"] == "input_audio_buffer.speech_stopped":
                return fed_ms - event["audio_end_ms"]
    raise AssertionError(f"the turn did not end within {most_ms} ms")


@pytest.mark.parametrize("eagerness, probability, window_ms", [
    ("auto", 0.2, 1500), ("auto", 0.001, 4000), ("high", 0.1, 600), ("low", 0.3, 2000)])
def test_semantic_vad_waits_as_long_as_the_score_asks(vad_engine, speak, eagerness,
                                                      probability, window_ms):
    session = semantic(transcribing(Session(session_id="s", model="m", vad=vad_engine)),
                       eagerness)
    spoken = speak("What time is it?")
    _, commands = feed(session, np.concatenate([spoken, np.zeros(24 * 200, np.int16)]))
    (early,) = transcribes(commands)
    session.transcription_done(early.item_id, "So I was thinking that", 1.0)
    (score,) = scores(session.drain()[1])
    session.end_of_turn_scored(score.id, probability)
    assert session.drain()[0] == []
    silence_ms = silence_until_stopped(session, len(spoken) // 24 + 200, 5000)
    assert window_ms <= silence_ms <= window_ms + 100
