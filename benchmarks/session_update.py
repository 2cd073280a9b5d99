"""Time to first audio of the first answer after a client's own instructions.

    .venv/bin/python benchmarks/session_update.py [--sessions 10] [--url ws://127.0.0.1:8000]

Each of N fresh sessions sends `session.update` with instructions no session had
before (so no cache holds them), then at once speaks one prompt, as a user
does who starts talking when the app opens; measured like `vivavoce bench`:
from the end of the user's speech to the first non-silent audio delta.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics

from vivavoce.bench.prompts import DEFAULT_PROMPTS, synthesize
from vivavoce.bench.run import _local_server
from vivavoce.bench.user import User

# A client's own persona, about as long as the built-in ones; {n} makes each one new.
INSTRUCTIONS = (
    "You are Sunny number {n}, the cheerful voice of a small bakery's phone line. Greet "
    "warmly, answer questions about bread, cakes and opening hours in one short spoken "
    "sentence, and when you do not know something, offer to take a message. Never use "
    "lists or markdown; your words are read aloud."
)
QUESTIONS = [p for p in DEFAULT_PROMPTS if "time" not in p.lower()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--url", help="server to measure (default: start one in-process)")
    args = parser.parse_args()
    prompts = synthesize([QUESTIONS[i % len(QUESTIONS)] for i in range(args.sessions)])
    ttfa = []
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(_local_server())
        # A first session so loading costs are not measured; its instructions are used once.
        asyncio.run(User(url, instructions=INSTRUCTIONS.format(n="zero")).run(prompts[:1]))
        for n, prompt in enumerate(prompts, 1):
            (turn,) = asyncio.run(User(url, instructions=INSTRUCTIONS.format(n=n))
                                  .run([prompt]))
            print(f"  {turn.ttfa_s * 1000 if turn.ttfa_s else float('nan'):6.0f} ms  "
                  f"{prompt.text!r} -> {turn.answer!r}", flush=True)
            if turn.ttfa_s is not None:
                ttfa.append(turn.ttfa_s * 1000)
    ordered = sorted(ttfa)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(f"first answer after session.update: TTFA median {statistics.median(ttfa):.0f} ms, "
          f"p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms over {len(ttfa)} fresh sessions")


if __name__ == "__main__":
    main()
