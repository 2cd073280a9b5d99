"""Time to first audio of the first answer after a client's own instructions (and tools).

    .venv/bin/python benchmarks/session_update.py [--sessions 10] [--tools | --new-tools]
        [--semantic-vad] [--url ws://127.0.0.1:8000]

Each of N fresh sessions sends `session.update` with instructions no session had
before (so no cache holds them), with `--tools` two tools of its own too (a weather
lookup, as the Agents SDK's example declares it, and a table booking: the same in every
session, as one app's sessions have them), with `--new-tools` two tools no session had
before either (the worst case: everything new to read), then at once speaks one prompt,
as a user does who starts talking when the app opens; measured like `vivavoce bench`:
from the end of the user's speech to the first non-silent audio delta. `--interleave`:
before each, a session on the server's own persona says something (the server is shared
with the web page, say), so the model last read another prompt.
`--semantic-vad` asks for semantic_vad (eagerness auto), as the Agents SDK does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from vivavoce.bench.prompts import DEFAULT_PROMPTS, synthesize
from vivavoce.bench.report import stats
from vivavoce.bench.run import _local_server
from vivavoce.bench.user import User

# A client's own persona, about as long as the built-in ones; {n} makes each one new.
INSTRUCTIONS = (
    "You are Sunny number {n}, the cheerful voice of a small bakery's phone line. Greet "
    "warmly, answer questions about bread, cakes and opening hours in one short spoken "
    "sentence, and when you do not know something, offer to take a message. Never use "
    "lists or markdown; your words are read aloud."
)
WEATHER = {"type": "function", "name": "get_weather",
           "description": "Get the weather for a given city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"], "additionalProperties": False}}


def tools(n: int | str = "") -> list[dict]:
    """The session's own tools; {n} makes the booking one new to the server."""
    return [WEATHER, {
        "type": "function", "name": "book_table",
        "description": f"Book a table at the bakery's cafe{f' number {n}' if n else ''}.",
        "parameters": {"type": "object", "required": ["people", "time"], "properties": {
            "people": {"type": "integer", "description": "How many people, like 2."},
            "time": {"type": "string", "description": 'When, like "7 pm".'},
            "seating": {"type": "string", "enum": ["inside", "terrace"]}}}}]
QUESTIONS = [p for p in DEFAULT_PROMPTS if "time" not in p.lower()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--tools", action="store_true", help="two tools of its own too")
    parser.add_argument("--new-tools", action="store_true",
                        help="two tools of its own too, new in every session")
    parser.add_argument("--interleave", action="store_true",
                        help="a session on the server's persona before each one measured")
    parser.add_argument("--semantic-vad", action="store_true",
                        help="turn detection semantic_vad (default: server_vad)")
    parser.add_argument("--url", help="server to measure (default: start one in-process)")
    args = parser.parse_args()
    prompts = synthesize([QUESTIONS[i % len(QUESTIONS)] for i in range(args.sessions)])
    turn_detection = {"type": "semantic_vad"} if args.semantic_vad else None

    def user(n: int | str) -> User:
        own = tools(n) if args.new_tools else tools() if args.tools else None
        return User(url, instructions=INSTRUCTIONS.format(n=n),
                    turn_detection=turn_detection, tools=own)

    ttfa = []
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(_local_server())
        # A first session so loading costs are not measured; its instructions are used once.
        asyncio.run(user("zero").run(prompts[:1]))
        for n, prompt in enumerate(prompts, 1):
            if args.interleave:
                asyncio.run(User(url).run(prompts[n % len(prompts):][:1]))
            (turn,) = asyncio.run(user(n).run([prompt]))
            print(f"  {turn.ttfa_s * 1000 if turn.ttfa_s else float('nan'):6.0f} ms  "
                  f"{prompt.text!r} -> {turn.answer!r}", flush=True)
            if turn.ttfa_s is not None:
                ttfa.append(turn.ttfa_s * 1000)
    summary = stats(ttfa)
    with_tools = " with new tools" if args.new_tools else " with tools" if args.tools else ""
    print(f"first answer after session.update{with_tools}"
          f"{' (semantic_vad)' if turn_detection else ''}: TTFA median "
          f"{summary['median']:.0f} ms, p95 {summary['p95']:.0f} ms, max {summary['max']:.0f} ms "
          f"over {summary['n']} fresh sessions")


if __name__ == "__main__":
    main()
