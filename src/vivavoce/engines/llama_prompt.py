"""The chat messages the local LLM reads: the conversation in its chat template's roles,
with the tools, their rule and the answer examples in the system message.

The system message is byte-identical from turn to turn so the KV cache keeps it; past
tool calls become the JSON the model would have written, tool results user turns.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .base import Message, ToolSchema
from .grounding import said_in, with_numerals

# For the 0.5B model the tools go before the persona and the rule after it. The tools
# are the same for every session of a server, so the KV cache keeps them; a client's
# own instructions (its session.update) then cost only their own tokens and the
# rule's to read, not the tools' again. The model needs the rule last, right before
# the user's turn: told only before the persona, it answers "the weather in Paris is
# sunny" instead of calling (7 of 20 calls).
_TOOLS = """# Tools
You can call these tools, described as JSON Schema:
{schemas}"""
_TOOLS_RULE = """To call a tool, reply with exactly one JSON object and nothing else:
{"name": "<tool name>", "arguments": {<arguments>}}
Call a tool only when you need it to answer. Otherwise answer from what you know, in plain \
spoken sentences, without mentioning the tools.
When a tool result arrives, use it to answer the user."""
# The 1.5B model, told only that shape, answers "To get the weather, reply with...":
# it calls reliably only with an example call per tool (which the 0.5B model parrots
# instead), and when a JSON opener is merely the likeliest first token rather than a
# majority. Its tools stay after the persona: ahead of it, with any rule after it,
# the model either talks about the tools to everyday questions ("To get the capital
# of Canada, use the JSON call") or stops calling them (11 of 20).
_TOOLS_WITH_EXAMPLES = """# Tools
You have these tools, described as JSON Schema:
{schemas}

You cannot know what the tools tell: when the user asks for it, reply with only the \
tool's JSON call and no words, like this:
{examples}
User: "How many people live in Tokyo?" → Tokyo has about fourteen million people.
For anything else, reply in plain spoken words, without naming the tools. When a tool \
result arrives, say it to the user in words."""
# Right one-sentence answers, at the end of the system message's first paragraph (the
# server's spoken style, ahead of the instructions: the KV cache keeps them for every
# session). They lift the 1.5B from 92 % to 96 % on benchmarks/answers.py (sums mostly:
# "one hundred minus thirty-five" was 75 without them). Ahead of that paragraph the
# 1.5B answers in words where it should call a tool (4 of 20 calls, 14 after it); the
# 0.5B, shown them, does so too (10 of 20, was 19).
# Live facts come from a tool, not from the model's memory (the 1.5B, shown examples):
# after the persona, ahead of the tools block.
_NO_LIVE_FACTS = ("You cannot know live facts, such as the weather, the time or the date, "
                  "except from a tool: without one for it, say you cannot check.")
_ANSWER_EXAMPLES = """Be accurate. Examples of good replies:
User: How many legs does an ant have? You: An ant has six legs.
User: What is forty minus twelve? You: Forty minus twelve is twenty-eight.
User: Can a whale breathe underwater? You: No, a whale has to come up for air.
User: In one word, what color is grass? You: Green."""

def prompt_messages(messages: list[Message], tools: dict[str, ToolSchema],
                     examples: bool = False) -> list[Message]:
    """Chat messages in the shape our in-prompt tool protocol expects.

    The system message is the persona plus the tool list, byte-identical from
    turn to turn so the KV cache keeps it. Past tool calls become the JSON the
    model would have written, tool results become user turns: every chat
    template understands those roles. Digits the user said one by one read as
    a number ("two one zero nine" as 2109), the way a tool wants them.
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
        elif role == "user":
            out.append({"role": role, "content": with_numerals(content)})
        else:
            out.append({"role": role, "content": content})
    if tools:
        schemas = "\n".join(
            json.dumps({k: fn[k] for k in ("name", "description", "parameters") if k in fn},
                       ensure_ascii=False)
            for fn in tools.values()
        )
        persona = [out.pop(0)["content"]] if out and out[0]["role"] == "system" else []
        if examples:
            examples_ = "\n".join(line for fn in tools.values() for line in _example_calls(fn))
            parts = [*persona, _NO_LIVE_FACTS,
                     _TOOLS_WITH_EXAMPLES.format(schemas=schemas, examples=examples_)]
        else:
            parts = [_TOOLS.format(schemas=schemas), *persona, _TOOLS_RULE]
        out.insert(0, {"role": "system", "content": "\n\n".join(parts)})
    if examples and out and out[0]["role"] == "system":
        style, gap, rest = out[0]["content"].partition("\n\n")
        out[0] = {"role": "system", "content": f"{style} {_ANSWER_EXAMPLES}{gap}{rest}"}
    return out


def _example_calls(tool: ToolSchema) -> list[str]:
    """Example calls of a tool, from its description: each request it quotes, with the
    arguments it holds among those its parameters quote ('like "Tokyo" or "Oslo"'):
    'User: "Do I need a coat in Oslo?" → {"name": "get_weather", "arguments": {"city":
    "Oslo"}}'. A description that quotes none makes one line of what it says the tool
    does, with each parameter's first quoted value."""
    properties = (tool.get("parameters") or {}).get("properties", {})
    quoted = {name: re.findall(r'"([^"]+)"', spec.get("description") or "")
              for name, spec in properties.items()}
    lines = []
    for said in quoted_requests(tool):
        arguments = {name: next(v for v in values if said_in(v, said))
                     for name, values in quoted.items() if any(said_in(v, said) for v in values)}
        lines.append(f'User: "{said}" → {_call_json(tool["name"], json.dumps(arguments))}')
    if lines:
        return lines
    arguments = {name: values[0] if values else f"<{name}>" for name, values in quoted.items()}
    what = (tool.get("description") or f"use {tool['name']}").strip().rstrip(".")
    call = json.dumps({"name": tool["name"], "arguments": arguments}, ensure_ascii=False)
    return [f"User wants to {what[:1].lower()}{what[1:]} → {call}"]


def _call_json(name: str, arguments: str) -> str:
    try:
        args: Any = json.loads(arguments or "{}")
    except ValueError:
        args = arguments
    return json.dumps({"name": name, "arguments": args}, ensure_ascii=False)


def quoted_requests(tool: ToolSchema) -> list[str]:
    """The requests a tool's description quotes, as in 'as asked in "What day is it?"'."""
    return re.findall(r'"([^"]+[?.!])"', tool.get("description") or "")


# Words a request may have beyond one a tool quotes and still be that request ("What
# day is it today?", "What day of the week is it?" for "What day is it?").
_ECHO_EXTRA_WORDS = 3


def echoes_a_request(said: str, tools: dict[str, ToolSchema]) -> bool:
    """Whether `said` is, give or take a few words, a request one of the tools quotes."""
    words = set(re.findall(r"[\w']+", said.lower()))
    for tool in tools.values():
        for request in quoted_requests(tool):
            asked = set(re.findall(r"[\w']+", request.lower()))
            if asked <= words and len(words - asked) <= _ECHO_EXTRA_WORDS:
                return True
    return False
