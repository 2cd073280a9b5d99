"""Piper (VITS) text-to-speech: one int16 chunk per sentence at the voice's rate.

Numbers espeak-ng misreads ("$5", "21°C", "5 km") are first put as people say them.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
from piper import PiperVoice, SynthesisConfig
from piper.config import PiperConfig

from .spoken_form import spoken


class PiperTTS:
    def __init__(self, model_path: str | Path, *, voice: str = "joe",
                 threads: int | None = None, name: str = "piper", noise: bool = True) -> None:
        """`model_path` is the voice's .onnx; its config is `<model_path>.json`.

        `noise=False` turns off VITS's sampling noise (timbre and phoneme durations): the
        same text then always gives the same audio, a little flatter, which tests need.
        """
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or 0  # 0: onnxruntime's default, all cores
        # TTS runs while the LLM generates: idle workers must not spin on its cores.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        config = json.loads(Path(f"{model_path}.json").read_text(encoding="utf-8"))
        # Built by hand rather than PiperVoice.load() to control the thread count.
        self._voice = PiperVoice(
            session=ort.InferenceSession(str(model_path), sess_options=opts,
                                         providers=["CPUExecutionProvider"]),
            config=PiperConfig.from_dict(config),
        )
        self.name = name
        self.sample_rate: int = self._voice.config.sample_rate
        self.voices = [voice]
        self.default_voice = voice
        self._config = SynthesisConfig() if noise else \
            SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        self._length_scale = self._voice.config.length_scale

    def synthesize(self, text: str, voice: str | None, cancel: threading.Event,
                   speed: float = 1.0) -> Iterator[np.ndarray]:
        if voice not in (None, *self.voices):
            raise ValueError(f"unknown voice {voice!r}; available: {', '.join(self.voices)}")
        if cancel.is_set() or not text.strip():
            return
        # Piper stretches phonemes: a longer length scale is slower speech, same pitch.
        config = dataclasses.replace(self._config, length_scale=self._length_scale / speed)
        for chunk in self._voice.synthesize(spoken(text), config):
            yield chunk.audio_int16_array
            if cancel.is_set():
                return
