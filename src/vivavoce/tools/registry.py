"""Server tools: plain Python functions the model may call, registered with a decorator.

The JSON schema of a tool comes from its type hints and docstring, so a tool is
written once, as ordinary Python:

    registry = ToolRegistry()

    @registry.tool
    def get_time(timezone: str = "local") -> dict:
        '''Get the current time.

        Args:
            timezone: An IANA zone or a city, e.g. "Europe/Paris".
        '''

Arguments arrive as the model's JSON string and are validated with pydantic in
lax mode (a small model writes `"code": 1234` as often as `"code": "1234"`).
Keys the schema does not know are dropped, not rejected: a 0.5B model adds
stray keys ("unit": "celsius") far more often than it means something by them.
Every result is a JSON object: dicts as they are, anything else as
`{"result": value}`.
"""

from __future__ import annotations

import asyncio
import copy
import enum
import inspect
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, get_args, get_type_hints

import pydantic

log = logging.getLogger(__name__)


@dataclass
class ToolContext:
    """Per-session state a tool may use; declare a `context: ToolContext` parameter."""

    session_id: str
    state: dict[str, Any] = field(default_factory=dict)


class ToolError(Exception):
    """A tool call that could not run or failed; the message is fit to show the model."""


@dataclass
class _Tool:
    name: str
    fn: Callable[..., Any]
    schema: dict[str, Any]
    arguments: type[pydantic.BaseModel]
    context_param: str | None
    timeout: float


# Lax on purpose: numbers become strings where a string is wanted (a door code).
_ARGS_CONFIG = pydantic.ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, _Tool] = {}

    def tool(self, fn: Callable[..., Any] | None = None, *, name: str | None = None,
             description: str | None = None, timeout: float = 10.0) -> Any:
        """Register `fn` as a tool; usable bare (`@registry.tool`) or with arguments.

        The function is returned unchanged, so it stays callable directly.
        """

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            tool = _build_tool(fn, name or fn.__name__, description, timeout)
            if tool.name in self._tools:
                raise ValueError(f"a tool named {tool.name!r} is already registered")
            self._tools[tool.name] = tool
            return fn

        return register(fn) if fn is not None else register

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return list(self._tools)

    def schemas(self, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Realtime (GA) function tools, in registration order or in the order asked."""
        wanted = self.names() if names is None else list(names)
        return [copy.deepcopy(self._get(n).schema) for n in wanted]

    async def call(self, name: str, arguments: str, context: ToolContext) -> str:
        """Validate the model's JSON `arguments`, run the tool, return its result as JSON.

        Raises ToolError for an unknown tool, bad JSON, invalid arguments, a
        timeout, or an exception inside the tool. Sync tools run in a worker
        thread; on timeout their thread cannot be stopped, only abandoned, so
        blocking tools should carry their own I/O timeouts too.
        """
        tool = self._get(name, error=ToolError)
        kwargs = _validate(tool, arguments)
        if tool.context_param:
            kwargs[tool.context_param] = context
        if inspect.iscoroutinefunction(tool.fn):
            work = tool.fn(**kwargs)
        else:
            work = asyncio.to_thread(tool.fn, **kwargs)
        try:
            result = await asyncio.wait_for(work, tool.timeout)
        except TimeoutError:
            raise ToolError(f"{name} timed out after {tool.timeout:g} seconds") from None
        except ToolError:
            raise
        except Exception as exc:
            log.exception("tool %s failed", name)
            raise ToolError(f"{name} failed: {exc}") from exc
        return _to_json(result)

    async def answer(self, name: str, arguments: str, context: ToolContext) -> str:
        """`call`, with a failure turned into the `{"error": ...}` output the model reads."""
        try:
            return await self.call(name, arguments, context)
        except ToolError as exc:
            return json.dumps({"error": str(exc)})

    def _get(self, name: str, error: type[Exception] = KeyError) -> _Tool:
        try:
            return self._tools[name]
        except KeyError:
            known = ", ".join(self._tools) or "none"
            raise error(f"unknown tool {name!r}; available tools: {known}") from None


def _build_tool(fn: Callable[..., Any], name: str, description: str | None,
                timeout: float) -> _Tool:
    hints = get_type_hints(fn, include_extras=True)
    summary, param_docs = _parse_docstring(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    context_param = None
    for param in inspect.signature(fn).parameters.values():
        hint = hints.get(param.name, inspect.Parameter.empty)
        if hint is ToolContext or ToolContext in get_args(hint):  # also Optional[ToolContext]
            context_param = param.name
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise TypeError(f"tool {name}: parameter {param.name!r} must be a plain keyword")
        if hint is inspect.Parameter.empty:
            raise TypeError(f"tool {name}: parameter {param.name!r} needs a type hint")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hint, pydantic.Field(default, description=param_docs.get(param.name)))
    arguments = pydantic.create_model(f"{name}_arguments", __config__=_ARGS_CONFIG, **fields)
    schema = {
        "type": "function",
        "name": name,
        "description": description or summary,
        "parameters": _clean_schema(arguments.model_json_schema()),
    }
    return _Tool(name, fn, schema, arguments, context_param, timeout)


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns?|Raises|Yields|Examples?|Notes?):\s*$")
_PARAM = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """First paragraph, and Google-style `Args:` descriptions by parameter name."""
    # The first paragraph ends at a blank line or, in terse docstrings, at "Args:".
    head = itertools.takewhile(lambda ln: ln.strip() and not _SECTION.match(ln),
                               doc.strip().splitlines())
    summary = " ".join(" ".join(head).split())
    params: dict[str, str] = {}
    section, current, indent = None, None, 0
    for line in doc.splitlines():
        stripped = line.strip()
        heading = _SECTION.match(stripped) if line == line.lstrip() else None
        if heading:
            section, current = heading.group(1), None
            continue
        if section not in ("Args", "Arguments", "Parameters") or not stripped:
            continue
        depth = len(line) - len(line.lstrip())
        match = _PARAM.match(stripped)
        if match and (current is None or depth <= indent):
            current, indent = match.group(1), depth
            params[current] = match.group(2)
        elif current is not None:  # a continuation line of the current parameter
            params[current] = f"{params[current]} {stripped}".strip()
    return summary, params


# Schemas read best with the type and description first (they are prompt text).
_KEY_ORDER = {"type": 0, "description": 1, "enum": 2, "items": 3, "properties": 4, "required": 5}


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Pydantic's schema, minus what costs a small model tokens and helps it not at all.

    Refs are inlined, titles dropped, `Optional[X]` shown as plain X (it is not
    required anyway) and `None` defaults left out.
    """
    defs = schema.pop("$defs", {})

    def clean(node: Any) -> Any:
        if isinstance(node, list):
            return [clean(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = defs[node["$ref"].rsplit("/", 1)[-1]]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        options = node.get("anyOf")
        if options and {"type": "null"} in options and len(options) == 2:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            node = {**next(o for o in options if o != {"type": "null"}), **rest}
        out: dict[str, Any] = {}
        for key, value in sorted(node.items(), key=lambda kv: _KEY_ORDER.get(kv[0], 99)):
            if key == "title" or (key == "default" and value is None):
                continue
            if key == "properties":  # keys here are parameter names, not keywords
                out[key] = {k: clean(v) for k, v in value.items()}
            else:
                out[key] = clean(value)
        return out

    return clean(schema)


def _validate(tool: _Tool, arguments: str) -> dict[str, Any]:
    text = (arguments or "").strip() or "{}"  # models send "" for tools without parameters
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolError(f"arguments for {tool.name} are not valid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise ToolError(f"arguments for {tool.name} must be a JSON object")
    try:
        parsed = tool.arguments.model_validate(raw)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ToolError(f"invalid arguments for {tool.name}: {problems}") from None
    return {name: getattr(parsed, name) for name in type(parsed).model_fields}


def _to_json(result: Any) -> str:
    if isinstance(result, pydantic.BaseModel):
        result = result.model_dump(mode="json")
    if not isinstance(result, dict):
        result = {"result": result}
    return json.dumps(result, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)  # dates, paths, decimals: their str() is what one would say
