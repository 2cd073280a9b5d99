"""Session configuration in the GA shape, validated on every `session.update`.

Unknown top-level fields are rejected the way the hosted API rejects them;
fields the hosted API knows but this server does not act on (tracing, prompt,
include, truncation, reasoning) are accepted and echoed back.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from vivavoce.protocol.errors import ProtocolError
from vivavoce.protocol.problems import problem
from vivavoce.protocol.unions import Strict, by_kind


class AudioFormat(Strict):
    type: Literal["audio/pcm", "audio/pcmu", "audio/pcma"] = "audio/pcm"
    rate: Literal[24000] | None = None

    def wire(self) -> dict[str, Any]:
        if self.type == "audio/pcm":
            return {"type": self.type, "rate": 24000}
        return {"type": self.type}


class TurnDetection(Strict):
    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    prefix_padding_ms: int = Field(300, ge=0, le=5000)
    silence_duration_ms: int = Field(500, ge=0, le=10000)
    idle_timeout_ms: int | None = Field(None, ge=5000, le=30000)
    create_response: bool = True
    interrupt_response: bool = True
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"

    def wire(self) -> dict[str, Any]:
        if self.type == "semantic_vad":
            return {"type": "semantic_vad", "eagerness": self.eagerness,
                    "create_response": self.create_response,
                    "interrupt_response": self.interrupt_response}
        return self.model_dump(exclude={"eagerness"})


class Transcription(Strict):
    model: str = "whisper-1"
    language: str | None = None
    prompt: str | None = None


class NoiseReduction(Strict):
    type: Literal["near_field", "far_field"] | None = None
    strength: float | None = None


class AudioInput(Strict):
    format: AudioFormat = AudioFormat()
    transcription: Transcription | None = None
    turn_detection: TurnDetection | None = TurnDetection()
    noise_reduction: NoiseReduction | None = None


class AudioOutput(Strict):
    format: AudioFormat = AudioFormat()
    voice: str = "alloy"
    speed: float = Field(1.0, ge=0.25, le=1.5)

    @field_validator("voice", mode="before")
    @classmethod
    def _voice_id(cls, value: Any) -> Any:
        # GA voices may be given as {"id": "..."} for custom voices.
        return value.get("id") if isinstance(value, dict) else value


class Audio(Strict):
    input: AudioInput = AudioInput()
    output: AudioOutput = AudioOutput()


class FunctionTool(Strict):
    # Other fields a client gives a tool are kept: the model's server may know them.
    model_config = ConfigDict(extra="allow")
    type: Literal["function"] = "function"
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class NamedTool(Strict):
    type: Literal["function"]
    name: str


class TracingConfig(Strict):
    group_id: str | None = None
    metadata: dict[str, Any] | None = None
    workflow_name: str | None = None


class TokenLimits(Strict):
    post_instructions: int | None = None


class RetentionRatio(Strict):
    type: Literal["retention_ratio"]
    retention_ratio: float = Field(ge=0.0, le=1.0)
    token_limits: TokenLimits | None = None


class Prompt(Strict):
    id: str
    variables: dict[str, str] | None = None
    version: str | None = None


class Reasoning(Strict):
    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


# Fields the hosted API knows and this server only echoes are still typed: what a
# session event carries must be a valid session object.
ToolChoice = by_kind("str", str=Literal["auto", "none", "required"], dict=NamedTool)
MaxTokens = by_kind("int", int=Annotated[int, Field(ge=1, le=4096)], str=Literal["inf"])
Tracing = by_kind("str", str=Literal["auto"], dict=TracingConfig, none=None)
Truncation = by_kind("str", str=Literal["auto", "disabled"], dict=RetentionRatio)


class SessionConfig(Strict):
    type: Literal["realtime"] = "realtime"
    object: Literal["realtime.session"] = "realtime.session"
    id: str = ""
    model: str = "vivavoce-local"
    output_modalities: list[Literal["text", "audio"]] = Field(default_factory=lambda: ["audio"])
    instructions: str = ""
    audio: Audio = Audio()
    tools: list[FunctionTool] = Field(default_factory=list)
    tool_choice: ToolChoice = "auto"
    max_output_tokens: MaxTokens = "inf"
    # Not part of GA any more, but the beta dialect and many clients send it.
    temperature: float = Field(0.8, ge=0.0, le=2.0)
    expires_at: int = 0
    tracing: Tracing = None
    truncation: Truncation = "auto"
    prompt: Prompt | None = None
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None = None
    reasoning: Reasoning | None = None
    parallel_tool_calls: bool | None = None

    @field_validator("output_modalities")
    @classmethod
    def _one_modality(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("output_modalities must name 'audio' or 'text'")
        # "audio" always carries its transcript; a list naming both means audio.
        return ["audio"] if "audio" in value else ["text"]

    def tool_choice_wire(self) -> str | dict[str, Any]:
        choice = self.tool_choice
        return choice if isinstance(choice, str) else choice.model_dump()

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
                "noise_reduction": (self.audio.input.noise_reduction.model_dump(exclude_none=True)
                                    if self.audio.input.noise_reduction else None),
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
        raise problem(err, prefix) from None
