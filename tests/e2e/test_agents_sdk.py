"""The OpenAI Agents SDK's realtime runner, pointed at vivavoce, completes a tool round-trip.

The SDK is the client: it declares the agent's function tool in its session.update, sees
the model's function_call, runs the Python function itself, sends the function_call_output
and asks for the answer. Nothing here speaks the protocol by hand.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner

ROUND_TRIP_TIMEOUT_S = 300


async def test_realtime_runner_calls_a_client_tool_and_answers_with_its_result(server):
    ran: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city.

        Args:
            city: The city, e.g. "Paris".
        """
        ran.append(city)
        # A reading no model would guess, so the answer can only come from here.
        return f"In {city} it is 31 degrees Celsius and sunny."

    agent = RealtimeAgent(
        name="Viva",
        instructions="You are a helpful voice assistant. Use get_weather for the weather; "
                     "never guess it.",
        tools=[get_weather],
    )
    runner = RealtimeRunner(agent)
    session = await runner.run(model_config={
        "url": f"{server.ws}/v1/realtime",
        "api_key": "local",  # the server has no key; the SDK insists on sending one
        "initial_model_settings": {
            "model_name": "vivavoce-local",
            # Text answers keep the test quick; the tool path is the same as for speech.
            "output_modalities": ["text"],
            "turn_detection": None,
        },
    })

    server_events: list[dict[str, Any]] = []
    tool_ends: list[Any] = []
    sdk_errors: list[Any] = []

    async def play() -> dict[str, Any]:
        """Events until the answer that follows the tool's output; that response.done."""
        tool_output_sent = False
        async for event in session:
            if event.type == "raw_model_event" and event.data.type == "raw_server_event":
                raw = event.data.data
                server_events.append(raw)
                if raw["type"] == "conversation.item.added" \
                        and raw["item"]["type"] == "function_call_output":
                    tool_output_sent = True
                if raw["type"] == "response.done" and tool_output_sent:
                    return raw["response"]
            elif event.type == "tool_end":
                tool_ends.append(event)
            elif event.type == "error":
                sdk_errors.append(event.error)
        raise AssertionError("the session ended before the answer")

    async with session:
        await session.send_message("What's the weather in Paris?")
        async with asyncio.timeout(ROUND_TRIP_TIMEOUT_S):
            answer = await play()

    errors = [e for e in server_events if e["type"] == "error"]
    assert not errors, errors  # every event the SDK sent was accepted
    assert not sdk_errors, sdk_errors  # and every event it received was valid to it

    # The SDK ran our function, with the model's argument...
    assert [c.lower() for c in ran] == ["paris"], ran
    assert [e.tool.name for e in tool_ends] == ["get_weather"]
    assert "31 degrees" in tool_ends[0].output

    # ...the call was the model's, and its output went back under the same call_id...
    call = next(e["item"] for e in server_events if e["type"] == "response.output_item.done"
                and e["item"]["type"] == "function_call")
    assert call["name"] == "get_weather"
    outputs = [e["item"] for e in server_events if e["type"] == "conversation.item.added"
               and e["item"]["type"] == "function_call_output"]
    # Exactly one output, the SDK's: the server has a built-in get_weather of its own, and
    # a tool the client declares must shadow it, not be run a second time by the server.
    assert len(outputs) == 1, outputs
    (output,) = outputs
    assert output["call_id"] == call["call_id"]
    assert "31 degrees" in output["output"]

    # ...and the final answer uses the result.
    assert answer["status"] == "completed", answer
    text = " ".join(part.get("text") or part.get("transcript") or ""
                    for item in answer["output"] if item["type"] == "message"
                    for part in item["content"])
    assert "31" in text or "sunny" in text.lower(), text
