"""Chat through POST {base_url}/chat/completions with SSE streaming.

Works with OpenAI, Ollama, vLLM, llama.cpp server and anything else that speaks
the chat-completions API; lets users plug in a bigger model than the embedded one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ._http import Endpoint
from .base import (
    EngineError,
    LLMChunk,
    LLMRequest,
    TextDelta,
    ToolCall,
    ToolCallStarted,
    ToolSchema,
    Usage,
)


class OpenAIHTTPLLM:
    concurrent = True  # its calls wait on a server, not on our cores: they may overlap

    def __init__(self, base_url: str, api_key: str | None = None,
                 model: str = "gpt-4o-mini", timeout: float = 60.0) -> None:
        self.name = model
        self.model = model
        self._endpoint = Endpoint(base_url, api_key, timeout)

    def prefill(self, request: LLMRequest, pause: Callable[[], None]) -> None:
        """Nothing: a remote server keeps its own prompt cache."""

    def keep(self, request: LLMRequest) -> None:
        """Nothing: a remote server keeps its own prompt cache."""

    def refresh(self, stop: Callable[[], bool]) -> None:
        """Nothing: there is no approximation to make exact."""

    def stream(self, request: LLMRequest, cancel: threading.Event) -> Iterator[LLMChunk]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.tools:
            body["tools"] = [_chat_tool(t) for t in request.tools]
            body["tool_choice"] = _chat_tool_choice(request.tool_choice)
        calls: dict[int, dict[str, str]] = {}  # tool-call fragments by index
        usage: Usage | None = None
        finished = False
        with self._endpoint.post("/chat/completions", json=body) as r:
            for line in r.iter_lines():
                if cancel.is_set():
                    return  # closing the connection stops generation server-side
                if not line.startswith("data:"):
                    continue  # blank separators, comments, "event:" lines
                data = line[5:].strip()
                if data == "[DONE]":
                    finished = True
                    break
                chunk = _json(data)
                if chunk.get("error"):
                    raise EngineError(f"chat stream error: {chunk['error']}")
                if u := chunk.get("usage"):
                    usage = _usage(u)
                for choice in chunk.get("choices") or []:
                    finished = finished or bool(choice.get("finish_reason"))
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        yield TextDelta(delta["content"])
                    for tc in delta.get("tool_calls") or []:
                        if not calls:
                            yield ToolCallStarted()
                        _merge_tool_call(calls, tc)
        if not finished:  # cut off, or not a chat stream at all: not an answer to keep
            raise EngineError(f"the chat stream from {self._endpoint.base_url} ended before "
                              "it finished (no finish_reason, no [DONE])")
        for call in (calls[i] for i in sorted(calls)):
            yield ToolCall(name=call["name"], arguments=call["arguments"] or "{}",
                           call_id=call["id"])
        if usage is not None:
            yield usage


def _chat_tool(tool: ToolSchema) -> dict[str, Any]:
    """Realtime-style flat tool schema -> chat-completions nested form."""
    if "function" in tool:
        return tool
    fn = {k: tool[k] for k in ("name", "description", "parameters") if k in tool}
    return {"type": "function", "function": fn}


def _chat_tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, dict) and "name" in choice:
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


def _json(data: str) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except ValueError as e:
        raise EngineError(f"bad SSE data from chat stream: {data[:200]!r}") from e
    return parsed if isinstance(parsed, dict) else {}


def _merge_tool_call(calls: dict[int, dict[str, str]], delta: dict[str, Any]) -> None:
    # The first fragment of a call carries id and name; later ones carry
    # pieces of the JSON arguments string.
    call = calls.setdefault(delta.get("index", 0), {"id": "", "name": "", "arguments": ""})
    fn = delta.get("function") or {}
    call["id"] = delta.get("id") or call["id"]
    call["name"] += fn.get("name") or ""
    call["arguments"] += fn.get("arguments") or ""


def _usage(u: dict[str, Any]) -> Usage:
    details = u.get("prompt_tokens_details") or {}
    return Usage(input_tokens=u.get("prompt_tokens", 0),
                 output_tokens=u.get("completion_tokens", 0),
                 cached_tokens=details.get("cached_tokens") or 0)
