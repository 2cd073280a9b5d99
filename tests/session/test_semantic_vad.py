"""semantic_vad on spoken prompts, with the real VAD, Whisper and the LLM's end-of-turn
score: a pause mid-sentence is waited out, a crisp question ends at its first pause.

The brain here answers at once (ordering, not timing): each transcription and score
comes back before the next 40 ms of audio.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from vivavoce.brains.cascade import Cascade
from vivavoce.session.commands import Purpose, ScoreTurn, Transcribe
from vivavoce.session.session import Session

CHUNK = 24 * 40
# Spoken in two phrases with a pause between, mid-sentence.
PAUSED = [
    ("I am planning a trip to the mountains next weekend with two friends and",
     "I would like some advice on what to pack."),
    ("My laptop gets really slow after a few hours of use, so",
     "what do you think I should check first?"),
    ("Could you tell me a little bit about", "the history of the Roman Empire?"),
]
CRISP = "What is the capital of France?"


def semantic_session(vad_engine, eagerness: str) -> Session:
    session = Session(session_id="s", model="m", vad=vad_engine)
    session.receive({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "semantic_vad", "eagerness": eagerness}}}}})
    session.drain()
    return session


async def _turn_ends(session: Session, cascade: Cascade, audio: np.ndarray) -> list[int]:
    """Stream `audio`; the silence (ms) before each turn end the session detected."""
    ends, fed_ms = [], 0
    for start in range(0, len(audio), CHUNK):
        session.append_audio(audio[start:start + CHUNK])
        fed_ms += len(audio[start:start + CHUNK]) // 24
        while True:
            events, commands = session.drain()
            ends += [fed_ms - e["audio_end_ms"] for e in events
                     if e["type"] == "input_audio_buffer.speech_stopped"]
            asked = False
            for command in commands:
                if isinstance(command, Transcribe) and command.purpose is not Purpose.PARTIAL:
                    text = await cascade.transcribe(command.audio, None, None)
                    session.transcription_done(command.item_id, text, 1.0)
                    asked = True
                elif isinstance(command, ScoreTurn):
                    probability = await cascade.end_of_turn(command.said, command.context)
                    session.end_of_turn_scored(command.id, probability)
                    asked = True
            if not asked:
                break
    return ends


def turn_ends(session: Session, cascade: Cascade, audio: np.ndarray) -> list[int]:
    return asyncio.run(_turn_ends(session, cascade, audio))


def silence(ms: int) -> np.ndarray:
    return np.zeros(24 * ms, np.int16)


@pytest.mark.parametrize("first, second", PAUSED)
def test_a_pause_mid_sentence_does_not_end_the_turn(vad_engine, speak, cascade, first, second):
    session = semantic_session(vad_engine, "auto")
    audio = np.concatenate([speak(first), silence(900), speak(second), silence(4500)])
    # One turn, ended after the second phrase (its silence is the only one that long).
    (ended_after,) = turn_ends(session, cascade, audio)
    assert ended_after < 4500


def test_a_crisp_question_ends_at_its_first_pause(vad_engine, speak, cascade):
    session = semantic_session(vad_engine, "auto")
    (ended_after,) = turn_ends(session, cascade, np.concatenate([speak(CRISP), silence(4500)]))
    assert ended_after < 1000  # well before the 4 s cap


@pytest.mark.parametrize("said", [CRISP, PAUSED[0][0]])
def test_low_never_ends_a_turn_sooner_than_medium(vad_engine, speak, cascade, said):
    audio = np.concatenate([speak(said), silence(8500)])
    (medium,) = turn_ends(semantic_session(vad_engine, "medium"), cascade, audio)
    (low,) = turn_ends(semantic_session(vad_engine, "low"), cascade, audio)
    assert low >= medium
