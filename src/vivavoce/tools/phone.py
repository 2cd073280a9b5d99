"""end_call: the assistant hangs up a phone call, after saying goodbye.

Offered on phone calls only (the phone bridge asks for it beside the persona's own
tools). The tool just records the wish in the session's tool state; the phone bridge
ends the call once the answer that follows has been said and heard.
"""

from __future__ import annotations

from .registry import ToolContext

HANG_UP = "hang_up"


def end_call(context: ToolContext, reason: str = "") -> dict:
    """End the phone call. Use it when the caller says goodbye or asks you to hang up;
    then say a short goodbye.

    Args:
        reason: Why the call ends, in a few words.
    """
    context.state[HANG_UP] = reason.strip() or "the assistant ended the call"
    return {"ok": True, "note": "The call ends after your goodbye. Say goodbye now."}
