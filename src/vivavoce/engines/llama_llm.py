"""Local chat on llama.cpp (llama-cpp-python), with tool calls done in the prompt.

The model's own chat template (from the GGUF) renders the conversation. We render
and tokenize it here rather than through create_chat_completion so the usage
numbers are exact: we know the prompt tokens and how many of them llama.cpp
reuses from its KV cache (it keeps the longest common prefix with the previous
call, so a byte-identical system message is only evaluated once).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_cpp import Llama, LogitsProcessorList
from llama_cpp.llama_chat_format import ChatFormatterResponse, Jinja2ChatFormatter

from .base import EngineError, LLMChunk, LLMRequest, Message, TextDelta, ToolCall, ToolSchema, Usage

log = logging.getLogger(__name__)

# Appended to the persona. Small models follow one fixed, explicit shape best.
_TOOLS_PROMPT = """

# Tools
You can call these tools, described as JSON Schema:
{schemas}

To call a tool, reply with exactly one JSON object and nothing else:
{{"name": "<tool name>", "arguments": {{<arguments>}}}}
Call a tool only when you need it to answer. Otherwise reply in plain spoken sentences.
When a tool result arrives, use it to answer the user."""


class LlamaLLM:
    """Not re-entrant: one llama.cpp context serves one stream at a time."""

    def __init__(self, model_path: str | Path, *, n_ctx: int = 4096,
                 n_threads: int | None = None, name: str = "llama.cpp") -> None:
        threads = n_threads or os.cpu_count() or 1  # llama.cpp's default is half the cores
        self.name = name
        self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
        self._n_ctx = n_ctx
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise EngineError(f"{model_path} has no chat template in its metadata")
        eos = self._llm.token_eos()
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=self._llm.detokenize([eos], special=True).decode(),
            bos_token=self._llm.detokenize([self._llm.token_bos()], special=True).decode(),
            stop_token_ids=[eos],
        )
        # Tokens a reply may not open with right after a tool result (see stream):
        # JSON/code openers, blanks and end-of-turn. Found once, by scanning the vocab.
        self._not_speech = np.array([
            t for t in range(self._llm.n_vocab())
            if self._llm.detokenize([t]).lstrip()[:1] in (b"", b"{", b"`")
        ])

    def stream(self, request: LLMRequest, cancel: threading.Event) -> Iterator[LLMChunk]:
        if cancel.is_set():
            return
        tools = {fn["name"]: fn for fn in (t.get("function", t) for t in request.tools)}
        rendered, tokens = self._render(_prompt_messages(request.messages, tools),
                                        room=min(request.max_tokens or 512, self._n_ctx // 4))
        cached = _common_prefix(self._llm._input_ids.tolist(), tokens)
        processors = None
        if request.messages and request.messages[-1]["role"] == "tool":
            # The small model often answers a tool result by calling the tool
            # again; making it open with a word makes it speak the result.
            processors = LogitsProcessorList([_ban_first(len(tokens), self._not_speech)])
        chunks = self._llm.create_completion(
            prompt=tokens, stream=True, max_tokens=request.max_tokens,
            temperature=request.temperature, stop=rendered.stop,
            stopping_criteria=rendered.stopping_criteria, logits_processor=processors,
        )
        reply = _ReplyReader(set(tools))
        generated = 0
        try:
            for chunk in chunks:
                if cancel.is_set():
                    return
                text = chunk["choices"][0]["text"]  # type: ignore[index]
                generated += bool(text)  # one streamed piece per token
                yield from reply.feed(text)
                if reply.complete:
                    break  # the tool call is whole: no need to generate more
            yield from reply.finish()
        finally:
            chunks.close()  # type: ignore[union-attr]
        yield Usage(input_tokens=len(tokens), output_tokens=generated, cached_tokens=cached)

    def _render(self, messages: list[Message], room: int
                ) -> tuple[ChatFormatterResponse, list[int]]:
        """Prompt text and tokens, forgetting the oldest turns if the context is full."""
        while True:
            rendered = self._formatter(messages=messages)
            tokens = self._llm.tokenize(rendered.prompt.encode(), add_bos=False, special=True)
            if len(tokens) + room <= self._n_ctx or len(messages) <= 2:
                return rendered, tokens
            # Keep the system message: the cached persona prefix stays valid.
            del messages[1 if messages[0]["role"] == "system" else 0]


def _ban_first(prompt_len: int, banned: np.ndarray) -> Callable[..., np.ndarray]:
    def process(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if len(input_ids) == prompt_len:  # choosing the reply's first token
            scores = scores.copy()
            scores[banned] = -np.inf
        return scores

    return process


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    # llama.cpp re-evaluates the last prompt token to get fresh logits.
    return min(n, len(b) - 1)


def _prompt_messages(messages: list[Message], tools: dict[str, ToolSchema]) -> list[Message]:
    """Chat messages in the shape our in-prompt tool protocol expects.

    The system message is the persona plus the tool list, byte-identical from
    turn to turn so the KV cache keeps it. Past tool calls become the JSON the
    model would have written, tool results become user turns: every chat
    template understands those roles.
    """
    out: list[Message] = []
    names: dict[str, str] = {}  # call_id -> tool name
    for m in messages:
        role, content = m["role"], m.get("content") or ""
        if role == "assistant" and m.get("tool_calls"):
            calls = []
            for call in m["tool_calls"]:
                names[call["id"]] = call["function"]["name"]
                calls.append(_call_json(call["function"]["name"], call["function"]["arguments"]))
            out.append({"role": "assistant", "content": "\n".join([content, *calls]).strip()})
        elif role == "tool":
            name = names.get(m.get("tool_call_id", ""), "the tool")
            # Without the reminder the small model tends to call the tool again.
            out.append({"role": "user", "content": f"Tool result from {name}: {content}\n"
                                                   "Reply to me in plain spoken words, not JSON."})
        else:
            out.append({"role": role, "content": content})
    if tools:
        schemas = "\n".join(
            json.dumps({k: fn[k] for k in ("name", "description", "parameters") if k in fn},
                       ensure_ascii=False)
            for fn in tools.values()
        )
        block = _TOOLS_PROMPT.format(schemas=schemas)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": out[0]["content"] + block}
        else:
            out.insert(0, {"role": "system", "content": block.lstrip()})
    return out


def _call_json(name: str, arguments: str) -> str:
    try:
        args: Any = json.loads(arguments or "{}")
    except ValueError:
        args = arguments
    return json.dumps({"name": name, "arguments": args}, ensure_ascii=False)


class _ReplyReader:
    """Tells speech from a tool call without ever passing JSON on as speech.

    Text streams through at once unless the reply opens like JSON or code
    ("{", "`", "<"); then it is held until a whole JSON object has arrived.
    """

    def __init__(self, tool_names: set[str]) -> None:
        self._tools = tool_names
        self._mode = "undecided" if tool_names else "text"  # then "text" or "held"
        self._held = ""
        self.complete = False  # a whole tool call has been read

    def feed(self, text: str) -> list[LLMChunk]:
        if self._mode == "text":
            return [TextDelta(text)] if text else []
        self._held += text
        if self._mode == "undecided":
            opening = self._held.lstrip()
            if not opening:
                return []
            if opening[0] not in "{`<":
                self._mode = "text"
                return [TextDelta(opening)]
            self._mode = "held"
        self.complete = _first_object(self._held) is not None
        return []

    def finish(self) -> list[LLMChunk]:
        if self._mode != "held":
            return []
        # The model sometimes ends its turn before the last closing brace.
        held = self._held.rstrip().removesuffix("```")
        obj = next((o for k in range(3) if (o := _first_object(held + "}" * k))), None)
        if obj is None:
            if self._held.lstrip().startswith("{"):
                log.warning("dropping malformed tool call: %.200s", self._held)
                return []
            return [TextDelta(self._held.lstrip())]  # code or markup, not a tool call
        name = obj.get("name")
        if name not in self._tools:
            log.warning("dropping call of unknown tool %r", name)
            return []
        args = obj.get("arguments", obj.get("parameters", {}))
        if isinstance(args, str):
            with contextlib.suppress(ValueError):  # else keep the string as it is
                args = json.loads(args)
        return [ToolCall(name=name, arguments=json.dumps(args, ensure_ascii=False),
                         call_id=f"call_{uuid.uuid4().hex[:24]}")]


def _first_object(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None  # incomplete so far, or not JSON
    return obj if isinstance(obj, dict) else None
