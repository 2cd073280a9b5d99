"""Whisper speech-to-text on faster-whisper (CTranslate2), CPU int8.

Whisper's encoder always sees a 30 s window, so `transcribe()` costs the same
for a 2 s question as for 30 s of speech. For a spoken turn we encode only
the utterance plus a few seconds of real silence (CTranslate2 accepts the
shorter input, as whisper.cpp's `audio_ctx` does): ~4x faster on 2 cores at
the same word error rate on our prompt set. The shortened window makes the
decoder prone to start the utterance over at its end, so the output is capped
by the audio's length and a restarted tail is cut.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer

from vivavoce.audio.formats import SPEECH_RATE

# Silence after the utterance: with less the decoder repeats itself more often.
# 5 s measured as accurate as 10 s (and the full window) on 25 spoken prompts up to
# ~8 s long (WER 0.059 both) and ~30 ms faster a turn; 3 s made more errors (0.069).
PAD_S = 5.0
# Longer utterances take the ordinary 30 s path.
SHORT_WINDOW_MAX_S = 18.0
# Generous for speech (~3 words, ~4 tokens a second), tight enough to stop a runaway.
TOKENS_PER_S = 8
_PUNCT = re.compile(r"[^a-z0-9 ]")


class WhisperSTT:
    def __init__(self, model_path: str | Path, *, cpu_threads: int | None = None,
                 name: str = "whisper", short_window: bool = True) -> None:
        # CTranslate2 defaults to 4 threads, which oversubscribes small machines.
        threads = cpu_threads or min(4, os.cpu_count() or 1)
        self.name = name
        self.short_window = short_window
        # Always a local directory: a bare name like "tiny.en" would go to the hub.
        self._model = WhisperModel(str(model_path), device="cpu", compute_type="int8",
                                   cpu_threads=threads, local_files_only=True)
        self._english_only = not self._model.model.is_multilingual

    def transcribe(self, audio: np.ndarray, *, language: str | None = None,
                   prompt: str | None = None) -> str:
        if audio.size == 0:
            return ""
        audio = audio.astype(np.float32, copy=False)
        language = "en" if self._english_only else language
        if self.short_window and language and len(audio) <= SHORT_WINDOW_MAX_S * SPEECH_RATE:
            return self._short_window(audio, language, prompt)
        segments, _ = self._model.transcribe(
            audio,
            language=language,
            initial_prompt=prompt or None,
            beam_size=1,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,  # the caller's VAD already cut the utterance
        )
        return "".join(s.text for s in segments).strip()

    def _short_window(self, audio: np.ndarray, language: str, prompt: str | None) -> str:
        padded = np.concatenate([audio, np.zeros(int(PAD_S * SPEECH_RATE), np.float32)])
        mel = self._model.feature_extractor(padded, padding=0)
        mel = mel[:, : mel.shape[-1] // 2 * 2]  # the encoder's convolution halves it
        tokenizer = Tokenizer(self._model.hf_tokenizer, self._model.model.is_multilingual,
                              task="transcribe", language=language)
        prefix = [tokenizer.sot_prev, *tokenizer.encode(" " + prompt.strip())] if prompt else []
        start = [*prefix, *tokenizer.sot_sequence, tokenizer.no_timestamps]
        max_new = int(TOKENS_PER_S * len(audio) / SPEECH_RATE) + 10
        result = self._model.model.generate(
            self._model.encode(mel), [start], beam_size=1, max_length=len(start) + max_new,
            suppress_blank=True, suppress_tokens=[-1])
        tokens = [t for t in result[0].sequences_ids[0] if t < tokenizer.eot]
        return cut_restart(tokenizer.decode(tokens).strip())


def cut_restart(text: str) -> str:
    """Drop a tail that starts the utterance over after a sentence end.

    "What time is it? What time is" → "What time is it?"
    """
    plain = _PUNCT.sub("", text.lower())
    for end in re.finditer(r"[.!?]\s+", text):
        tail = _PUNCT.sub("", text[end.end():].lower()).strip()
        if tail and plain.startswith(tail):
            return text[: end.end()].strip()
    return text
