"""A server under measurement: `python -m vivavoce serve` in a process of its own on a
loopback port (so its memory is its own), and how much memory it holds."""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx


@dataclass
class Spawned:
    url: str  # ws://127.0.0.1:PORT
    pid: int


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def spawned(*flags: str, ready_s: float = 600.0) -> Iterator[Spawned]:
    """`python -m vivavoce serve` with `flags` on a free loopback port, until the block ends."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "vivavoce", "serve", "--host",
                                "127.0.0.1", "--port", str(port), "--log-level", "warning",
                                *flags], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.5)
        yield Spawned(f"ws://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """`--url`/`--pid` for a running server, or flags for one to spawn."""
    parser.add_argument("--url", help="a running server (default: spawn one)")
    parser.add_argument("--pid", type=int, help="the running server's process id, for RSS")
    parser.add_argument("serve_flags", nargs="*", help="flags for the spawned server")


@contextlib.contextmanager
def target(args: argparse.Namespace) -> Iterator[tuple[str, int | None]]:
    """(url, pid) of the server `add_target_arguments` named: the running one (pid None
    unless given: no RSS then), or one spawned for the block."""
    if args.url:
        yield args.url, args.pid
        return
    with spawned(*args.serve_flags) as server:
        yield server.url, server.pid
