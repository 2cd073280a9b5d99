"""A hostile client over a live server, for long: mutated client events (fields dropped,
retyped, oversized, unknown; garbage text; binary frames; deep nesting) over raw
WebSockets, many sessions at once.

    .venv/bin/python benchmarks/fuzz.py --events 100000           # spawns the server
    .venv/bin/python benchmarks/fuzz.py --url ws://127.0.0.1:8000 --pid 1234

Every frame the server sends is validated strictly against the openai package's
RealtimeServerEvent. Each session ends with a normal text turn that must complete, then
the client closes it. Reports: events sent, sessions dropped (closed by the server, or
cut, before the client closed them), schema violations, server errors (the last line of
defence catching a crash), turns that failed afterwards, and the server's RSS before and
after. Needs the test extras (`openai`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import websockets
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter, ValidationError
from websockets.exceptions import ConnectionClosed

from vivavoce.bench.mutations import examples, frame
from vivavoce.bench.server import add_target_arguments, rss_mb, target

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)
# How long the final turn may take: the model may still be busy with what the fuzzing set
# going in other sessions.
TURN_WAIT_S = 300
# After the fuzzing, a normal turn: out of band, so whatever the fuzzing left in the
# conversation (megabytes of text, say) is not its context.
TURN = [{"type": "response.cancel"},
        {"type": "response.create", "event_id": "evt_turn", "response": {
            "conversation": "none", "instructions": "Be brief.", "output_modalities": ["text"],
            "max_output_tokens": 16, "tools": [], "tool_choice": "none",
            "input": [{"type": "message", "role": "user",
                       "content": [{"type": "input_text", "text": "Say hello."}]}]}}]


@dataclass
class Tally:
    events: int = 0
    sessions: int = 0
    dropped: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    received: int = 0
    errors: int = 0
    server_errors: int = 0
    turns_failed: list[str] = field(default_factory=list)
    turn_s: list[float] = field(default_factory=list)  # how long each final turn took
    kinds: Counter[str] = field(default_factory=Counter)


class Session:
    def __init__(self, url: str, tally: Tally) -> None:
        self.url = url
        self.tally = tally
        self.done: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closing = False

    async def _read(self, ws: Any) -> None:
        async for raw in ws:
            self.tally.received += 1
            try:
                event = json.loads(raw)
                SERVER_EVENT.validate_python(event, strict=True)
            except (ValueError, ValidationError) as exc:
                self.tally.violations.append(f"{str(raw)[:200]} -> {str(exc)[:300]}")
                continue
            if event["type"] == "error":
                self.tally.errors += 1
                self.tally.server_errors += event["error"]["type"] == "server_error"
                if event["error"]["event_id"] == "evt_turn":  # the final turn was refused
                    self.done.put_nowait(event)
            elif event["type"] == "response.done":
                self.done.put_nowait(event)

    async def run(self, frames: list[str | bytes]) -> None:
        self.tally.sessions += 1
        async with websockets.connect(f"{self.url}/v1/realtime", max_size=None,
                                      close_timeout=30) as ws:
            reader = asyncio.create_task(self._read(ws))
            try:
                for sent in frames:
                    await ws.send(sent)
                    self.tally.events += 1
                await self._turn(ws)
            except ConnectionClosed as closed:  # the server ended it, or it was cut
                self.tally.dropped.append(f"{closed.rcvd.code if closed.rcvd else 1006} "
                                          f"{closed.rcvd.reason if closed.rcvd else ''}")
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await reader

    async def _turn(self, ws: Any) -> None:
        """After everything: a normal turn still works. (A response the fuzzing set going
        may still start meanwhile, after a server tool, say: then the turn is refused as
        it would be for any client, and asked for again.)"""
        started = time.monotonic()
        deadline = started + TURN_WAIT_S
        why = f"no answer within {TURN_WAIT_S} s"
        for _ in range(5):
            while not self.done.empty():
                self.done.get_nowait()
            for event in TURN:
                await ws.send(json.dumps(event))
                self.tally.events += 1
            while time.monotonic() < deadline:
                try:
                    done = await asyncio.wait_for(self.done.get(), deadline - time.monotonic())
                except TimeoutError:
                    break
                if done["type"] == "error":
                    why = f"refused: {done['error']['message'][:200]}"
                    break
                response = done["response"]
                if response["status"] == "completed" and response["output"] and \
                        response["output"][0].get("type") == "message":
                    self.tally.turn_s.append(time.monotonic() - started)
                    return
                why = f"{response['status']}: {json.dumps(response['status_details'])[:200]}" \
                    f" (then no answer within {TURN_WAIT_S} s)"
        self.tally.turns_failed.append(why)


async def fuzz(url: str, events: int, concurrency: int, per_session: int, seed: int,
               pid: int | None = None) -> Tally:
    """`concurrency` sessions at a time, each `per_session` frames then a normal turn, a new
    one starting as each ends, until `events` frames were sent."""
    rng = random.Random(seed)
    pool = examples()
    tally = Tally()
    planned = 0

    def plan() -> list[str | bytes] | None:
        nonlocal planned
        if planned >= events:
            return None
        frames = [frame(rng, pool) for _ in range(min(per_session, events - planned))]
        planned += len(frames)
        tally.kinds.update("binary" if isinstance(f, bytes) else "text" for f in frames)
        return frames

    async def worker() -> None:
        while (frames := plan()) is not None:
            await Session(url, tally).run(frames)
            if tally.sessions % 8 == 0:
                rss = f", server RSS {rss_mb(pid):.0f} MB" if pid else ""
                print(f"  {tally.events} events, {tally.sessions} sessions, "
                      f"{len(tally.dropped)} dropped, {len(tally.violations)} violations{rss}",
                      flush=True)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8, help="sessions at once")
    parser.add_argument("--per-session", type=int, default=500, help="events per session")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    with target(args) as (url, pid):
        before = rss_mb(pid) if pid else None
        started = time.monotonic()
        tally = asyncio.run(fuzz(url, args.events, args.concurrency, args.per_session,
                                 args.seed, pid))
        took = time.monotonic() - started
        time.sleep(2)
        after = rss_mb(pid) if pid else None
    print(f"\nevents sent:        {tally.events} ({dict(tally.kinds)}) in {took:.0f} s")
    print(f"sessions:           {tally.sessions}, dropped: {len(tally.dropped)}")
    print(f"server events:      {tally.received}, schema violations: {len(tally.violations)}")
    print(f"error events:       {tally.errors} (server_error: {tally.server_errors})")
    print(f"turns afterwards:   {tally.sessions - len(tally.turns_failed)} completed, "
          f"{len(tally.turns_failed)} failed"
          + (f" (slowest answer {max(tally.turn_s):.1f} s)" if tally.turn_s else ""))
    if before is not None:
        print(f"server RSS:         {before:.0f} MB before, {after:.0f} MB after")
    for line in (tally.dropped + tally.violations + tally.turns_failed)[:10]:
        print("  ", line)


if __name__ == "__main__":
    main()
