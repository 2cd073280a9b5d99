"""Server settings: CLI flags over `VIVAVOCE_*` environment variables over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"VIVAVOCE_{name.upper()}", default)


def _parse(raw: str, type_: str) -> object:
    if type_ in ("int", "int | None"):
        return int(raw)
    if type_ in ("float", "float | None"):
        return float(raw)
    if type_ == "bool":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    # None: accept every connection (local use). Set: require it, or a client secret.
    api_key: str | None = None
    # Whether the served web page may get short-lived secrets (POST /session). With
    # an API key set, whoever can load the page can then talk: keep it on a
    # trusted network or behind your own login, or turn it off.
    web_sessions: bool = True
    model: str = "vivavoce-local"
    # "cascade" (the local pipeline) or "relay" (an upstream Realtime API).
    brain: str = "cascade"
    upstream_url: str = "wss://api.openai.com/v1/realtime"
    upstream_model: str | None = "gpt-realtime"
    # The upstream's key (default: OPENAI_API_KEY); it never leaves this server.
    upstream_api_key: str | None = None
    # Relay sessions end politely once their upstream usage reaches this many tokens.
    usage_cap_tokens: int | None = None
    # Where sessions are kept: a SQLite file in `data_dir` (None: VIVAVOCE_DATA_DIR, else
    # ~/.local/share/vivavoce), or PostgreSQL at `database_url` (several instances).
    data_dir: str | None = None
    database_url: str | None = None
    # False: keep nothing beyond the process (SQLite in memory).
    store: bool = True
    # Keep each item's audio too (the user's and the assistant's), not just its words.
    store_audio: bool = False
    # Erase sessions untouched for this many days (None: keep them).
    retention_days: int | None = None
    # This instance among several on one database: its id (None: a random one) and the
    # URL the others reach it at (None: http://host:port).
    instance_id: str | None = None
    advertise_url: str | None = None
    # The default persona; instructions and voice, when set, override its own.
    persona: str = "assistant"
    instructions: str | None = None
    voice: str | None = None
    # Per stage: "local" (embedded model) or "http" (an OpenAI-compatible server).
    stt: str = "local"
    llm: str = "local"
    tts: str = "local"
    stt_url: str | None = None
    llm_url: str | None = None
    tts_url: str | None = None
    stt_model: str = "whisper-1"
    # The HTTP server's model name, or (local) one of the catalog's LLMs
    # (None: gpt-4o-mini over HTTP, the catalog's default LLM locally).
    llm_model: str | None = None
    tts_model: str = "tts-1"
    http_api_key: str | None = None
    stt_threads: int = 2
    # Latency levers (on by default; off only to compare): encode just the
    # utterance instead of Whisper's 30 s window, and start STT at the first pause.
    stt_short_window: bool = True
    speculative_stt: bool = True
    llm_threads: int = 2
    # Sessions whose place in the local LLM is kept (their conversation, read): a
    # session past them reads its conversation again when it next speaks.
    llm_slots: int = 6
    # Local LLM sampling: the temperature a client asking for the protocol's default
    # (0.8) gets, scaled by the client's own (0 = greedy), and the repetition penalty.
    llm_temperature: float = 0.0
    llm_repeat_penalty: float = 1.1
    tts_threads: int = 1
    # How long an HTTP stage may stay silent (connecting, or between two reads) before
    # its request fails.
    stt_timeout_s: float = 30.0
    llm_timeout_s: float = 60.0
    tts_timeout_s: float = 60.0
    log_level: str = "info"
    # Limits: sessions open at once (in all, and per key or client secret), how long one
    # may last (as hosted: 60 minutes), and how far a client may fall behind in reading
    # (seconds of assistant audio waiting) before it is let go.
    max_sessions: int | None = 100
    max_sessions_per_key: int | None = None
    max_session_s: float = 3600.0
    send_backlog_s: float = 10.0
    # Client secrets minted per minute and client address (client_secrets and /session).
    mint_per_minute: int = 30
    # Web origins, comma-separated, whose pages may use this server besides its own: open
    # sessions, start calls, call the HTTP API (CORS).
    allowed_origins: str = ""
    # WebRTC: STUN/TURN servers for ICE, comma-separated (none: host candidates only,
    # and never a public STUN server unasked), e.g. "stun:stun.example.org:3478" or
    # "turn:USER:PASSWORD@turn.example.org:3478".
    ice_servers: str = ""
    # WebRTC calls held at once; more are refused (503).
    max_calls: int = 32
    # Phone calls (Twilio Media Streams): the account's auth token (TWILIO_AUTH_TOKEN) turns
    # on signature checks of the voice webhook and per-call stream tokens; the public
    # address Twilio reaches this server at (https://…), for the signatures and the
    # stream URL; whether the persona greets the caller first.
    twilio_auth_token: str | None = None
    public_url: str | None = None
    phone_greeting: bool = True

    @property
    def ice_server_urls(self) -> list[str]:
        return [u.strip() for u in self.ice_servers.split(",") if u.strip()]

    @property
    def allowed_origin_list(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then VIVAVOCE_* variables, then explicit (non-None) overrides."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = _env(f.name)
            if raw is not None:
                values[f.name] = _parse(raw, str(f.type))
        # The ecosystem's usual variables for the HTTP stages.
        for key in ("http_api_key", "upstream_api_key"):
            if key not in values and os.environ.get("OPENAI_API_KEY"):
                values[key] = os.environ["OPENAI_API_KEY"]
        if "twilio_auth_token" not in values and os.environ.get("TWILIO_AUTH_TOKEN"):
            values["twilio_auth_token"] = os.environ["TWILIO_AUTH_TOKEN"]
        base = os.environ.get("OPENAI_BASE_URL")
        for stage in ("stt", "llm", "tts"):
            if base and f"{stage}_url" not in values:
                values[f"{stage}_url"] = base
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
