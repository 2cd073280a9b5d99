"""`vivavoce bench`: run simulated users against a server and report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
from pathlib import Path

from vivavoce.bench.call_user import CallUser
from vivavoce.bench.phone_user import PhoneUser
from vivavoce.bench.prompts import DEFAULT_PROMPTS, PAUSED_PROMPTS, Prompt, load_wav, synthesize
from vivavoce.bench.report import summarize, table, write
from vivavoce.bench.user import Turn, User, idle_mic

BARGE_IN_TEXT = "Sorry, wait, stop for a moment."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="server to measure, e.g. ws://127.0.0.1:8000 "
                        "(default: start one in this process on the local models)")
    parser.add_argument("--prompts", type=int, default=20,
                        help="how many spoken prompts per user (default 20)")
    parser.add_argument("--wav", nargs="*", type=Path, help="use these WAV files as prompts")
    parser.add_argument("--users", type=int, default=1, help="concurrent sessions")
    parser.add_argument("--transport", choices=["websocket", "webrtc", "twilio"],
                        default="websocket",
                        help="talk over the Realtime WebSocket (default), a WebRTC call "
                        "(an aiortc caller: needs a network interface with an address; see "
                        "scripts/in-netns.sh), or a phone call through a simulated Twilio "
                        "Media Stream (signed with TWILIO_AUTH_TOKEN if set)")
    parser.add_argument("--idle-mics", type=int, default=0,
                        help="more sessions meanwhile, streaming a quiet room in real time "
                        "over the WebSocket")
    parser.add_argument("--barge-in", action="store_true",
                        help="talk over every answer and time how fast it stops")
    parser.add_argument("--pauses", action="store_true",
                        help="every other prompt pauses mid-sentence (400–900 ms of silence "
                        "after 'and', 'so', a preposition...): does turn detection wait?")
    parser.add_argument("--semantic-vad", metavar="EAGERNESS",
                        choices=["low", "medium", "high", "auto"],
                        help="turn detection semantic_vad with this eagerness "
                        "(default: server_vad, 500 ms of silence)")
    parser.add_argument("--out", type=Path, default=Path("bench-results"),
                        help="where to write bench.json and waterfall.png")


def _prompts(args: argparse.Namespace) -> list[Prompt]:
    if args.wav:
        return [load_wav(p) for p in args.wav]
    if args.pauses:
        lists = (DEFAULT_PROMPTS, PAUSED_PROMPTS)  # alternately
        texts = [lists[i % 2][i // 2 % len(lists[i % 2])] for i in range(args.prompts)]
    else:
        texts = [DEFAULT_PROMPTS[i % len(DEFAULT_PROMPTS)] for i in range(args.prompts)]
    return synthesize(texts)


@contextlib.contextmanager
def _local_server():
    """The server on the embedded models, in this process, on a free port."""
    import socket

    import uvicorn

    from vivavoce.brains.factory import build_cascade, build_vad, warm_up
    from vivavoce.settings import Settings
    from vivavoce.transports.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(port=port)
    cascade = build_cascade(settings)
    warm_up(cascade, settings)  # as `vivavoce serve` does
    app = create_app(settings, cascade, build_vad())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


async def _run_users(url: str, prompts: list[Prompt], users: int,
                     barge_in: Prompt | None, turn_detection: dict | None = None,
                     transport: str = "websocket", idle_mics: int = 0,
                     ) -> tuple[list[Turn], int]:
    """Every user's turns, and how many sessions (users and idle mics) were dropped."""
    stop = asyncio.Event()
    mics = [asyncio.create_task(idle_mic(url, stop)) for _ in range(idle_mics)]
    if mics:
        await asyncio.sleep(2)  # all microphones open before anyone talks
    http = url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)
    if transport == "webrtc":
        users_ = [CallUser(http, turn_detection=turn_detection) for _ in range(users)]
    elif transport == "twilio":
        users_ = [PhoneUser(http) for _ in range(users)]
    else:
        users_ = [User(url, turn_detection=turn_detection) for _ in range(users)]
    results = await asyncio.gather(*(u.run(prompts, barge_in) for u in users_),
                                   return_exceptions=True)
    stop.set()
    kept = await asyncio.gather(*mics)
    dropped = sum(isinstance(r, BaseException) for r in results) + kept.count(False)
    for failure in (r for r in results if isinstance(r, BaseException)):
        print(f"  a user's session ended: {failure!r}", flush=True)
    return [t for r in results if not isinstance(r, BaseException) for t in r], dropped


def bench(args: argparse.Namespace) -> dict:
    prompts = _prompts(args)
    barge = synthesize([BARGE_IN_TEXT])[0] if args.barge_in else None
    turn_detection = {"type": "semantic_vad", "eagerness": args.semantic_vad} \
        if args.semantic_vad else None
    config = {"prompts": len(prompts), "pauses": args.pauses, "users": args.users,
              "idle_mics": args.idle_mics,
              "barge_in": args.barge_in, "transport": args.transport,
              "url": args.url or "in-process local models",
              "turn_detection": turn_detection or {"type": "server_vad"}}
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(_local_server())
        print(f"bench: {len(prompts)} prompts x {args.users} user(s) against {url}"
              + (f", {args.idle_mics} idle microphones open" if args.idle_mics else ""),
              flush=True)
        # One warm-up turn so model loading and first-call costs are not measured.
        asyncio.run(_run_users(url, prompts[:1], 1, None, turn_detection, args.transport))
        turns, dropped = asyncio.run(_run_users(url, prompts, args.users, barge,
                                                turn_detection, args.transport,
                                                args.idle_mics))
    summary = summarize(turns, config)
    summary["sessions_dropped"] = dropped
    print(table(summary))
    print(f"sessions dropped: {dropped} of {args.users + args.idle_mics}")
    json_path, chart_path = write(summary, args.out)
    print(f"wrote {json_path} and {chart_path}")
    return summary
