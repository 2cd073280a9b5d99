"""The conversation log: every finalized item of one session, in conversation order.

Built from the GA server events a client is sent, so it records the same thing for
any brain: the user's words (once transcribed), the assistant's (cut to what was heard
when the item is truncated, as the session cuts its own), tool calls and their
outputs; and, when asked (`keep_audio`, the server's --store-audio), the audio of each
item as PCM16 24 kHz. It is what a relay replays into a fresh upstream session after a
drop, and what the store saves. Pure: no I/O.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field

import numpy as np

from vivavoce.audio.formats import FORMATS, INTERNAL_RATE, Decoder, WireFormat
from vivavoce.transcript import heard_text
from vivavoce.types import Event, Item


@dataclass
class _Speech:
    """An assistant item's audio as it was sent: its length (in samples of its wire
    format), where each piece of its transcript began, and (if kept) the audio itself."""

    format: WireFormat
    decoder: Decoder | None  # set when the audio is kept
    samples: int = 0
    starts: list[tuple[int, str]] = field(default_factory=list)  # (sample, text)

    def heard(self, audio_end_ms: int) -> str:
        """The transcript of what played before `audio_end_ms`."""
        ends = [start for start, _ in self.starts[1:]] + [self.samples]
        segments = [(start, end, text) for (start, text), end in
                    zip(self.starts, ends, strict=True)]
        return heard_text(segments, audio_end_ms * self.format.rate // 1000)


class ConversationLog:
    def __init__(self, session_id: str, restored: list[Item] | None = None,
                 keep_audio: bool = False) -> None:
        """`restored`: the finalized items a resumed session starts with, in order;
        `keep_audio`: keep each item's audio too (`audio`)."""
        self.session_id = session_id
        self.keep_audio = keep_audio
        self._order: list[str] = [item["id"] for item in restored or []]
        self._items: dict[str, Item] = {item["id"]: copy.deepcopy(item)
                                        for item in restored or []}
        self._final: set[str] = set(self._order)
        self._formats: dict[str, WireFormat] = {}  # response id → its audio's wire format
        self._speech: dict[str, _Speech] = {}  # assistant item id → its audio as sent
        self._audio: dict[str, list[np.ndarray]] = {}  # item id → its audio (if kept)
        self._handed: dict[str, int] = {}  # item id → samples of it `new_audio` gave out

    def observe(self, event: Event) -> bool:
        """Take in one GA server event; True when a finalized item changed."""
        type_ = event.get("type")
        if type_ in _SPEECH_EVENTS:
            return self._speak(event)
        item = event.get("item")
        if type_ == "conversation.item.added" and isinstance(item, dict) \
                and item.get("status") != "completed":
            self._place(item, event)
            return False
        # An item added complete (the client's own, a tool's output) is final at once.
        if type_ in ("conversation.item.added", "conversation.item.done",
                     "response.output_item.done") and isinstance(item, dict) and item.get("id"):
            if item["id"] not in self._items:
                self._place(item, event)
            elif item["id"] in self._final and self._items[item["id"]] == item:
                return False  # told again (done after added, a resumed session's redraw)
            self._items[item["id"]] = copy.deepcopy(item)
            self._final.add(item["id"])
            return True
        item_id = event.get("item_id")
        if item_id not in self._items:
            return False
        if type_ == "conversation.item.input_audio_transcription.completed":
            parts = self._items[item_id].get("content") or []
            index = event.get("content_index", 0)
            if 0 <= index < len(parts):
                parts[index]["transcript"] = event.get("transcript")
            return item_id in self._final
        if type_ == "conversation.item.deleted":
            self._order.remove(item_id)
            del self._items[item_id]
            self._final.discard(item_id)
            for kept in (self._speech, self._audio, self._handed):
                kept.pop(item_id, None)
            return True
        return False

    def _speak(self, event: Event) -> bool:
        """The assistant's audio and the words it says, as sent; a truncation cuts both
        to what was heard. True when that changed a finalized item."""
        type_ = event["type"]
        if type_ == "response.created":
            response = event.get("response") or {}
            # A relayed upstream may leave the format out: then it is the default.
            output = (response.get("audio") or {}).get("output") or {}
            kind = (output.get("format") or {}).get("type", "audio/pcm")
            self._formats[response.get("id", "")] = FORMATS.get(kind, FORMATS["audio/pcm"])
            return False
        if type_ == "response.done":
            self._formats.pop((event.get("response") or {}).get("id", ""), None)
            return False
        item_id = event.get("item_id", "")
        if type_ == "conversation.item.truncated":
            return self._truncate(item_id, event.get("content_index", 0),
                                  event.get("audio_end_ms", 0))
        speech = self._speech.get(item_id)
        if speech is None:
            fmt = self._formats.get(event.get("response_id", ""), FORMATS["audio/pcm"])
            speech = self._speech[item_id] = _Speech(fmt, Decoder(fmt) if self.keep_audio
                                                     else None)
        if type_ == "response.output_audio_transcript.delta":
            speech.starts.append((speech.samples, event.get("delta") or ""))
            return False
        data = base64.b64decode(event.get("delta") or "")
        speech.samples += len(speech.format.decode(data))
        if speech.decoder is not None:
            self._audio.setdefault(item_id, []).append(speech.decoder.decode(data))
        return False

    def _truncate(self, item_id: str, index: int, audio_end_ms: int) -> bool:
        speech = self._speech.get(item_id)
        item = self._items.get(item_id)
        if speech is None or item is None:
            return False
        parts = item.get("content") or []
        if 0 <= index < len(parts):
            key = "transcript" if parts[index].get("type") == "output_audio" else "text"
            parts[index][key] = speech.heard(audio_end_ms)
        if item_id in self._audio:
            self._audio[item_id] = [_pcm(self._audio[item_id])[:audio_end_ms
                                                               * INTERNAL_RATE // 1000]]
        return item_id in self._final

    def keep_user_audio(self, item_id: str, pcm: np.ndarray | None) -> None:
        """The user's audio of an item (int16, 24 kHz), as the session committed it."""
        if self.keep_audio and pcm is not None and len(pcm) and item_id in self._items:
            self._audio[item_id] = [pcm]

    def new_audio(self) -> dict[str, bytes]:
        """The audio (PCM16 mono 24 kHz) of each finalized item not given out before in
        its present form (a truncation changes it), by item id."""
        out = {}
        for item_id, chunks in self._audio.items():
            if item_id not in self._final:
                continue
            pcm = _pcm(chunks)
            self._audio[item_id] = [pcm]
            if self._handed.get(item_id) != len(pcm):
                self._handed[item_id] = len(pcm)
                out[item_id] = pcm.astype("<i2").tobytes()
        return out

    def _place(self, item: Item, event: Event) -> None:
        """Where the event says: after `previous_item_id`, first when that is null,
        last when the event does not say."""
        item_id = item.get("id")
        if not isinstance(item_id, str) or item_id in self._items:
            return
        previous = event.get("previous_item_id", "")
        if previous is None:
            at = 0
        elif previous in self._items:
            at = self._order.index(previous) + 1
        else:
            at = len(self._order)
        self._order.insert(at, item_id)
        self._items[item_id] = copy.deepcopy(item)

    def items(self) -> list[Item]:
        return [copy.deepcopy(self._items[i]) for i in self._order if i in self._final]

    def replay(self) -> list[Item]:
        """The log as `conversation.item.create` items for a fresh session: text stands
        in for audio (a transcript is all that was kept); items with no words are left out."""
        out = []
        for item in self.items():
            replayed = _replay_item(item)
            if replayed is not None:
                out.append(replayed)
        return out


_SPEECH_EVENTS = frozenset({"response.created", "response.done", "conversation.item.truncated",
                            "response.output_audio.delta",
                            "response.output_audio_transcript.delta"})


def _pcm(chunks: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(chunks) if len(chunks) != 1 else chunks[0]


def _replay_item(item: Item) -> Item | None:
    type_ = item.get("type")
    if type_ == "function_call":
        return {"id": item["id"], "type": "function_call", "call_id": item.get("call_id"),
                "name": item.get("name"), "arguments": item.get("arguments") or ""}
    if type_ == "function_call_output":
        return {"id": item["id"], "type": "function_call_output",
                "call_id": item.get("call_id"), "output": item.get("output") or ""}
    if type_ != "message":
        return None
    role = item.get("role")
    kind = "output_text" if role == "assistant" else "input_text"
    texts = [part.get("text") or part.get("transcript") or ""
             for part in item.get("content") or []]
    text = " ".join(t.strip() for t in texts if t and t.strip())
    if not text:
        return None
    return {"id": item["id"], "type": "message", "role": role,
            "content": [{"type": kind, "text": text}]}
