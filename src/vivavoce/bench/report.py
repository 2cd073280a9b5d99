"""Bench results: medians and p95s, a printed table, JSON, and a waterfall chart."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vivavoce.bench.user import Turn

# Stages of a turn on the server, each the time between two of its moments. The
# silence window runs beside the rest: STT and the response may start inside it
# (at the first pause), their first audio then held until the turn ends.
HOPS = [
    ("silence window", "speech_end", "speech_stopped"),
    ("until STT starts", "speech_end", "stt_start"),
    ("STT", "stt_start", "stt_done"),
    ("LLM first token", "stt_done", "llm_first_token"),
    ("first clause", "llm_first_token", "first_clause"),
    ("TTS first chunk", "first_clause", "audio_ready"),
    ("held, then sent", "audio_ready", "first_audio"),
]
SCHEMA_VERSION = 2


def stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "median": None, "p95": None, "min": None, "max": None}
    array = np.asarray(values, dtype=float)
    return {"n": len(values), "median": round(float(np.median(array)), 4),
            "p95": round(float(np.percentile(array, 95)), 4),
            "min": round(float(array.min()), 4), "max": round(float(array.max()), 4)}


def hop_values(turns: list[Turn]) -> dict[str, tuple[list[float], list[float]]]:
    """Per stage: when it started (after the end of speech) and how long it took."""
    hops: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name, _, _ in HOPS}
    for turn in turns:
        for name, start, end in HOPS:
            if start in turn.spans and end in turn.spans:
                hops[name][0].append(turn.spans[start])
                hops[name][1].append(turn.spans[end] - turn.spans[start])
    return hops


def _stage(starts: list[float], durations: list[float]) -> dict[str, float | int | None]:
    start = stats(starts)["median"]
    return {**stats(durations), "start_median": start}


def summarize(turns: list[Turn], config: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "config": config,
        "ttfa_s": stats([t.ttfa_s for t in turns if t.ttfa_s is not None]),
        "ttfa_paused_s": stats([t.ttfa_s for t in turns if t.ttfa_s is not None and t.paused]),
        "cut_ins": sum(t.cut_in for t in turns),
        "barge_in_s": stats([t.barge_in_s for t in turns if t.barge_in_s is not None]),
        "server_first_audio_s": stats([t.spans["first_audio"] for t in turns
                                       if "first_audio" in t.spans]),
        "stages": {name: _stage(*values) for name, values in hop_values(turns).items()},
        "turns": [asdict(t) for t in turns],
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:7.0f}"


def table(summary: dict[str, Any]) -> str:
    rows = [("time to first audio (client)", summary["ttfa_s"])]
    if summary["ttfa_paused_s"]["n"]:
        rows.append(("  prompts with pauses", summary["ttfa_paused_s"]))
    rows.append(("first audio sent (server)", summary["server_first_audio_s"]))
    rows += [(f"  {name}", s) for name, s in summary["stages"].items()]
    if summary["barge_in_s"]["n"]:
        # A phone call is cut by Twilio's `clear`; other calls by their last audio.
        phone = summary["config"].get("transport") == "twilio"
        rows.append((f"barge-in: speech → {'clear' if phone else 'last audio'}",
                     summary["barge_in_s"]))
    lines = [f"{'ms':32} {'median':>7} {'p95':>7} {'min':>7} {'max':>7} {'n':>4}"]
    for label, s in rows:
        lines.append(f"{label:32} {_fmt(s['median'])} {_fmt(s['p95'])} {_fmt(s['min'])} "
                     f"{_fmt(s['max'])} {s['n']:4}")
    turns = len(summary["turns"])
    lines.append(f"cut-ins (an answer before the user finished): {summary['cut_ins']} of {turns}")
    return "\n".join(lines)


def write(summary: dict[str, Any], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "bench.json"
    json_path.write_text(json.dumps(summary, indent=2))
    chart_path = out / "waterfall.png"
    waterfall(summary, chart_path)
    return json_path, chart_path


def waterfall(summary: dict[str, Any], path: Path) -> None:
    """Where the time goes: each stage's median duration, from its median start."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = [(name, s["start_median"] or 0.0, s["median"] or 0.0, s["p95"] or 0.0)
              for name, s in summary["stages"].items()]
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(stages) + 1.8))
    colors = plt.cm.viridis(np.linspace(0.15, 0.85, len(stages)))
    for row, ((_, start, median, p95), color) in enumerate(zip(stages, colors, strict=True)):
        ax.barh(row, median * 1000, left=start * 1000, color=color)
        ax.text((start + median) * 1000 + 10, row,
                f"{median * 1000:.0f} ms (p95 {p95 * 1000:.0f})", va="center", fontsize=8)
    ttfa = summary["ttfa_s"]["median"]
    if ttfa is not None:
        ax.axvline(ttfa * 1000, color="crimson", linestyle="--",
                   label=f"client TTFA median {ttfa * 1000:.0f} ms")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(range(len(stages)), [s[0] for s in stages])
    ax.invert_yaxis()
    ax.set_xlabel("ms after the end of the user's speech")
    ax.set_title("vivavoce: where the time to first audio goes (medians)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
