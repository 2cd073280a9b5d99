"""Are the local LLM's answers right? Everyday spoken-assistant questions, checked.

    .venv/bin/python benchmarks/answers.py [--models llm-1.5b llm-0.5b]
        [--sampling 0:1.1 0.8:1.0] [--runs 1] [--verbose]

`--sampling T:P` is the server's `--llm-temperature T` (what a client asking the
protocol's default 0.8 gets) and `--llm-repeat-penalty P`. Each question is asked
as a fresh text turn with the default persona's prompt and tools, as the cascade
asks it (follow-ups carry the turn before them). Reports, per model and setting:
accuracy, answers the voice cannot say, answers over 40 words, mean words, and
time to first token (median, p95).
"""

from __future__ import annotations

import argparse
import re
import statistics
import threading
import time
from dataclasses import dataclass

from vivavoce.brains.cascade import SPOKEN_STYLE
from vivavoce.engines.base import LLMRequest, TextDelta, ToolCall
from vivavoce.engines.llama_llm import LlamaLLM, Sampling
from vivavoce.engines.speakable import unspeakable
from vivavoce.models.catalog import CATALOG
from vivavoce.models.locate import model_path
from vivavoce.personas import get_persona
from vivavoce.tools.builtin import registry

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _words(n: int) -> str:
    """A regex for `n` (< 10,000) in words: "one hundred (and )?forty[- ]four"."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "[- ]" + _ONES[n % 10])
    if n < 1000:
        rest = "" if n % 100 == 0 else " (and )?" + _words(n % 100)
        return f"(one |a )?hundred{rest}" if n // 100 == 1 else \
            f"{_ONES[n // 100]} hundred{rest}"
    rest = "" if n % 1000 == 0 else " (and )?" + _words(n % 1000)
    return f"(one |a )?thousand{rest}" if n // 1000 == 1 else f"{_ONES[n // 1000]} thousand{rest}"


def num(n: int) -> str:
    digits = f"{n:,}".replace(",", ",?")
    return rf"\b({digits}|{_words(n)})\b"


@dataclass
class Question:
    kind: str
    text: str
    accept: str  # a regex, case-insensitive, the answer must contain
    history: tuple[str, str] | None = None  # the turn before: user, assistant
    one_word: bool = False
    tools: bool = True  # asked with the persona's tools (else with none at all)


# Saying it cannot know: "I can't check", "I don't have access to", "I'm not able to"...
_CANNOT = r"\b(can(no|')t|unable|not able|don't (have|know)|do not (have|know)|no (way|access))\b"


def _q(kind: str, text: str, accept: str, **kw) -> Question:
    return Question(kind, text, accept, **kw)


QUESTIONS = [
    _q("fact", "What is the capital of France?", r"paris"),
    _q("fact", "What is the capital of Canada?", r"ottawa"),
    _q("fact", "What is the capital of Japan?", r"tokyo"),
    _q("fact", "How many legs does a spider have?", num(8)),
    _q("fact", "How many continents are there?", num(7)),
    _q("fact", "Which planet is called the red planet?", r"mars"),
    _q("fact", "What gas do plants take in from the air?", r"carbon dioxide|\bco2\b"),
    _q("fact", "Who wrote Romeo and Juliet?", r"shakespeare"),
    _q("fact", "What is the largest ocean on Earth?", r"pacific"),
    _q("fact", "At what temperature does water boil in Celsius?", num(100)),
    _q("fact", "What is the tallest mountain in the world?", r"everest"),
    _q("fact", "What is the chemical symbol for gold?", r"\bau\b|\ba[ -]u\b"),
    _q("fact", "What is the largest planet in our solar system?", r"jupiter"),
    _q("fact", "Which animal is known as the king of the jungle?", r"\blions?\b"),
    _q("fact", "What language do people speak in Brazil?", r"portuguese"),
    _q("fact", "How many players does a soccer team have on the field?", num(11)),
    _q("fact", "What color do you get when you mix blue and yellow?", r"green"),
    _q("fact", "Who painted the Mona Lisa?", r"leonardo|da vinci"),
    _q("fact", "At what temperature does water freeze in Fahrenheit?", num(32)),
    _q("fact", "What is the closest star to the Earth?", r"\bsun\b"),
    _q("math", "What is twelve times twelve?", num(144)),
    _q("math", "What is seven plus eight?", num(15)),
    _q("math", "What is one hundred minus thirty-five?", num(65)),
    _q("math", "What is half of fifty?", num(25)),
    _q("math", "What is nine times six?", num(54)),
    _q("math", "What is ten percent of two hundred?", num(20)),
    _q("math", "What is eighty-one divided by nine?", num(9)),
    _q("math", "What is three squared?", num(9)),
    _q("math", "If I have three apples and eat one, how many are left?", num(2)),
    _q("math", "What is double twenty-one?", num(42)),
    _q("units", "How many minutes are in an hour?", num(60)),
    _q("units", "How many centimeters are in a meter?", num(100)),
    _q("units", "How many grams are in a kilogram?", num(1000)),
    _q("units", "How many seconds are in a minute?", num(60)),
    _q("units", "How many hours are in a day?", num(24)),
    _q("units", "How many inches are in a foot?", num(12)),
    _q("units", "How many meters are in a kilometer?", num(1000)),
    _q("units", "How many ounces are in a pound?", num(16)),
    _q("units", "How many days are in a leap year?", num(366)),
    _q("dates", "How many days does February have in a leap year?", num(29)),
    _q("dates", "Which month comes after March?", r"april"),
    _q("dates", "What day comes after Friday?", r"saturday"),
    _q("dates", "How many months are in a year?", num(12)),
    _q("dates", "Which month is the shortest?", r"february"),
    _q("dates", "In which month is Christmas?", r"december"),
    _q("dates", "How many days are in April?", num(30)),
    _q("dates", "Which season comes after winter?", r"spring"),
    _q("sense", "Is the sun a star or a planet?", r"\bstar\b"),
    _q("sense", "What do bees make?", r"honey"),
    _q("sense", "Can penguins fly?", r"\bno\b|cannot|can't|can not|don't|do not|unable"),
    _q("sense", "What do you use to cut paper?", r"scissors"),
    _q("sense", "Is ice hot or cold?", r"\bcold\b"),
    _q("sense", "What should you do when a traffic light turns red?", r"\bstop"),
    _q("sense", "Where do fish live?", r"water|sea|ocean|river|lake"),
    _q("sense", "What do you wear on your feet?", r"shoes|socks|boots"),
    _q("sense", "Do plants need sunlight to grow?", r"\byes\b|need|do\b"),
    _q("advice", "Give me one tip for sleeping better.",
       r"bed|sleep|screen|caffeine|routine|dark|schedule|relax"),
    _q("advice", "How can I stay focused while studying?",
       r"break|distraction|phone|quiet|pomodoro|goal|focus|schedule"),
    _q("advice", "What's a healthy snack?",
       r"fruit|apple|banana|nuts|almond|yogurt|carrot|vegetable|berr"),
    _q("advice", "How do I stay cool on a hot day?",
       r"water|hydrat|shade|fan|drink|air condition|light"),
    _q("advice", "How can I calm down when I'm nervous?",
       r"breath|relax|meditat|walk|calm"),
    _q("advice", "What should I do if I cut my finger?",
       r"wash|clean|pressure|bandage|plaster|water"),
    _q("follow-up", "And of Portugal?", r"lisbon",
       history=("What's the capital of Spain?", "The capital of Spain is Madrid.")),
    _q("follow-up", "And a bird?", num(2),
       history=("How many legs does a dog have?", "A dog has four legs.")),
    _q("follow-up", "Now double it.", num(20),
       history=("What is five plus five?", "Five plus five is ten.")),
    _q("follow-up", "What's my name?", r"\bsam\b",
       history=("My name is Sam.", "Nice to meet you, Sam!")),
    _q("follow-up", "And which planet comes after it?", r"venus",
       history=("Which planet is closest to the sun?", "That's Mercury.")),
    _q("follow-up", "In which country was he born?", r"england|britain|united kingdom|\buk\b",
       history=("Who wrote Hamlet?", "William Shakespeare wrote Hamlet.")),
    _q("follow-up", "So how many pets do I have?", num(3),
       history=("I have two cats and a dog.", "That sounds like a lively home!")),
    _q("follow-up", "And the second largest?", r"atlantic",
       history=("What's the largest ocean?", "The Pacific Ocean is the largest.")),
    _q("one word", "Answer in one word: what color is the sky on a clear day?", r"blue",
       one_word=True),
    _q("one word", "In one word, what is the opposite of hot?", r"cold", one_word=True),
    _q("one word", "Answer with one word: what animal says moo?", r"\bcows?\b", one_word=True),
    _q("one word", "One word only: what is frozen water called?", r"\bice\b", one_word=True),
    _q("one word", "Reply in one word: which is bigger, an elephant or a mouse?",
       r"elephant", one_word=True),
    _q("one word", "Just one word: what is the capital of Germany?", r"berlin", one_word=True),
    # Without a tool that could know, it must not make the answer up.
    *(_q("no tool", text, _CANNOT, tools=False) for text in (
        "Is it raining in London today?", "What's the weather like in Paris right now?",
        "What time is it in Tokyo?", "What day of the week is it today?",
        "How warm is it outside at the moment?", "What's today's date?")),
]


@dataclass
class Answer:
    question: Question
    text: str  # what would be spoken
    ttft_s: float | None
    calls: tuple[str, ...] = ()  # tools it called instead (never an answer here)

    @property
    def shown(self) -> str:
        return " ".join([self.text, *(f"[calls {name}]" for name in self.calls)]).strip()

    @property
    def words(self) -> int:
        return len(re.findall(r"[\w'-]+", self.text))

    @property
    def right(self) -> bool:
        if self.calls or not re.search(self.question.accept, self.text, re.IGNORECASE):
            return False
        return not self.question.one_word or self.words == 1


def ask(llm: LlamaLLM, instructions: str, question: Question) -> Answer:
    persona = get_persona("assistant")
    messages = [{"role": "system", "content": instructions}]
    if question.history:
        messages += [{"role": "user", "content": question.history[0]},
                     {"role": "assistant", "content": question.history[1]}]
    messages.append({"role": "user", "content": question.text})
    tools = registry.schemas(persona.tools) if question.tools else []
    request = LLMRequest(messages, tools=tools, max_tokens=120)
    started = time.monotonic()
    text, ttft, calls = "", None, []
    for chunk in llm.stream(request, threading.Event()):
        if isinstance(chunk, TextDelta | ToolCall) and ttft is None:
            ttft = time.monotonic() - started
        if isinstance(chunk, TextDelta):
            text += chunk.text
        elif isinstance(chunk, ToolCall):
            calls.append(chunk.name)
    return Answer(question, text.strip(), ttft, tuple(calls))


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def run(llm: LlamaLLM, runs: int, verbose: bool) -> dict[str, float]:
    persona = get_persona("assistant")
    instructions = SPOKEN_STYLE + "\n\n" + persona.instructions
    # Kept read, as a server keeps its own prompt from the start (factory.warm_up).
    llm.keep(LLMRequest([{"role": "system", "content": instructions}],
                        tools=registry.schemas(persona.tools)))
    answers = []
    for question in [q for _ in range(runs) for q in QUESTIONS]:
        a = ask(llm, instructions, question)
        answers.append(a)
        if verbose or not a.right or unspeakable(a.text) or a.words > 40:
            mark = "ok " if a.right else "BAD"
            print(f"  {mark} [{a.question.kind}] {a.question.text!r} -> {a.shown!r}", flush=True)
    ttfts = [a.ttft_s for a in answers if a.ttft_s is not None]
    return {
        "accuracy": sum(a.right for a in answers) / len(answers),
        "unspeakable": sum(bool(unspeakable(a.text)) for a in answers),
        "over_40_words": sum(a.words > 40 for a in answers),
        "mean_words": statistics.mean(a.words for a in answers),
        "ttft_median_ms": 1000 * statistics.median(ttfts),
        "ttft_p95_ms": 1000 * _p95(ttfts),
        "answers": len(answers),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["llm-1.5b", "llm-0.5b"])
    parser.add_argument("--sampling", nargs="+", default=["0:1.1", "0.8:1.0"],
                        help="T:P = --llm-temperature T --llm-repeat-penalty P")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="print every answer")
    args = parser.parse_args()
    rows = []
    for name in args.models:
        llm = LlamaLLM(model_path(name), n_threads=2, name=name,
                       examples=CATALOG[name].examples)
        for setting in args.sampling:
            temperature, penalty = (float(x) for x in setting.split(":"))
            llm.sampling = Sampling(temperature=temperature, repeat_penalty=penalty)
            print(f"{name}, temperature {temperature}, repeat penalty {penalty}:", flush=True)
            started = time.monotonic()
            result = run(llm, args.runs, args.verbose)
            rows.append(_row(name, setting, result))
            print(f"  {rows[-1]}  ({time.monotonic() - started:.0f} s)", flush=True)
    print(f"\n{len(QUESTIONS)} questions x {args.runs} run(s)\n")
    print("| model | temperature : repeat penalty | right | unspeakable | over 40 words "
          "| mean words | first token median / p95 |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def _row(name: str, setting: str, r: dict[str, float]) -> str:
    return (f"| {name} | {setting} | {r['accuracy']:.0%} | {r['unspeakable']} "
            f"| {r['over_40_words']} | {r['mean_words']:.1f} "
            f"| {r['ttft_median_ms']:.0f} / {r['ttft_p95_ms']:.0f} ms |")


if __name__ == "__main__":
    main()
