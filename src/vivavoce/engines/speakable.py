"""What an English voice can say, as a rule on characters and as a mask over a vocabulary.

The local LLM must not write what the voice cannot speak (Chinese characters,
emoji, markdown, code): the mask built here from the model's vocabulary takes
those tokens out of the sampler's choice, so they are never written, rather
than deleted from the text afterwards. Numbers stay: the TTS says them.

Byte-level BPE vocabularies hold pieces of characters too (the first two bytes
of a three-byte CJK character): a piece passes only if it can be part of a
character the voice can say.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Markdown and code: emphasis, headings, code fences, tables, links, markup.
MARKUP = frozenset("*#`_~|<>[]{}\\^=@")
# Beyond ASCII: accented Latin letters and the punctuation and symbols English text uses.
_EXTRA = frozenset("£¥¢°½¼¾‘’“”–—…€") | frozenset(
    chr(c) for c in range(0xC0, 0x250) if chr(c).isalpha())


def speakable_char(char: str) -> bool:
    if char.isascii():
        return char == " " or (char.isprintable() and char not in MARKUP)
    return char in _EXTRA


def unspeakable(text: str) -> str:
    """The characters of `text` the voice cannot say (empty if it can say it all)."""
    return "".join(dict.fromkeys(c for c in text if not speakable_char(c)))


def _encodings() -> list[bytes]:
    return [c.encode() for c in _EXTRA]


# Proper prefixes and suffixes of what the allowed characters encode to in UTF-8.
_PREFIXES = frozenset(e[:i] for e in _encodings() for i in range(1, len(e)))
_SUFFIXES = frozenset(e[i:] for e in _encodings() for i in range(1, len(e)))


def speakable_piece(piece: bytes) -> bool:
    """Whether a token's bytes can be part of speakable text."""
    start = 0
    while start < len(piece) and 0x80 <= piece[start] <= 0xBF:
        start += 1  # the end of a character an earlier token began
    if start and piece[:start] not in _SUFFIXES:
        return False
    rest = piece[start:]
    try:
        text = rest.decode()
    except UnicodeDecodeError as err:
        # Only a character still to be finished by the next token may be cut off.
        if err.reason != "unexpected end of data" or rest[err.start:] not in _PREFIXES:
            return False
        text = rest[:err.start].decode()
    return all(speakable_char(c) for c in text)


def unspeakable_tokens(pieces: Sequence[bytes]) -> np.ndarray:
    """Ids of the tokens (given as their bytes, in id order) that are not speakable."""
    return np.array([t for t, p in enumerate(pieces) if not speakable_piece(p)], dtype=np.intp)
