"""`vivavoce bench` against a live server: its JSON schema and its chart."""

from __future__ import annotations

import argparse
import json

from vivavoce.bench.report import HOPS, SCHEMA_VERSION
from vivavoce.bench.run import add_arguments, bench


def test_bench_writes_schema_and_chart(server, tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--url", server.ws, "--prompts", "2", "--barge-in",
                              "--idle-mics", "3", "--out", str(tmp_path)])
    bench(args)
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["schema"] == SCHEMA_VERSION
    assert data["config"]["barge_in"] is True
    # Three open microphones streamed a quiet room meanwhile, and none was dropped.
    assert data["config"]["idle_mics"] == 3 and data["sessions_dropped"] == 0
    for key in ("ttfa_s", "barge_in_s", "server_first_audio_s"):
        assert set(data[key]) == {"n", "median", "p95", "min", "max"}
    assert data["ttfa_s"]["n"] == 2
    assert data["ttfa_s"]["median"] > 0  # how fast is the bench's to say, not the test's
    assert data["barge_in_s"]["n"] == 2
    assert set(data["stages"]) == {name for name, _, _ in HOPS}
    for stage in data["stages"].values():
        assert set(stage) == {"n", "median", "p95", "min", "max", "start_median"}
    assert len(data["turns"]) == 2
    for turn in data["turns"]:
        # Interrupted, unless the whole answer was out before the user spoke.
        assert turn["status"] in ("cancelled", "completed")
        assert turn["spans"]["first_audio"] > 0
    png = (tmp_path / "waterfall.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
