"""Cut a stream of LLM text into speakable chunks for TTS.

The first chunk ends early so speech can start: at the first clause break after
a few words, or before a word that opens a new phrase ("The capital of France | is
Paris."), or after a handful of words or characters at most. Later chunks end at sentence ends,
which sound more natural.
"""

from __future__ import annotations

import re

# Punctuation counts only when whitespace follows, so "3.5", "1,000" and "10:30"
# never cut, and a "." at the end of the buffer waits for the next delta.
_BREAK = re.compile(r"""[.!?]+["')\]]*(?=\s)|[,;:](?=\s)|\n""")
_MARKDOWN = re.compile(r"[*#`]")
_BULLET = re.compile(r"^\s*(?:[-•]|\d+[.)])\s+")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_ABBREVIATIONS = frozenset(
    ["mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "approx"]
)
# Words a spoken phrase often starts with: a pause before one sounds like a breath.
_PHRASE_OPENERS = frozenset([
    "is", "are", "was", "were", "will", "can", "could", "would", "should", "may", "might",
    "has", "have", "had", "because", "and", "but", "or", "so", "which", "that", "who", "where",
    "when", "if", "than", "to", "in", "on", "at", "for", "with", "from", "about", "by",
])
# Words in the buffer; the last may still be growing.
_WORD_SO_FAR = re.compile(r"\S+")


class ClauseSegmenter:
    def __init__(self, min_first_words: int = 3, max_first_words: int = 6,
                 max_first_chars: int = 32, max_chars: int = 200) -> None:
        self.min_first_words = min_first_words
        self.max_first_words = max_first_words
        # Numbers cost a token a digit: a long first chunk keeps everyone waiting.
        self.max_first_chars = max_first_chars
        self.max_chars = max_chars  # cut at a space if a run-on never punctuates
        self._buf = ""
        self._emitted = False

    def feed(self, delta: str) -> list[str]:
        """Add LLM text; return the chunks that are now complete."""
        self._buf += _MARKDOWN.sub("", delta)
        chunks = []
        while (cut := self._next_cut()) is not None:
            if chunk := self._take(cut):
                chunks.append(chunk)
        return chunks

    def flush(self) -> list[str]:
        """End of the LLM stream: whatever is left is the last chunk."""
        chunk = self._take(len(self._buf))
        return [chunk] if chunk else []

    def _next_cut(self) -> int | None:
        for m in _BREAK.finditer(self._buf):
            mark = m.group()
            if mark == "\n":
                return m.end()
            head = self._buf[: m.start()]
            if mark in ",;:":
                if not self._emitted and len(_WORD.findall(head)) >= self.min_first_words:
                    return m.end()
            elif not (mark.startswith(".") and _not_a_sentence_end(head)):
                return m.end()
        if not self._emitted:
            return self._first_phrase_cut()
        if len(self._buf) > self.max_chars:
            space = self._buf.rfind(" ", 0, self.max_chars)
            return space if space > 0 else self.max_chars
        return None

    def _first_phrase_cut(self) -> int | None:
        """Where an opening without punctuation yet can end: before a phrase opener, a
        number (written a token a digit) or a word past `max_first_chars` that follows
        at least `min_first_words` words, or after `max_first_words`.

        An opener counts as soon as it is seen, before it is known to be whole: the
        cut is before it, and a word boundary either way ("is" may become "island").
        """
        for index, word in enumerate(_WORD_SO_FAR.finditer(self._buf)):
            if index >= self.min_first_words and (word.group().lower() in _PHRASE_OPENERS
                                                  or word.group()[0].isdigit()
                                                  or word.end() > self.max_first_chars):
                return word.start()
            if index + 1 == self.max_first_words and word.end() < len(self._buf):
                return word.end()
        return None

    def _take(self, cut: int) -> str:
        text, self._buf = self._buf[:cut], self._buf[cut:]
        chunk = _SPACES.sub(" ", _BULLET.sub("", text)).strip()
        if not _WORD.search(chunk):
            return ""  # nothing speakable, e.g. a line of "---"
        self._emitted = True
        return chunk


def _not_a_sentence_end(head: str) -> bool:
    """True if the "." after `head` belongs to an abbreviation, initial or list number."""
    words = head.split()
    if not words:
        return True
    word = words[-1].lstrip("(\"'")
    return (
        word.lower() in _ABBREVIATIONS
        or "." in word  # e.g. i.e. U.S. a.m.
        or (len(word) == 1 and word.isupper() and word != "I")  # initials: J. R. Tolkien
        or (len(words) == 1 and word.isdigit())  # "1. " starting a list item
    )
