"""What the session asks its runner to do (the sans-I/O session's outputs besides events)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from vivavoce.types import ResponseRequest


class Purpose(enum.Enum):
    """What a transcription is for; its result is routed by this, not by its id."""

    ITEM = "item"  # a user audio item's transcript
    PAUSE = "pause"  # the turn so far, at the user's first pause (it may be the whole turn)
    PARTIAL = "partial"  # the turn so far while the user speaks, to prefill with


@dataclass
class Transcribe:
    item_id: str  # the item, or for PAUSE and PARTIAL the name of this guess
    audio: np.ndarray  # int16, 24 kHz
    purpose: Purpose = Purpose.ITEM
    language: str | None = None
    prompt: str | None = None


@dataclass
class Respond:
    request: ResponseRequest


@dataclass
class Prepare:
    """The user has paused and may be done: start the response they would get, but hold
    its output until a Respond with the same response_id (or drop it on Cancel)."""

    request: ResponseRequest


@dataclass
class Prefill:
    """A response may come whose context starts like this one's: warm up for it."""

    request: ResponseRequest


@dataclass
class ScoreTurn:
    """Is the user done? Answer with Session.end_of_turn_scored(id, probability). A guess:
    skipped rather than make a response wait."""

    id: str  # the pause's speculation
    said: str  # the user's words so far
    context: ResponseRequest  # the reply's request without those words


@dataclass
class Cancel:
    response_id: str


@dataclass
class RunTool:
    """Run a server tool the model called; answer with Session.tool_result."""

    call_id: str
    name: str
    arguments: str


@dataclass
class CancelTool:
    call_id: str


Command = Transcribe | Respond | Prepare | Prefill | ScoreTurn | Cancel | RunTool | CancelTool
