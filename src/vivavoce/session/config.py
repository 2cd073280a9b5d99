"""Session configuration in the GA shape, validated on every `session.update`.

Unknown top-level fields are rejected the way the hosted API rejects them;
fields the hosted API knows but this server does not act on (tracing, prompt,
include, truncation, reasoning) are accepted and echoed back.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vivavoce.protocol.errors import ProtocolError

# semantic_vad waits this long in silence when the words so far do not sound
# finished (see end_of_turn); the hosted API's eagerness caps (8/4/2 s) bound
# the worst case only.
SEMANTIC_SILENCE_MS = {"low": 1500, "medium": 800, "auto": 800, "high": 500}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AudioFormat(_Strict):
    type: Literal["audio/pcm", "audio/pcmu", "audio/pcma"] = "audio/pcm"
    rate: Literal[24000] | None = None

    def wire(self) -> dict[str, Any]:
        if self.type == "audio/pcm":
            return {"type": self.type, "rate": 24000}
        return {"type": self.type}


class TurnDetection(_Strict):
    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    prefix_padding_ms: int = Field(300, ge=0, le=5000)
    silence_duration_ms: int = Field(500, ge=0, le=10000)
    idle_timeout_ms: int | None = Field(None, ge=5000, le=30000)
    create_response: bool = True
    interrupt_response: bool = True
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"

    def silence_ms(self) -> int:
        if self.type == "semantic_vad":
            return SEMANTIC_SILENCE_MS[self.eagerness]
        return self.silence_duration_ms

    def wire(self) -> dict[str, Any]:
        if self.type == "semantic_vad":
            return {"type": "semantic_vad", "eagerness": self.eagerness,
                    "create_response": self.create_response,
                    "interrupt_response": self.interrupt_response}
        return self.model_dump(exclude={"eagerness"})


class Transcription(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = "whisper-1"
    language: str | None = None
    prompt: str | None = None


class AudioInput(_Strict):
    format: AudioFormat = AudioFormat()
    transcription: Transcription | None = None
    turn_detection: TurnDetection | None = TurnDetection()
    noise_reduction: dict[str, Any] | None = None


class AudioOutput(_Strict):
    format: AudioFormat = AudioFormat()
    voice: str = "alloy"
    speed: float = Field(1.0, ge=0.25, le=1.5)

    @field_validator("voice", mode="before")
    @classmethod
    def _voice_id(cls, value: Any) -> Any:
        # GA voices may be given as {"id": "..."} for custom voices.
        return value.get("id") if isinstance(value, dict) else value


class Audio(_Strict):
    input: AudioInput = AudioInput()
    output: AudioOutput = AudioOutput()


class FunctionTool(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["function"] = "function"
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


ToolChoice = Literal["auto", "none", "required"] | dict[str, Any]


class SessionConfig(_Strict):
    type: Literal["realtime"] = "realtime"
    object: Literal["realtime.session"] = "realtime.session"
    id: str = ""
    model: str = "vivavoce-local"
    output_modalities: list[Literal["text", "audio"]] = ["audio"]
    instructions: str = ""
    audio: Audio = Audio()
    tools: list[FunctionTool] = []
    tool_choice: ToolChoice = "auto"
    max_output_tokens: int | Literal["inf"] = "inf"
    # Not part of GA any more, but the beta dialect and many clients send it.
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    expires_at: int = 0
    tracing: Any = None
    truncation: Any = "auto"
    prompt: Any = None
    include: list[str] | None = None
    reasoning: Any = None
    parallel_tool_calls: bool | None = None

    @field_validator("output_modalities")
    @classmethod
    def _one_modality(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("output_modalities must name 'audio' or 'text'")
        # "audio" always carries its transcript; a list naming both means audio.
        return ["audio"] if "audio" in value else ["text"]

    @field_validator("tool_choice")
    @classmethod
    def _named_choice(cls, value: Any) -> Any:
        if isinstance(value, dict) and not (value.get("type") == "function" and value.get("name")):
            raise ValueError("a named tool_choice is {'type': 'function', 'name': ...}")
        return value

    def wire(self) -> dict[str, Any]:
        """The session object as sent in session.created/updated."""
        data = self.model_dump(exclude={"temperature", "audio"}, exclude_none=False)
        data["audio"] = {
            "input": {
                "format": self.audio.input.format.wire(),
                "transcription": (self.audio.input.transcription.model_dump(exclude_none=True)
                                  if self.audio.input.transcription else None),
                "turn_detection": (self.audio.input.turn_detection.wire()
                                   if self.audio.input.turn_detection else None),
                "noise_reduction": self.audio.input.noise_reduction,
            },
            "output": {
                "format": self.audio.output.format.wire(),
                "voice": self.audio.output.voice,
                "speed": self.audio.output.speed,
            },
        }
        data["tools"] = [t.model_dump() for t in self.tools]
        return data


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Partial update: nested objects merge, explicit nulls and lists replace."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def validation_problem(err: ValidationError, prefix: str) -> ProtocolError:
    """The first pydantic complaint as a ProtocolError naming the parameter."""
    first = err.errors()[0]
    param = ".".join([prefix, *(str(p) for p in first["loc"])])
    if first["type"] == "extra_forbidden":
        return ProtocolError("unknown_parameter", f"Unknown parameter: '{param}'.", param)
    if first["type"] == "missing":
        return ProtocolError("missing_required_parameter",
                             f"Missing required parameter: '{param}'.", param)
    return ProtocolError("invalid_value", f"Invalid value for '{param}': {first['msg']}.", param)


def apply_update(config: SessionConfig, update: Any, prefix: str = "session") -> SessionConfig:
    """A new config with `update` (a session.update `session` object) applied.

    `prefix` names the object in error messages (response.create reuses this).
    """
    if not isinstance(update, dict):
        raise ProtocolError("invalid_type", f"'{prefix}' must be an object.", prefix)
    update = {k: v for k, v in update.items() if k not in ("id", "object", "expires_at")}
    if update.get("type", "realtime") != "realtime":
        raise ProtocolError("invalid_value",
                            "Only 'realtime' sessions are supported on this endpoint.",
                            f"{prefix}.type")
    # Dump without defaults-only wire tweaks so the merge sees the raw structure.
    current = config.model_dump(exclude_none=False)
    turn = (update.get("audio") or {}).get("input", {}) if isinstance(update.get("audio"), dict) \
        else {}
    if isinstance(turn, dict) and isinstance(turn.get("turn_detection"), dict) \
            and "type" in turn["turn_detection"]:
        # A new turn_detection type starts from that type's defaults.
        current["audio"]["input"]["turn_detection"] = None
    try:
        return SessionConfig.model_validate(deep_merge(current, update))
    except ValidationError as err:
        raise validation_problem(err, prefix) from None
