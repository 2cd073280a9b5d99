"""One simulated caller on a WebRTC call: speaks prompts into its microphone track in real
time and times what it hears on the incoming track, as a person on the call would.

Time to first audio: from the end of speech in the sent audio to the first non-silent
frame received. Barge-in: from the onset of the interrupting speech to the last
non-silent frame of the answer received.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from vivavoce.bench.call_client import CallClient
from vivavoce.bench.prompts import Prompt
from vivavoce.bench.user import Turn, _speech_start, _transcript
from vivavoce.session.spans import SPANS_EVENT

# After the cut, how long the answer's last frames may still be arriving.
TAIL_S = 1.0


class CallUser:
    def __init__(self, url: str, turn_detection: dict[str, Any] | None = None,
                 api_key: str | None = None) -> None:
        self.url = url
        self.turn_detection = turn_detection
        self.api_key = api_key

    async def run(self, prompts: list[Prompt], barge_in: Prompt | None = None,
                  timeout: float = 120.0) -> list[Turn]:
        self.client = client = CallClient()
        try:
            reply = await client.call(self.url, token=self.api_key, query="?vivavoce_spans=1")
            if reply.status_code != 201:
                raise RuntimeError(f"the call was refused: {reply.status_code} {reply.text}")
            session: dict[str, Any] = {"type": "realtime", "audio": {
                "input": {"transcription": {"model": "whisper-1"}}}}
            if self.turn_detection:
                session["audio"]["input"]["turn_detection"] = self.turn_detection
            client.send({"type": "session.update", "session": session})
            await client.next("session.updated", timeout)
            return [await self._turn(prompt, barge_in, timeout) for prompt in prompts]
        finally:
            await client.close()

    async def _turn(self, prompt: Prompt, barge_in: Prompt | None, timeout: float) -> Turn:
        client = self.client
        turn = Turn(prompt.text)
        mark = len(client.log)
        utterance = client.say(prompt.audio)
        speech_end = await client.started_at(utterance) + prompt.speech_end_s
        started = await client.wait_for(
            lambda e: e["type"] == "output_audio_buffer.started", timeout, mark)
        response_id = started["response_id"]
        turn.ttfa_s = await self._first_loud(speech_end, timeout) - speech_end
        if barge_in is not None:
            turn.barge_in_s = await self._barge_in(barge_in, response_id, timeout)
        done = await client.wait_for(lambda e: e["type"] == "response.done"
                                     and e["response"]["id"] == response_id, timeout, mark)
        turn.status = done["response"]["status"]
        turn.answer = _transcript(done["response"])
        heard = await client.wait_for(lambda e: e["type"] == "conversation.item.input_audio_"
                                      "transcription.completed", timeout, mark)
        turn.heard = heard["transcript"]
        spans = await client.wait_for(lambda e: e["type"] == SPANS_EVENT
                                      and e["response_id"] == response_id, timeout, mark)
        turn.spans = spans["spans"]
        await self._quiet(timeout)
        return turn

    async def _first_loud(self, since: float, timeout: float) -> float:
        async def poll() -> float:
            while not (loud := self.client.loud_since(since)):
                await asyncio.sleep(0.005)
            return loud[0].at
        return await asyncio.wait_for(poll(), timeout)

    async def _barge_in(self, prompt: Prompt, response_id: str, timeout: float) -> float:
        """Talk over the answer; the time until its voice stops arriving."""
        client = self.client
        mark = len(client.log)
        utterance = client.say(prompt.audio)
        onset = await client.started_at(utterance) + _speech_start(prompt)
        await client.wait_for(lambda e: e["type"] in ("output_audio_buffer.cleared",
                                                      "output_audio_buffer.stopped")
                              and e["response_id"] == response_id, timeout, mark)
        cut_at = time.monotonic()
        await asyncio.sleep(TAIL_S)
        heard = [h.at for h in client.loud_since(onset) if h.at < cut_at + TAIL_S]
        # The interruption gets its own answer: it is waited for before the next prompt.
        await client.wait_for(lambda e: e["type"] == "response.created"
                              and e["response"]["id"] != response_id, timeout, mark)
        # 0 when the whole answer had been heard before the user spoke.
        return max(0.0, (heard[-1] if heard else onset) - onset)

    async def _quiet(self, timeout: float) -> None:
        """Let every answer in flight finish playing, then pause as people do."""
        async def poll() -> None:
            while _playing(self.client.log) or not _finished(self.client.log):
                await asyncio.sleep(0.02)
        await asyncio.wait_for(poll(), timeout)
        await asyncio.sleep(0.5)


def _playing(log: list[dict[str, Any]]) -> set[str]:
    """Responses that started playing and have not stopped or been cleared."""
    playing: set[str] = set()
    for event in log:
        if event["type"] == "output_audio_buffer.started":
            playing.add(event["response_id"])
        elif event["type"] in ("output_audio_buffer.stopped", "output_audio_buffer.cleared"):
            playing.discard(event["response_id"])
    return playing


def _finished(log: list[dict[str, Any]]) -> bool:
    """Every response created has finished."""
    created = {e["response"]["id"] for e in log if e["type"] == "response.created"}
    done = {e["response"]["id"] for e in log if e["type"] == "response.done"}
    return created <= done
