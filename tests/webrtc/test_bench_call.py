"""`vivavoce bench --transport webrtc` against a live server, inside the test's namespace:
an aiortc caller times first audio and barge-in on the incoming track."""

from __future__ import annotations

import argparse
import json
import threading

from vivavoce.bench.run import add_arguments, bench


def test_the_bench_calls_over_webrtc(serve, cascade, vad_engine, tmp_path):
    live = serve(brain=cascade, vad=vad_engine)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--url", live.ws, "--transport", "webrtc", "--prompts", "2",
                              "--barge-in", "--out", str(tmp_path)])
    # Its own event loop, on a thread of its own (started here: inside the namespace).
    runs = threading.Thread(target=bench, args=(args,))
    runs.start()
    runs.join(300)
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["config"]["transport"] == "webrtc"
    assert data["ttfa_s"]["n"] == 2 and data["ttfa_s"]["median"] > 0
    assert data["barge_in_s"]["n"] == 2
    for turn in data["turns"]:
        assert turn["heard"].strip()  # the server transcribed what the caller said
        assert turn["status"] in ("cancelled", "completed")
        # Server-side spans of a WebRTC turn: the first frame played on the call.
        assert 0 < turn["spans"]["first_audio"] <= turn["spans"]["first_played"]
