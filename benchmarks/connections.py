"""Connect, talk a little, disconnect — many times: does the server give its memory back?

    .venv/bin/python benchmarks/connections.py --cycles 1000          # spawns the server
    .venv/bin/python benchmarks/connections.py --url ws://127.0.0.1:8000 --pid 1234

Each cycle opens a session, updates it, adds an item, streams 200 ms of audio and leaves;
every `--turn-every`th cycle also gets an answer from the model first, and every
`--abrupt-every`th leaves without a close frame. Prints the server's RSS after a warm-up,
every 100 cycles, and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time

import numpy as np
import websockets

from vivavoce.bench.server import add_target_arguments, rss_mb, target

AUDIO = base64.b64encode((np.sin(np.arange(4800) / 9) * 3000).astype("<i2").tobytes()).decode()


async def cycle(url: str, turn: bool, abrupt: bool) -> None:
    ws = await websockets.connect(f"{url}/v1/realtime", max_size=None)
    try:
        while json.loads(await ws.recv())["type"] != "conversation.created":
            pass
        await ws.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"], "max_output_tokens": 8,
            "audio": {"input": {"turn_detection": None}}}}))
        await ws.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Say yes."}]}}))
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": AUDIO}))
        if turn:
            await ws.send(json.dumps({"type": "response.create"}))
            while json.loads(await ws.recv())["type"] != "response.done":
                pass
    finally:
        if abrupt:
            ws.transport.abort()  # gone without a goodbye
        else:
            await ws.close()


async def run(url: str, pid: int | None, cycles: int, turn_every: int, abrupt_every: int,
              ) -> None:
    for n in range(20):  # warm-up: first-use allocations are not a leak
        await cycle(url, n % turn_every == 0, False)
    await asyncio.sleep(1)
    before = rss_mb(pid) if pid else None
    print(f"after 20 warm-up cycles: {before:.1f} MB" if pid else "no --pid: no RSS")
    started = time.monotonic()
    for n in range(1, cycles + 1):
        await cycle(url, n % turn_every == 0, n % abrupt_every == 0)
        if n % 100 == 0 and pid:
            print(f"  {n:5} cycles: {rss_mb(pid):.1f} MB ({time.monotonic() - started:.0f} s)",
                  flush=True)
    await asyncio.sleep(2)
    if pid and before is not None:
        after = rss_mb(pid)
        print(f"after {cycles} cycles: {after:.1f} MB ({after - before:+.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_target_arguments(parser)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--turn-every", type=int, default=10)
    parser.add_argument("--abrupt-every", type=int, default=7)
    args = parser.parse_args()
    with target(args) as (url, pid):
        asyncio.run(run(url, pid, args.cycles, args.turn_every, args.abrupt_every))


if __name__ == "__main__":
    main()
