"""A private network namespace for the WebRTC tests (root only; `ip` from iproute2).

ICE offers no loopback candidates (aioice skips 127.0.0.1, Chromium skips loopback
interfaces), so a call needs an interface with an address. The test makes its own: a
namespace with `lo` up and a veth pair carrying a test address. Nothing in it can reach
the machine's own interfaces or beyond; the namespace is deleted when the tests end.

Network namespaces are per thread: `entered()` moves the calling thread in and back
out; threads it starts meanwhile (a server's) stay in. Chromium enters through a
wrapper script (`nsenter`), since Playwright starts it from its own process.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNET = 0x40000000
ADDRESS = "10.213.7.1"
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


@dataclass
class NetNamespace:
    name: str
    address: str

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    @contextlib.contextmanager
    def entered(self) -> Iterator[NetNamespace]:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(self.path)
            try:
                yield self
            finally:
                if _libc.setns(home, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "could not leave the test namespace")
        finally:
            os.close(home)

    def wrap(self, executable: str, directory: Path) -> Path:
        """A script that runs `executable` inside the namespace."""
        script = directory / f"{Path(executable).name}-in-{self.name}"
        script.write_text(f'#!/bin/sh\nexec nsenter --net={self.path} {executable} "$@"\n')
        script.chmod(0o755)
        return script

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], check=False)


def create_namespace(address: str = ADDRESS) -> NetNamespace:
    ns = NetNamespace(f"vivavoce-test-{os.getpid()}", address)
    ip = ["ip", "-n", ns.name]
    steps = [["ip", "netns", "add", ns.name], [*ip, "link", "set", "lo", "up"],
             [*ip, "link", "add", "vv0", "type", "veth", "peer", "name", "vv1"],
             [*ip, "addr", "add", f"{address}/24", "dev", "vv0"],
             [*ip, "link", "set", "vv0", "up"], [*ip, "link", "set", "vv1", "up"]]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        ns.delete()
        raise RuntimeError(f"could not make the test's network namespace ({' '.join(exc.cmd)}):"
                           f" {exc.stderr.strip()} (the WebRTC tests need root)") from None
    return ns
