"""Tool-call reliability of the local LLM: success rate and false-call rate.

    .venv/bin/python benchmarks/tool_calls.py [--model llm-1.5b] [--temperature 0.8] [--runs 1]

Prompts that need a tool must produce the right call with the right
argument; prompts that don't must produce speech, not a call. The persona
and tools are the default persona's.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

from vivavoce.brains.cascade import SPOKEN_STYLE
from vivavoce.brains.factory import build_llm
from vivavoce.engines.base import LLMRequest, TextDelta, ToolCall
from vivavoce.personas import get_persona
from vivavoce.settings import Settings
from vivavoce.tools.builtin import registry

NEEDS_TOOL = [
    ("What's the weather in Paris?", "get_weather", "paris"),
    ("What is the weather like in Tokyo today?", "get_weather", "tokyo"),
    ("Is it raining in London?", "get_weather", "london"),
    ("How hot is it in Cairo right now?", "get_weather", "cairo"),
    ("Tell me the temperature in Berlin.", "get_weather", "berlin"),
    ("Do I need an umbrella in Seattle?", "get_weather", "seattle"),
    ("What's the forecast for Sydney?", "get_weather", "sydney"),
    ("How cold is it in Moscow?", "get_weather", "moscow"),
    ("Weather in Rome please.", "get_weather", "rome"),
    ("Is it sunny in Madrid?", "get_weather", "madrid"),
    ("What time is it in Tokyo?", "get_time", "tokyo"),
    ("What's the time in New York?", "get_time", "new"),
    ("Can you tell me the current time in London?", "get_time", "london"),
    ("What time is it?", "get_time", ""),
    ("What's the date today?", "get_time", ""),
    ("What time is it in Sydney right now?", "get_time", "sydney"),
    ("Tell me the time in Paris.", "get_time", "paris"),
    ("What day of the week is it?", "get_time", ""),
    ("How late is it in Los Angeles?", "get_time", "los"),
    ("What is the local time in Berlin?", "get_time", "berlin"),
]
NO_TOOL = [
    "Say hello.", "Tell me a joke.", "How far away is the moon?",
    "What is the capital of France?", "What's your name?", "How are you today?",
    "Give me one tip for sleeping better.", "Why is the sky blue?",
    "What is two plus two?", "Recommend a good book.", "Thank you, that's all.",
    "Can you say something encouraging?", "What is photosynthesis?",
    "How many legs does a spider have?", "Who wrote Romeo and Juliet?",
    "What should I cook for dinner?", "Explain what a black hole is.",
    "Say goodbye.", "What is the boiling point of water?", "Tell me a fun fact about cats.",
]


def ask(llm, persona, text: str, temperature: float) -> tuple[list[ToolCall], str]:
    instructions = SPOKEN_STYLE + "\n\n" + persona.instructions
    request = LLMRequest(messages=[{"role": "system", "content": instructions},
                                   {"role": "user", "content": text}],
                         tools=registry.schemas(persona.tools), temperature=temperature,
                         max_tokens=60)
    calls, speech = [], ""
    for chunk in llm.stream(request, threading.Event()):
        if isinstance(chunk, ToolCall):
            calls.append(chunk)
        elif isinstance(chunk, TextDelta):
            speech += chunk.text
    return calls, speech


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--model", help="a local LLM of the catalog (default: the default)")
    args = parser.parse_args()
    llm = build_llm(Settings(llm_model=args.model))
    persona = get_persona("assistant")
    ok = needs = false_calls = silent = plain = 0
    started = time.monotonic()
    for _ in range(args.runs):
        for text, tool, arg in NEEDS_TOOL:
            needs += 1
            calls, speech = ask(llm, persona, text, args.temperature)
            good = any(c.name == tool and arg in json.dumps(json.loads(c.arguments)).lower()
                       for c in calls)
            ok += good
            if not good:
                print(f"  miss: {text!r} -> {[(c.name, c.arguments) for c in calls]} "
                      f"{speech[:60]!r}")
        for text in NO_TOOL:
            plain += 1
            calls, speech = ask(llm, persona, text, args.temperature)
            false_calls += bool(calls)
            silent += not calls and not speech.strip()
            if calls or not speech.strip():
                print(f"  false: {text!r} -> {[(c.name, c.arguments) for c in calls]} "
                      f"{speech[:60]!r}")
    print(f"tool prompts: {ok}/{needs} correct calls ({ok / needs:.0%})")
    print(f"no-tool prompts: {false_calls}/{plain} false calls ({false_calls / plain:.0%}), "
          f"{silent} with no speech at all")
    print(f"{time.monotonic() - started:.0f} s, {llm.name}, client temperature "
          f"{args.temperature}")


if __name__ == "__main__":
    main()
