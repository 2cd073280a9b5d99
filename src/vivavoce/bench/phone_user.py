"""One simulated caller on a phone call (Twilio Media Streams, simulated): dials the
voice webhook, speaks prompts in real time as μ-law frames and times what comes back, as
a person on the phone would.

Time to first audio: from the end of speech in the sent audio to the first non-silent
frame received. Barge-in: from the onset of the interrupting speech to Twilio's `clear`
(the moment the phone stops playing the old answer).
"""

from __future__ import annotations

import contextlib
import os

from vivavoce.bench.phone import PhoneSimulator
from vivavoce.bench.prompts import Prompt
from vivavoce.bench.user import Turn, _speech_start
from vivavoce.bench.waiting import until

# Silence on the line this long after an answer: it is over.
QUIET_S = 2.0
# How long an interruption may take to be cut: past this the answer was already over.
CLEAR_WITHIN_S = 5.0


class PhoneUser:
    def __init__(self, url: str, auth_token: str | None = None) -> None:
        self.url = url  # http://host:port
        self.auth_token = auth_token or os.environ.get("TWILIO_AUTH_TOKEN")

    async def run(self, prompts: list[Prompt], barge_in: Prompt | None = None,
                  timeout: float = 120.0) -> list[Turn]:
        self.phone = phone = PhoneSimulator(self.url, self.auth_token)
        reply = await phone.dial("?greeting=0")
        if reply.status_code != 200:
            raise RuntimeError(f"the call was refused: {reply.status_code} {reply.text}")
        await phone.connect()
        try:
            return [await self._turn(prompt, barge_in, timeout) for prompt in prompts]
        finally:
            await phone.hang_up()

    async def _turn(self, prompt: Prompt, barge_in: Prompt | None, timeout: float) -> Turn:
        phone = self.phone
        turn = Turn(prompt.text)
        speech_end = await phone.started_at(phone.say(prompt.audio)) + prompt.speech_end_s
        turn.ttfa_s = await phone.first_loud(speech_end, timeout) - speech_end
        turn.status = "answered"
        if barge_in is not None:
            turn.barge_in_s = await self._barge_in(barge_in, timeout)
        await phone.quiet(QUIET_S, timeout)
        return turn

    async def _barge_in(self, prompt: Prompt, timeout: float) -> float | None:
        """Talk over the answer: the time until the phone is told to `clear` (None when
        the answer was over before the caller spoke)."""
        phone = self.phone
        cleared = len(phone.clears)
        began = await phone.started_at(phone.say(prompt.audio))
        onset = began + _speech_start(prompt)

        cut: float | None = None
        with contextlib.suppress(TimeoutError):
            cut = (await until(lambda: phone.clears[cleared:], CLEAR_WITHIN_S))[0]
        # The interruption gets its own answer: wait for it before going on.
        with contextlib.suppress(TimeoutError):
            await phone.first_loud(began + prompt.speech_end_s, timeout)
        return None if cut is None else max(0.0, cut - onset)
