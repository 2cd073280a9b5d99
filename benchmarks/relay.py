"""What the relay adds: event round trips and time to first text, direct vs relayed.

    .venv/bin/vivavoce serve --port 8771 --api-key sk-up &
    .venv/bin/vivavoce serve --port 8772 --brain relay --upstream-model vivavoce-local \\
        --upstream ws://127.0.0.1:8771/v1/realtime --upstream-api-key sk-up &
    .venv/bin/python benchmarks/relay.py --direct ws://127.0.0.1:8771 --key sk-up \\
        --relay ws://127.0.0.1:8772

A round trip is `conversation.item.retrieve` → `conversation.item.retrieved`: no model
work, so the difference between the two paths is the relay's own cost per event
(both directions). Text turns show the same on the first `response.output_text.delta`.
Prints median and p95 of each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import numpy as np
import websockets


async def _until(ws: Any, type_: str) -> dict[str, Any]:
    while True:
        event = json.loads(await ws.recv())
        if event["type"] == type_:
            return event


async def measure(url: str, key: str | None, roundtrips: int, turns: int
                  ) -> tuple[list[float], list[float]]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with websockets.connect(f"{url}/v1/realtime", additional_headers=headers) as ws:
        await _until(ws, "session.created")
        await ws.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"], "max_output_tokens": 16}}))
        await _until(ws, "session.updated")
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Say hello."}]}}))
        item_id = (await _until(ws, "conversation.item.added"))["item"]["id"]
        trips = []
        for _ in range(roundtrips):
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "conversation.item.retrieve", "item_id": item_id}))
            await _until(ws, "conversation.item.retrieved")
            trips.append(time.perf_counter() - started)
        firsts = []
        for _ in range(turns):
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "response.create"}))
            await _until(ws, "response.output_text.delta")
            firsts.append(time.perf_counter() - started)
            await _until(ws, "response.done")
        return trips, firsts


def _row(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:32} -"
    ms = np.array(values) * 1000
    return f"{name:32} median {np.median(ms):8.2f} ms   p95 {np.percentile(ms, 95):8.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--direct", required=True, help="the upstream server's ws:// base URL")
    parser.add_argument("--key", help="the upstream's API key")
    parser.add_argument("--relay", required=True, help="the relay's ws:// base URL")
    parser.add_argument("--roundtrips", type=int, default=300)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    direct = await measure(args.direct, args.key, args.roundtrips, args.turns)
    relayed = await measure(args.relay, None, args.roundtrips, args.turns)
    print(_row("round trip, direct", direct[0]))
    print(_row("round trip, through the relay", relayed[0]))
    added = np.median(relayed[0]) - np.median(direct[0])
    print(f"{'added per round trip (median)':32} {added * 1000:8.2f} ms")
    print(_row("first text delta, direct", direct[1]))
    print(_row("first text delta, relayed", relayed[1]))


if __name__ == "__main__":
    asyncio.run(main())
