"""Starting and ending calls: an SDP offer in, the answer out (with every ICE candidate:
clients do not trickle), and a session served for the call until it ends."""

from __future__ import annotations

import asyncio
import logging

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from vivavoce import metrics
from vivavoce.protocol import ids
from vivavoce.runtime import Context, Runner
from vivavoce.transports.webrtc.call import WebRTCCall

log = logging.getLogger(__name__)

HUNG_UP = "hung up"


class CallError(Exception):
    """A call that cannot start: HTTP status, error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def ice_server(url: str) -> RTCIceServer:
    """`stun:host:port`, or `turn:USER:PASSWORD@host:port` with its credentials."""
    scheme, _, rest = url.partition(":")
    if "@" not in rest:
        return RTCIceServer(urls=url)
    credentials, host = rest.rsplit("@", 1)
    user, _, password = credentials.partition(":")
    return RTCIceServer(urls=f"{scheme}:{host}", username=user, credential=password)


def ice_configuration(urls: list[str]) -> RTCConfiguration:
    """Only the ICE servers configured: none by default, so no public STUN server is ever
    asked (aiortc's own default would be one)."""
    return RTCConfiguration(iceServers=[ice_server(url) for url in urls])


def _check_offer(sdp: str) -> None:
    lines = sdp.strip().splitlines()
    if not lines or not lines[0].startswith("v=") or not any(x.startswith("m=") for x in lines):
        raise CallError(400, "invalid_offer", "The body is not an SDP offer with media "
                        "(it must start with 'v=' and have an 'm=' line).")


class Calls:
    """This instance's calls, kept in the runner's call registry (`runner.calls`), which
    every instance sharing the store reads."""

    def __init__(self, runner: Runner, ice_servers: list[str], max_calls: int) -> None:
        self.runner = runner
        self.ice_servers = ice_servers
        self.max_calls = max_calls
        self._serving: set[asyncio.Task[None]] = set()

    async def start(self, offer: str, context: Context, dialect_beta: bool) -> WebRTCCall:
        """Answer `offer` and serve a session on the call (a new one, or the one
        `context` resumes); the call (its answer is `call.pc.localDescription`)."""
        _check_offer(offer)
        if len(self.runner.calls) >= self.max_calls:
            raise CallError(503, "server_at_capacity",
                            f"This server is at its limit of {self.max_calls} calls; "
                            "try again later.")
        pc = RTCPeerConnection(ice_configuration(self.ice_servers))
        call = WebRTCCall(ids.new_id("rtc_"), pc, dialect_beta)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            if any(t.kind == "audio" for t in pc.getTransceivers()):
                pc.addTrack(call.speaker)
            # aiortc gathers every candidate here: the answer carries them all.
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await call.close()
            raise CallError(400, "invalid_offer",
                            f"The SDP offer could not be answered: {exc or type(exc).__name__}"
                            ) from None
        # Registered under its session before answering, so a sideband asked of any
        # instance finds it from the moment the caller knows its id.
        context = await self.runner.claim(context)
        session_id = context.resume or context.session_id
        assert session_id is not None
        await self.runner.calls.register(call.id, session_id, call)
        metrics.WEBRTC_CALLS.inc()
        task = asyncio.create_task(self._serve(call, context))
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)
        return call

    async def _serve(self, call: WebRTCCall, context: Context) -> None:
        metrics.WEBRTC_ACTIVE.inc()
        try:
            ended = await self.runner.serve(call, context)
            if ended is None and call.end_reason == HUNG_UP:
                ended = HUNG_UP
            log.info("call %s ended: %s", call.id, ended or call.end_reason)
            if ended is not None:  # the server ended it: the caller is told why
                await call.say_ended(ended)
        except Exception:
            log.exception("call %s failed", call.id)
        finally:
            metrics.WEBRTC_ACTIVE.dec()
            await self.runner.calls.release(call.id)
            await call.close()

    def hangup(self, call_id: str) -> bool:
        """End a call held here; False if this instance holds no such call."""
        call = self.runner.calls.held(call_id)
        if call is None:
            return False
        call.end(HUNG_UP)
        return True

    async def close(self) -> None:
        """Server shutdown: end every call."""
        for task in list(self._serving):
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)
