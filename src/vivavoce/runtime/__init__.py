"""The I/O half of a session: one runner connects any transport to a session and
whatever answers it (a local brain or a relay)."""

from vivavoce.runtime.runner import Runner
from vivavoce.runtime.transport import AudioPlayer, Context, Transport
from vivavoce.types import ClientInput, InputAudio

__all__ = ["AudioPlayer", "ClientInput", "Context", "InputAudio", "Runner", "Transport"]
