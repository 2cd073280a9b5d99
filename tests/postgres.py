"""A real PostgreSQL server for the tests: Debian's `postgresql` binaries, a cluster in
a temporary directory, listening on loopback only, stopped when the tests end.

initdb and postgres refuse to run as root: as root they run as the package's
`postgres` user, on a directory it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.helpers import free_port

USER = "vivavoce"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: install Debian's postgresql package "
                           "(bash scripts/install.sh test does)")
    return path


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PostgresServer:
    def __init__(self, fsync: bool = False) -> None:
        # fsync off by default: the tests kill vivavoce, never the database's machine.
        self.fsync = fsync
        self.dir = Path(tempfile.mkdtemp(prefix="vivavoce-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(_as_owner([_bin("initdb"), "-D", str(self.data), "-A", "trust",
                                  "-U", USER, "--no-sync"]), check=True, capture_output=True)

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_owner([_bin("pg_ctl"), "-D", str(self.data), *args]),
                       check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._ctl("-o", f"-k {self.dir} -c listen_addresses=127.0.0.1 -p {self.port} "
                  f"-c fsync={'on' if self.fsync else 'off'}",
                  "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
