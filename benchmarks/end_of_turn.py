"""The end-of-turn model on the labelled utterance prefixes: precision, recall, cost.

    .venv/bin/python benchmarks/end_of_turn.py [--llm-model llm-0.5b]

Each row of benchmarks/data/end_of_turn.tsv is what a user has said so far (complete
or not yet), optionally after an assistant line. It is scored as a session scores it:
inside the default persona's prompt (tools included), whose prefix the KV cache holds.
Prints precision and recall of "the turn is over" at each threshold the turn
detector uses, and the cost of one call: alone, and what it adds to reading the
reply's prompt afterwards (the reply reuses what the call read).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from vivavoce.brains.cascade import Cascade
from vivavoce.brains.factory import build_llm
from vivavoce.engines.base import LLMRequest
from vivavoce.engines.llama_end_of_turn import LlamaEndOfTurn
from vivavoce.personas import get_persona
from vivavoce.session.end_of_turn import SCHEDULES
from vivavoce.settings import Settings
from vivavoce.tools import builtin
from vivavoce.types import ResponseRequest

DATA = Path(__file__).parent / "data" / "end_of_turn.tsv"


def load() -> list[tuple[bool, str, str]]:
    rows = []
    for line in DATA.read_text().splitlines():
        if line and not line.startswith("#"):
            label, text, before = [*line.split("\t"), ""][:3]
            rows.append((label == "complete", text, before))
    return rows


def context(before: str, settings: Settings) -> LLMRequest:
    """The prompt of the reply, up to the user's turn (as the cascade builds it)."""
    persona = get_persona(settings.persona)
    items = [{"type": "message", "role": "assistant",
              "content": [{"type": "output_text", "text": before}]}] if before else []
    return Cascade._llm_request(ResponseRequest(
        response_id="bench", instructions=persona.instructions, items=items,
        tools=builtin.registry.schemas(persona.tools)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm-model", default=None)
    args = parser.parse_args()
    settings = Settings(llm_model=args.llm_model)
    llm = build_llm(settings)
    eot = LlamaEndOfTurn(llm)
    rows = load()
    scores, labels, costs, added = [], [], [], []
    for complete, text, before in rows:
        ctx = context(before, settings)
        llm.prefill(ctx)  # the cache as a session has it: the conversation so far
        started = time.perf_counter()
        scores.append(eot.probability(text, ctx))
        costs.append(time.perf_counter() - started)
        labels.append(complete)
        if complete and len(added) < 40:
            # The reply to the same words, read after the call and on its own.
            reply = LLMRequest([*ctx.messages, {"role": "user", "content": text + "?"}],
                               ctx.tools)
            started = time.perf_counter()
            llm.prefill(reply)
            after = time.perf_counter() - started
            llm.prefill(ctx)
            started = time.perf_counter()
            llm.prefill(reply)
            alone = time.perf_counter() - started
            added.append(costs[-1] + after - alone)
    p, y = np.array(scores), np.array(labels)
    print(f"{llm.name}: {len(rows)} prefixes ({y.sum()} complete, {(~y).sum()} not yet)")
    for threshold in sorted({t for s in SCHEDULES.values() for _, t in s.steps} | {0.5}):
        said_over = p >= threshold
        hits = (said_over & y).sum()
        precision = hits / max(1, said_over.sum())
        print(f"  p >= {threshold:.2f}: precision {precision:.3f}  recall {hits / y.sum():.3f}")
    print(f"  cost per call: median {np.median(costs) * 1000:.0f} ms, "
          f"p95 {np.percentile(costs, 95) * 1000:.0f} ms (words new to the cache)")
    print(f"  added to the reply's prompt reading: median {np.median(added) * 1000:.0f} ms, "
          f"p95 {np.percentile(added, 95) * 1000:.0f} ms")
    # The worst misses: complete ones scored lowest, unfinished ones highest.
    for complete, text, score in sorted(zip(y, (r[1] for r in rows), p, strict=True),
                                        key=lambda r: r[2] if r[0] else 1 - r[2])[:8]:
        print(f"  hardest: {'complete' if complete else 'not yet '} {score:.3f}  {text}")


if __name__ == "__main__":
    main()
