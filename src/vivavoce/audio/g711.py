"""G.711 μ-law and A-law (ITU-T G.711) for `audio/pcmu` and `audio/pcma`.

Table-driven: decoding is a 256-entry lookup, encoding a 65536-entry lookup
indexed by the int16 sample, so both are one numpy take per chunk.
"""

from __future__ import annotations

import numpy as np


def _ulaw_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    return np.where(sign, magnitude, -magnitude).astype(np.int16)


def _encode_table(decode: np.ndarray) -> np.ndarray:
    # Nearest code for every int16 value: sort the 256 decoded levels and pick
    # the closest one, which is exactly what the segment arithmetic computes.
    order = np.argsort(decode, kind="stable")
    levels = decode[order].astype(np.int32)
    samples = np.arange(-32768, 32768, dtype=np.int32)
    idx = np.clip(np.searchsorted(levels, samples), 1, 255)
    lower, upper = levels[idx - 1], levels[idx]
    pick = np.where(samples - lower <= upper - samples, idx - 1, idx)
    return order[pick].astype(np.uint8)


_ULAW_DECODE = _ulaw_decode_table()
_ALAW_DECODE = _alaw_decode_table()
_ULAW_ENCODE = _encode_table(_ULAW_DECODE)
_ALAW_ENCODE = _encode_table(_ALAW_DECODE)


def ulaw_decode(data: bytes) -> np.ndarray:
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes) -> np.ndarray:
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def ulaw_encode(pcm: np.ndarray) -> bytes:
    return _ULAW_ENCODE[pcm.astype(np.int32) + 32768].tobytes()


def alaw_encode(pcm: np.ndarray) -> bytes:
    return _ALAW_ENCODE[pcm.astype(np.int32) + 32768].tobytes()
