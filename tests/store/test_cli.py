"""`vivavoce sessions list | export | delete` on a real SQLite data directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.store.test_store import message, record, save
from vivavoce.store import UsageRecord, store_for
from vivavoce.store.sync import SavedItems

VIVAVOCE = str(Path(sys.executable).parent / "vivavoce")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([VIVAVOCE, "sessions", *args], capture_output=True, text=True,
                          timeout=60)


async def test_list_export_and_delete_from_the_shell(tmp_path):
    store = store_for(data_dir=str(tmp_path))
    await store.open()
    items = [message("i1", "My name is Ada."), message("i2", "Hello Ada.", "assistant")]
    await save(store, items, record("sess_cli"), SavedItems(), create=True,
               usage=[UsageRecord("resp_1", "completed", {"input_tokens": 9,
                                                          "output_tokens": 4})])
    await store.close()
    where = ["--data-dir", str(tmp_path)]

    listed = cli("list", *where)
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == ["sess_cli"]
    exported = json.loads(cli("export", "sess_cli", *where).stdout)
    assert exported["items"] == items
    assert exported["config"] == {"instructions": "Be brief."}
    assert exported["usage"]["total_tokens"] == 13
    assert exported["responses"][0]["response_id"] == "resp_1"
    assert cli("delete", "sess_cli", *where).returncode == 0
    missing = cli("export", "sess_cli", *where)
    assert missing.returncode == 1 and "no session sess_cli" in missing.stderr
