"""The beta dialect (`OpenAI-Beta: realtime=v1`) mapped to and from GA.

The session only speaks GA; a beta connection translates client events on the
way in and server events on the way out.
"""

from __future__ import annotations

import copy
from typing import Any

Event = dict[str, Any]

_BETA_FORMATS = {"pcm16": "audio/pcm", "g711_ulaw": "audio/pcmu", "g711_alaw": "audio/pcma"}
_GA_FORMATS = {v: k for k, v in _BETA_FORMATS.items()}

_RENAMED_SERVER = {
    "conversation.item.added": "conversation.item.created",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
}
# GA-only events a beta client has no name for.
_DROPPED_SERVER = {"conversation.item.done", "input_audio_buffer.timeout_triggered"}

_BETA_TO_GA_CONTENT = {"text": "output_text", "audio": "output_audio"}
_GA_TO_BETA_CONTENT = {v: k for k, v in _BETA_TO_GA_CONTENT.items()}


# ------------------------------------------------------------------ client → GA
def _ga_format(value: Any) -> Any:
    if isinstance(value, str):  # an unknown name fails as a GA format type, by its name
        return {"type": _BETA_FORMATS.get(value, value)}
    return value


def _ga_modalities(modalities: Any) -> Any:
    if isinstance(modalities, list):
        return ["audio"] if "audio" in modalities else ["text"]
    return modalities


def _ga_session(beta: dict[str, Any]) -> dict[str, Any]:
    ga: dict[str, Any] = {}
    audio_in: dict[str, Any] = {}
    audio_out: dict[str, Any] = {}
    for key, value in beta.items():
        if key == "modalities":
            ga["output_modalities"] = _ga_modalities(value)
        elif key == "input_audio_format":
            audio_in["format"] = _ga_format(value)
        elif key == "output_audio_format":
            audio_out["format"] = _ga_format(value)
        elif key == "input_audio_transcription":
            audio_in["transcription"] = value
        elif key == "turn_detection":
            audio_in["turn_detection"] = value
        elif key == "input_audio_noise_reduction":
            audio_in["noise_reduction"] = value
        elif key in ("voice", "speed"):
            audio_out[key] = value
        elif key == "max_response_output_tokens":
            ga["max_output_tokens"] = value
        elif key in ("client_secret", "object", "id", "expires_at"):
            continue
        else:
            ga[key] = value
    if audio_in or audio_out:
        ga["audio"] = {k: v for k, v in (("input", audio_in), ("output", audio_out)) if v}
    return ga


def _ga_item(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    item = copy.deepcopy(item)
    if item.get("role") == "assistant" and isinstance(item.get("content"), list):
        for part in item["content"]:
            kind = part.get("type") if isinstance(part, dict) else None
            if isinstance(kind, str) and kind in _BETA_TO_GA_CONTENT:
                part["type"] = _BETA_TO_GA_CONTENT[kind]
    return item


def client_to_ga(event: Event) -> Event:
    """The GA form of a beta client event. Total: whatever is malformed stays malformed in
    GA terms, for the session's parser to name (errors go back through `server_to_beta`)."""
    type_ = event.get("type")
    event = dict(event)
    if type_ == "session.update" and isinstance(event.get("session"), dict):
        event["session"] = {"type": "realtime", **_ga_session(event["session"])}
    elif type_ == "conversation.item.create":
        event["item"] = _ga_item(event.get("item"))
    elif type_ == "response.create" and isinstance(event.get("response"), dict):
        response = _ga_session(event["response"])
        if "input" in response and isinstance(response["input"], list):
            response["input"] = [_ga_item(i) for i in response["input"]]
        if isinstance(response.get("audio"), dict):
            response["audio"] = {"output": response["audio"].get("output", {})}
        event["response"] = response
    return event


# ------------------------------------------------------------------ GA → client
def _beta_format(value: Any) -> Any:
    return _GA_FORMATS.get(value.get("type"), "pcm16") if isinstance(value, dict) else value


def _beta_session(ga: dict[str, Any]) -> dict[str, Any]:
    audio_in = ga.get("audio", {}).get("input", {})
    audio_out = ga.get("audio", {}).get("output", {})
    turn = audio_in.get("turn_detection")
    return {
        # Beta typed `model` as a closed list of hosted model names: a local
        # model's name would not fit, so the beta session leaves it out.
        "id": ga.get("id"), "object": "realtime.session",
        "expires_at": ga.get("expires_at"),
        "modalities": ["audio", "text"] if ga.get("output_modalities") == ["audio"] else ["text"],
        "instructions": ga.get("instructions"), "voice": audio_out.get("voice"),
        "speed": audio_out.get("speed"),
        "input_audio_format": _beta_format(audio_in.get("format")),
        "output_audio_format": _beta_format(audio_out.get("format")),
        "input_audio_transcription": audio_in.get("transcription"),
        "input_audio_noise_reduction": audio_in.get("noise_reduction"),
        "turn_detection": turn, "tools": ga.get("tools"), "tool_choice": ga.get("tool_choice"),
        "temperature": ga.get("temperature", 0.8),
        "max_response_output_tokens": ga.get("max_output_tokens"),
        "tracing": ga.get("tracing"),
    }


def _beta_item(item: dict[str, Any]) -> dict[str, Any]:
    item = copy.deepcopy(item)
    for part in item.get("content") or []:
        if part.get("type") in _GA_TO_BETA_CONTENT:
            part["type"] = _GA_TO_BETA_CONTENT[part["type"]]
    return item


def _beta_response(response: dict[str, Any]) -> dict[str, Any]:
    response = dict(response)
    output = response.pop("audio", None) or {}
    modalities = response.pop("output_modalities", None)
    response["modalities"] = ["audio", "text"] if modalities == ["audio"] else ["text"]
    response["voice"] = output.get("output", {}).get("voice")
    response["output_audio_format"] = _beta_format(output.get("output", {}).get("format"))
    response["output"] = [_beta_item(i) for i in response.get("output") or []]
    return response


# Where a beta client put what GA keeps elsewhere, for the `param` of an error.
_BETA_PARAMS = [
    ("audio.input.format", "input_audio_format"),
    ("audio.output.format", "output_audio_format"),
    ("audio.input.transcription", "input_audio_transcription"),
    ("audio.input.turn_detection", "turn_detection"),
    ("audio.input.noise_reduction", "input_audio_noise_reduction"),
    ("audio.output.voice", "voice"),
    ("audio.output.speed", "speed"),
    ("output_modalities", "modalities"),
    ("max_output_tokens", "max_response_output_tokens"),
]


def _beta_param(param: str) -> str:
    for prefix in ("session.", "response."):
        if not param.startswith(prefix):
            continue
        rest = param[len(prefix):]
        for ga, beta_name in _BETA_PARAMS:
            if rest == ga or rest.startswith((ga + ".", ga + "[")):
                # A beta format is a name, not an object: its `.type` is the name itself.
                tail = rest[len(ga):]
                if beta_name.endswith("_format") and tail == ".type":
                    tail = ""
                return prefix + beta_name + tail
    return param


def _beta_error(error: dict[str, Any]) -> dict[str, Any]:
    param = error.get("param")
    if not param:
        return error
    named = _beta_param(param)
    return dict(error, param=named, message=str(error.get("message", "")).replace(param, named))


def server_to_beta(event: Event) -> Event | None:
    """The beta form of a GA server event; None when beta has no such event."""
    type_ = event["type"]
    if type_ in _DROPPED_SERVER:
        return None
    event = dict(event, type=_RENAMED_SERVER.get(type_, type_))
    if type_ == "error":
        event["error"] = _beta_error(event["error"])
    if "session" in event:
        event["session"] = _beta_session(event["session"])
    if isinstance(event.get("item"), dict):
        event["item"] = _beta_item(event["item"])
    if isinstance(event.get("response"), dict):
        event["response"] = _beta_response(event["response"])
    return event
