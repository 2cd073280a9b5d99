"""The first answer after a (re)start: how long the server takes to be ready, and how
long its very first caller waits for an answer.

    .venv/bin/python benchmarks/first_answer.py [--restarts 5] [--transport twilio] [serve flags]

Each restart spawns `vivavoce serve` on a loopback port (bench/server.spawned), times
it from the process start to `/healthz` answering, then places one call (a simulated
phone call by default, or a Realtime WebSocket session) and speaks one prompt: time to
first audio as `vivavoce bench` measures it. Nothing warms the server but the server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from vivavoce.bench.phone_user import PhoneUser
from vivavoce.bench.prompts import DEFAULT_PROMPTS, synthesize
from vivavoce.bench.report import stats
from vivavoce.bench.server import spawned
from vivavoce.bench.user import User


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--transport", choices=["twilio", "websocket"], default="twilio")
    parser.add_argument("serve_flags", nargs="*", help="flags for the spawned server")
    args = parser.parse_args()
    questions = [p for p in DEFAULT_PROMPTS if "time" not in p.lower()]
    prompts = synthesize([questions[i % len(questions)] for i in range(args.restarts)])
    ready, ttfa = [], []
    for prompt in prompts:
        began = time.monotonic()
        with spawned("--no-store", *args.serve_flags) as server:
            ready.append(time.monotonic() - began)
            http = server.url.replace("ws://", "http://", 1)
            user = PhoneUser(http) if args.transport == "twilio" else User(server.url)
            (turn,) = asyncio.run(user.run([prompt]))
        ttfa.append((turn.ttfa_s or float("nan")) * 1000)
        print(f"  ready in {ready[-1]:5.1f} s, first answer {ttfa[-1]:6.0f} ms  "
              f"{prompt.text!r}", flush=True)
    print(f"start-up to ready: median {statistics.median(ready):.1f} s, "
          f"max {max(ready):.1f} s over {len(ready)} restarts")
    summary = stats(ttfa)
    print(f"first answer ({args.transport}): TTFA median {summary['median']:.0f} ms, "
          f"p95 {summary['p95']:.0f} ms, max {summary['max']:.0f} ms")


if __name__ == "__main__":
    main()
