"""ToolRegistry: schemas from hints and docstrings, validation, timeouts, context."""

from __future__ import annotations

import asyncio
import enum
import json
import time
from typing import Literal

import pytest

from vivavoce.tools import ToolContext, ToolError, ToolRegistry


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@pytest.fixture
def registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool
    def forecast(city: str, days: int = 1, unit: Unit = Unit.CELSIUS,
                 detail: Literal["short", "long"] = "short", tags: list[str] | None = None,
                 metric: bool = True) -> dict:
        """Forecast the weather
        for a city.

        Only the first paragraph is the description.

        Args:
            city: The city, like
                "Tokyo".
            days (int): How many days ahead.
            unit: Temperature unit.

        Returns:
            nothing: not a parameter.
        """
        return {"city": city, "days": days, "unit": unit, "detail": detail, "tags": tags,
                "metric": metric}

    @registry.tool(name="whoami", description="Say who is asking.", timeout=0.5)
    async def session_of(context: ToolContext) -> str:
        context.state["asked"] = True
        return context.session_id

    @registry.tool(timeout=0.2)
    async def slow() -> str:
        """Never finishes in time."""
        await asyncio.sleep(5)
        return "late"

    @registry.tool(timeout=0.2)
    def slow_sync() -> str:
        """Blocks longer than its timeout."""
        time.sleep(0.5)
        return "late"

    @registry.tool
    def broken() -> None:
        """Always fails."""
        raise RuntimeError("disk on fire")

    return registry


CTX = ToolContext(session_id="sess_1", state={})


def test_schema_from_hints_and_docstring(registry: ToolRegistry) -> None:
    [schema] = registry.schemas(["forecast"])
    assert schema == {
        "type": "function",
        "name": "forecast",
        "description": "Forecast the weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": 'The city, like "Tokyo".'},
                "days": {"type": "integer", "description": "How many days ahead.", "default": 1},
                "unit": {"type": "string", "description": "Temperature unit.",
                         "enum": ["celsius", "fahrenheit"], "default": "celsius"},
                "detail": {"type": "string", "enum": ["short", "long"], "default": "short"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "metric": {"type": "boolean", "default": True},
            },
            "required": ["city"],
        },
    }


def test_context_is_not_in_the_schema_and_overrides_apply(registry: ToolRegistry) -> None:
    [schema] = registry.schemas(["whoami"])
    assert schema["description"] == "Say who is asking."
    assert schema["parameters"] == {"type": "object", "properties": {}}


def test_names_contains_and_unknown_schema(registry: ToolRegistry) -> None:
    assert registry.names() == ["forecast", "whoami", "slow", "slow_sync", "broken"]
    assert "whoami" in registry and "session_of" not in registry
    assert [s["name"] for s in registry.schemas()] == registry.names()
    with pytest.raises(KeyError, match="available tools"):
        registry.schemas(["nope"])


def test_duplicate_and_unannotated_tools_are_refused(registry: ToolRegistry) -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.tool(lambda: None, name="forecast")

    def untyped(city):
        """No hints."""

    with pytest.raises(TypeError, match="needs a type hint"):
        registry.tool(untyped)


async def test_call_validates_coerces_and_drops_unknown_keys(registry: ToolRegistry) -> None:
    args = {"city": "Tokyo", "days": "3", "unit": "fahrenheit", "detail": "long",
            "tags": ["a"], "colour": "blue"}
    result = json.loads(await registry.call("forecast", json.dumps(args), CTX))
    assert result == {"city": "Tokyo", "days": 3, "unit": "fahrenheit", "detail": "long",
                      "tags": ["a"], "metric": True}


async def test_numbers_are_accepted_for_strings(registry: ToolRegistry) -> None:
    result = json.loads(await registry.call("forecast", '{"city": 1234}', CTX))
    assert result["city"] == "1234"


@pytest.mark.parametrize(("arguments", "message"), [
    ('{"city": "Tokyo"', "not valid JSON"),
    ('["Tokyo"]', "must be a JSON object"),
    ("{}", "city: Field required"),
    ('{"city": "Tokyo", "detail": "medium"}', "detail: Input should be 'short' or 'long'"),
    ('{"city": "Tokyo", "unit": "kelvin"}', "unit: Input should be 'celsius' or 'fahrenheit'"),
    ('{"city": "Tokyo", "days": "many"}', "days: Input should be a valid integer"),
    ('{"city": "Tokyo", "tags": "a"}', "tags: Input should be a valid list"),
])
async def test_invalid_arguments_raise_clear_tool_errors(registry: ToolRegistry, arguments: str,
                                                         message: str) -> None:
    with pytest.raises(ToolError, match=message) as info:
        await registry.call("forecast", arguments, CTX)
    assert "forecast" in str(info.value)


async def test_unknown_tool(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="unknown tool 'nope'; available tools: forecast"):
        await registry.call("nope", "{}", CTX)


async def test_async_tool_gets_context_and_str_result_is_wrapped(registry: ToolRegistry) -> None:
    ctx = ToolContext(session_id="sess_42", state={})
    assert json.loads(await registry.call("whoami", "", ctx)) == {"result": "sess_42"}
    assert ctx.state == {"asked": True}


async def test_sync_tool_runs_off_the_event_loop(registry: ToolRegistry) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    with pytest.raises(ToolError, match=r"slow_sync timed out after 0\.2 seconds"):
        await registry.call("slow_sync", "{}", CTX)
    task.cancel()
    assert ticks >= 5  # the loop kept running while the tool blocked its thread


async def test_async_timeout(registry: ToolRegistry) -> None:
    started = time.monotonic()
    with pytest.raises(ToolError, match="slow timed out"):
        await registry.call("slow", "{}", CTX)
    assert time.monotonic() - started < 1


async def test_exceptions_become_tool_errors(registry: ToolRegistry) -> None:
    with pytest.raises(ToolError, match="broken failed: disk on fire"):
        await registry.call("broken", "{}", CTX)


async def test_none_result_is_wrapped() -> None:
    registry = ToolRegistry()

    @registry.tool
    def nothing() -> None:
        """Returns nothing."""

    assert await registry.call("nothing", "{}", CTX) == '{"result": null}'
    assert nothing() is None  # the decorator returns the function unchanged


def test_terse_docstring_and_optional_context() -> None:
    registry = ToolRegistry()

    @registry.tool
    def greet(name: str, context: ToolContext | None = None) -> str:
        """Greet someone.
        Args:
            name: Who to greet.
        """
        return f"hi {name}"

    [schema] = registry.schemas()
    assert schema["description"] == "Greet someone."
    assert schema["parameters"]["properties"] == {
        "name": {"type": "string", "description": "Who to greet."}}
