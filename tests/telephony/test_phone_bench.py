"""The phone bench's caller on scripted parts: it times the first answer audio and how
fast an interruption is cut (`clear`), from what a phone would see."""

from __future__ import annotations

import numpy as np

from tests.fakes import speech, until, voice
from tests.helpers import silence
from tests.telephony.conftest import brain
from vivavoce.bench.phone_user import PhoneUser
from vivavoce.bench.prompts import Prompt, speech_end

LONG = [speech("One two three. ", 1500), speech("Four five six.", 1500)]


def prompt(ms: int) -> Prompt:
    audio = np.concatenate([silence(200), voice(ms), silence(900)])
    return Prompt(f"{ms} ms of voice", audio, speech_end(audio))


async def test_the_phone_bench_times_first_audio_and_the_cut(phone_server):
    live = await phone_server(brain=brain(LONG, [speech("Yes?", 300)], LONG,
                                          [speech("Yes?", 300)]))
    turns = await PhoneUser(live.http).run([prompt(600), prompt(400)], prompt(500))
    assert [t.status for t in turns] == ["answered", "answered"]
    for turn in turns:
        # The scripted brain answers at once: the wait is the silence window (500 ms).
        assert 0.4 <= turn.ttfa_s <= 1.2
        # FakeVAD hears the voice's first frame: the cut is one VAD window plus the wire.
        assert turn.barge_in_s is not None and 0 <= turn.barge_in_s <= 0.4
    await until(lambda: not live.runner.sessions)  # it hung up
