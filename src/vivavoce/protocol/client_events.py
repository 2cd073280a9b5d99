"""Client events as typed models: what a client may send, parsed at the edge.

Field names and shapes follow the `openai` package's realtime client-event types (GA);
vivavoce accepts a little more where clients rely on it (an item's `type` defaults to
`message`, a truncate's `content_index` to 0, `temperature` on a response). Whatever
does not fit becomes one ProtocolError naming the parameter (`item.content[0].text`),
never a crash and never a silent coercion. A `session.update`'s `session` and a
response's settings are partial session configs: the session config's own model
(session/config.py) checks those, with the same kind of errors.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationError

from vivavoce.protocol.errors import ProtocolError, check_depth
from vivavoce.protocol.problems import problem, shown
from vivavoce.protocol.unions import Strict, one_of

NonEmpty = Annotated[str, StringConstraints(min_length=1)]


# ------------------------------------------------------------------ content parts
class InputText(Strict):
    type: Literal["input_text"]
    text: str


class InputAudio(Strict):
    type: Literal["input_audio"]
    audio: NonEmpty  # base64, in the session's input format
    transcript: str | None = None


class OutputText(Strict):
    type: Literal["output_text"]
    text: str


class OutputAudio(Strict):
    """An assistant turn given by its transcript (clients cannot add assistant audio)."""

    type: Literal["output_audio"]
    transcript: str


UserPart = one_of("type", {"input_text": InputText, "input_audio": InputAudio})
AssistantPart = one_of("type", {"output_text": OutputText, "output_audio": OutputAudio})
SystemPart = one_of("type", {"input_text": InputText})


# ------------------------------------------------------------------ items
class _Item(Strict):
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: Literal["completed", "incomplete", "in_progress"] | None = None


class UserMessage(_Item):
    type: Literal["message"] = "message"
    role: Literal["user"]
    content: Annotated[list[UserPart], Field(min_length=1)]


class AssistantMessage(_Item):
    type: Literal["message"] = "message"
    role: Literal["assistant"]
    content: Annotated[list[AssistantPart], Field(min_length=1)]


class SystemMessage(_Item):
    type: Literal["message"] = "message"
    role: Literal["system"]
    content: Annotated[list[SystemPart], Field(min_length=1)]


Message = UserMessage | AssistantMessage | SystemMessage


class FunctionCall(_Item):
    type: Literal["function_call"]
    call_id: str | None = None  # made up when absent
    name: NonEmpty
    arguments: str


class FunctionCallOutput(_Item):
    type: Literal["function_call_output"]
    call_id: NonEmpty
    output: str


class ItemReference(Strict):
    """An existing item, in a response's `input`."""

    type: Literal["item_reference"]
    id: str


ClientItem = Message | FunctionCall | FunctionCallOutput
_MESSAGE = one_of("role", {"user": UserMessage, "assistant": AssistantMessage,
                           "system": SystemMessage})
_ITEMS = {"message": _MESSAGE, "function_call": FunctionCall,
          "function_call_output": FunctionCallOutput}
Item = one_of("type", _ITEMS, default="message")
InputItem = one_of("type", {**_ITEMS, "item_reference": ItemReference}, default="message")


# ------------------------------------------------------------------ responses
class ResponseAudio(Strict):
    output: dict[str, Any] | None = None  # a session's `audio.output`


class ResponseParams(Strict):
    # Settings for this response only, checked by the session config's model.
    instructions: Any = None
    output_modalities: Any = None
    audio: ResponseAudio | None = None
    tools: Any = None
    tool_choice: Any = None
    max_output_tokens: Any = None
    temperature: Any = None
    # The response's own.
    conversation: Literal["auto", "none"] = "auto"
    input: list[InputItem] | None = None
    metadata: Annotated[dict[Annotated[str, StringConstraints(max_length=64)],
                             Annotated[str, StringConstraints(max_length=512)]],
                        Field(max_length=16)] | None = None
    # Accepted as the hosted API does; nothing here acts on them.
    prompt: Any = None
    parallel_tool_calls: bool | None = None
    reasoning: dict[str, Any] | None = None

    def overrides(self) -> dict[str, Any]:
        """The session settings this response sets for itself, as given."""
        given = {name: getattr(self, name) for name in _OVERRIDES if name in self.model_fields_set}
        if self.audio is not None and self.audio.output is not None:
            given["audio"] = {"output": self.audio.output}
        return given


_OVERRIDES = ("instructions", "output_modalities", "tools", "tool_choice", "max_output_tokens",
              "temperature")


# ------------------------------------------------------------------ events
class _Event(Strict):
    event_id: str | None = None


class SessionUpdate(_Event):
    type: Literal["session.update"]
    session: dict[str, Any]


class InputAudioBufferAppend(_Event):
    type: Literal["input_audio_buffer.append"]
    audio: str


class InputAudioBufferCommit(_Event):
    type: Literal["input_audio_buffer.commit"]


class InputAudioBufferClear(_Event):
    type: Literal["input_audio_buffer.clear"]


class ConversationItemCreate(_Event):
    type: Literal["conversation.item.create"]
    previous_item_id: str | None = None
    item: Item


class ConversationItemRetrieve(_Event):
    type: Literal["conversation.item.retrieve"]
    item_id: str


class ConversationItemTruncate(_Event):
    type: Literal["conversation.item.truncate"]
    item_id: str
    content_index: Annotated[int, Field(ge=0)] = 0
    audio_end_ms: Annotated[int, Field(ge=0)]


class ConversationItemDelete(_Event):
    type: Literal["conversation.item.delete"]
    item_id: str


class ResponseCreate(_Event):
    type: Literal["response.create"]
    response: ResponseParams | None = None


class ResponseCancel(_Event):
    type: Literal["response.cancel"]
    response_id: str | None = None


class OutputAudioBufferClear(_Event):
    type: Literal["output_audio_buffer.clear"]


ClientEvent = (SessionUpdate | InputAudioBufferAppend | InputAudioBufferCommit
               | InputAudioBufferClear | ConversationItemCreate | ConversationItemRetrieve
               | ConversationItemTruncate | ConversationItemDelete | ResponseCreate
               | ResponseCancel | OutputAudioBufferClear)
EVENT_TYPES: dict[str, type[_Event]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in ClientEvent.__args__  # type: ignore[attr-defined]
}


def client_event_id(event: Any) -> str | None:
    """The `event_id` a client gave an event, to quote in an error about it."""
    event_id = event.get("event_id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) else None


def parse_client_event(event: dict[str, Any]) -> ClientEvent:
    """A client event, typed (from the object its JSON decodes to: `parse_event`)."""
    check_depth(event)  # objects may come from elsewhere than parse_event
    type_ = event.get("type")
    if type_ is None:
        raise ProtocolError("missing_required_parameter", "Missing required parameter: 'type'.",
                            "type")
    model = EVENT_TYPES.get(type_) if isinstance(type_, str) else None
    if model is None:
        raise ProtocolError("invalid_value", f"Unknown event type {shown(type_)}. Supported types: "
                            + ", ".join(sorted(EVENT_TYPES)) + ".", "type")
    try:
        return model.model_validate(event)  # type: ignore[return-value]
    except ValidationError as err:
        raise problem(err) from None
