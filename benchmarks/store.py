"""What keeping conversations costs: item write latency and the time to resume.

    .venv/bin/python benchmarks/store.py [--writes 300] [--resumes 10] [--items 200]

Starts what it measures on this machine: a SQLite file in a temporary directory and a
PostgreSQL server from Debian's binaries (fsync on, loopback only), and a model-free
vivavoce (a scripted brain) on each. Prints median and p95 of:
- item write latency: how long an event that makes an item final waits for it to be in
  the store (`SessionSaver`: the diff, the transaction, its commit), one item appended
  per write, as a conversation grows to `--writes` items;
- resume time: from opening `/v1/realtime?resume=<id>` to the last of the session's
  `--items` items re-announced (`conversation.item.done`), over a real WebSocket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes import FakeBrain, FakeVAD
from tests.helpers import start_server
from tests.postgres import PostgresServer
from vivavoce.runtime.saving import SessionSaver
from vivavoce.settings import Settings
from vivavoce.store import SessionRecord, store_for
from vivavoce.transports.app import create_app


def item(n: int) -> dict:
    role = "user" if n % 2 == 0 else "assistant"
    kind = "input_text" if role == "user" else "output_text"
    return {"id": f"item_{n:05d}", "object": "realtime.item", "type": "message",
            "status": "completed", "role": role,
            "content": [{"type": kind, "text": f"Sentence number {n} of a long talk."}]}


def record(session_id: str) -> SessionRecord:
    now = time.time()
    return SessionRecord(id=session_id, created_at=now, updated_at=now, owner="open",
                         persona="assistant", model="vivavoce-local",
                         config={"type": "realtime", "instructions": "Be brief."},
                         holder="bench", attachment=1)


async def fill(store, session_id: str, count: int) -> list[float]:
    """Write a conversation of `count` items, one at a time; each write's latency (s)."""
    saver = SessionSaver(store, record(session_id), [], in_store=False, tool_state={})
    await saver.durable(saver.want(config=saver.record.config))
    items, waits = [], []
    for n in range(count):
        items.append(item(n))
        started = time.perf_counter()
        await saver.durable(saver.want(items=list(items)))
        waits.append(time.perf_counter() - started)
    await saver.close()
    return waits


async def resume_times(ws_url: str, session_id: str, count: int, times: int) -> list[float]:
    took = []
    for _ in range(times):
        started = time.perf_counter()
        async with websockets.connect(f"{ws_url}/v1/realtime?resume={session_id}",
                                      max_size=None) as ws:
            done = 0
            while done < count:
                if json.loads(await ws.recv())["type"] == "conversation.item.done":
                    done += 1
            took.append(time.perf_counter() - started)
    return took


def line(name: str, seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return (f"{name:44} median {np.median(ms):7.2f} ms   p95 {np.percentile(ms, 95):7.2f} ms"
            f"   (n={len(ms)})")


async def measure(store, session_id: str, writes: int) -> list[float]:
    await store.open()
    try:
        return await fill(store, session_id, writes)
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--resumes", type=int, default=10)
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()
    postgres = PostgresServer(fsync=True)
    postgres.start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            places = {"SQLite (WAL, synchronous=FULL)": {"data_dir": scratch},
                      "PostgreSQL 15 (loopback, fsync on)": {
                          "database_url": postgres.new_database()}}
            for name, where in places.items():
                waits = asyncio.run(measure(store_for(**where), "sess_writes", args.writes))
                print(line(f"item write latency, {name}", waits), flush=True)
                asyncio.run(measure(store_for(**where), "sess_resume", args.items))
                settings = Settings(**where)  # a model-free server on the same store
                live = start_server(create_app(settings, FakeBrain(), FakeVAD()), settings)
                try:
                    took = asyncio.run(resume_times(live.ws, "sess_resume", args.items,
                                                    args.resumes))
                    print(line(f"resume, {args.items} items, {name}", took), flush=True)
                finally:
                    live.stop()
    finally:
        postgres.remove()


if __name__ == "__main__":
    main()
