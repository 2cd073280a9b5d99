"""Comparing what was said with what was expected: word and character error rates."""

from __future__ import annotations

import re
from collections.abc import Sequence


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def _edits(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two sequences."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)]


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return float(bool(hyp))
    return _edits(ref, hyp) / len(ref)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate over the normalised words: forgiving of a recogniser's
    near-misses ("land" heard as "line") that cost a whole word in the WER."""
    ref, hyp = " ".join(words(reference)), " ".join(words(hypothesis))
    if not ref:
        return float(bool(hyp))
    return _edits(ref, hyp) / len(ref)
