"""What the user heard of an assistant answer cut off at a given sample (the session
truncating an item, and the conversation log following it)."""

from __future__ import annotations


def heard_text(segments: list[tuple[int, int, str]], cut: int) -> str:
    """Segments are (start_sample, end_sample, text) in order.

    Whole segments before the cut are kept; the one the cut falls in keeps the
    share of its words that matches the share of its audio played.
    """
    heard: list[str] = []
    for start, end, text in segments:
        if end <= cut:
            heard.append(text)
        elif start < cut:
            lead = text[: len(text) - len(text.lstrip())]
            words = text.split()
            keep = round(len(words) * (cut - start) / max(1, end - start))
            heard.append(lead + " ".join(words[:keep]))
            break
        else:
            break
    return "".join(heard).rstrip()
