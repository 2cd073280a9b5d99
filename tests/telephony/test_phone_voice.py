"""A phone call with the real models: the persona's greeting, then a spoken question over
μ-law frames at real-time pace, answered in speech that transcribes back to the answer."""

from __future__ import annotations

import numpy as np

from tests.fakes import until
from tests.helpers import silence
from vivavoce.bench.phone import pcm_of
from vivavoce.bench.prompts import speech_end
from vivavoce.bench.wer import wer
from vivavoce.personas import get_persona

QUESTION = "What is the capital of France?"


async def test_a_spoken_question_gets_a_spoken_answer_over_the_phone(
        phone_server, phones, engines, cascade, speak, transcribe):
    live = await phone_server(brain=cascade, vad=engines["vad"], phone_greeting=True)
    phone = phones(live.caller())
    assert (await phone.dial()).status_code == 200
    await phone.connect()
    session = await live.watch(phone)
    # The greeting comes first, before the caller says a word.
    await phone.first_loud(0.0, 60)
    await phone.quiet(1.0, 60)
    greeting = transcribe(pcm_of(phone.received))
    assert wer(get_persona("assistant").greeting, greeting) <= 0.3, greeting
    heard_before = len(phone.received)

    question = speak(QUESTION)
    said = phone.say(np.concatenate([question, silence(1500)]))
    ended = await phone.started_at(said) + speech_end(question)
    await phone.first_loud(ended, 60)
    await phone.quiet(2.0, 120)
    done = session.of_type("response.done")[-1]
    assert done["response"]["status"] == "completed"
    transcript = done["response"]["output"][0]["content"][0]["transcript"]
    assert "paris" in transcript.lower()
    # What came down the phone line is that answer, in words (μ-law at 8 kHz).
    answer = transcribe(pcm_of(phone.received[heard_before:]))
    assert "paris" in answer.lower(), answer
    assert wer(transcript, answer) <= 0.4, (transcript, answer)
    # The server heard the question through the phone band.
    items = live.runner.sessions[await live.session_of(phone)].log.items()
    user = next(i for i in items if i.get("role") == "user")
    assert wer(QUESTION, user["content"][0]["transcript"]) <= 0.25
    await phone.hang_up()
    await until(lambda: not live.runner.sessions, 10)
