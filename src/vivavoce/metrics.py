"""Prometheus metrics and the one structured log line per turn."""

from __future__ import annotations

import json
import logging
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger("vivavoce.turns")

# Seconds from the turn's origin (end of the user's speech) to each moment.
SPAN_SECONDS = Histogram(
    "vivavoce_turn_span_seconds", "Time from the end of the user's turn to each moment of "
    "the response", ["span"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0))
BARGE_IN_SECONDS = Histogram(
    "vivavoce_barge_in_seconds", "From interrupting speech to the last audio sent",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0))
RESPONSES = Counter("vivavoce_responses_total", "Responses by final status", ["status"])
WEBRTC_CALLS = Counter("vivavoce_webrtc_calls_total", "WebRTC calls answered")
WEBRTC_ACTIVE = Gauge("vivavoce_webrtc_calls_active", "WebRTC calls in progress")
PHONE_CALLS = Counter("vivavoce_phone_calls_total", "Phone calls (Twilio Media Streams) served")
PHONE_ACTIVE = Gauge("vivavoce_phone_calls_active", "Phone calls in progress")
RELAY_FORWARD_SECONDS = Histogram(
    "vivavoce_relay_forward_seconds", "Time an upstream event spends inside the relay, from "
    "its arrival to its delivery to the client",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1))
RELAY_UPSTREAM_DROPS = Counter("vivavoce_relay_upstream_drops_total",
                               "Upstream connections lost mid-session")
RELAY_TOKENS = Counter("vivavoce_relay_tokens_total", "Upstream token usage",
                       ["direction", "kind"])


def record_turn(event: dict[str, Any]) -> None:
    spans: dict[str, float] = event["spans"]
    RESPONSES.labels(event["status"]).inc()
    for name, seconds in spans.items():
        if not name.startswith("barge_") and seconds >= 0:
            SPAN_SECONDS.labels(name).observe(seconds)
    if "barge_speech_start" in spans and "last_audio" in spans:
        BARGE_IN_SECONDS.observe(max(0.0, spans["last_audio"] - spans["barge_speech_start"]))
    log.info("turn %s", json.dumps({"response_id": event["response_id"],
                                    "status": event["status"], "spans": spans}))


def record_relay_usage(usage: dict[str, Any]) -> None:
    """Count one upstream response's tokens (its `response.done` usage)."""
    for direction in ("input", "output"):
        details = usage.get(f"{direction}_token_details") or {}
        for kind in ("text", "audio", "cached"):
            count = details.get(f"{kind}_tokens") or 0
            if count:
                RELAY_TOKENS.labels(direction, kind).inc(count)
