"""Resume tokens: the secret that lets a client continue its session on a new connection.

A token is random, handed to the client once (in the response that minted the client
secret opening the session, or by `GET /v1/sessions/<id>` with the server key), kept
only as a hash, and replaced on every exchange: a client trades its token for a client
secret that resumes the session, and gets the next token with it.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import HTTPException

from vivavoce.store import Store, digest

PREFIX = "rt_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def resume_request(body: dict[str, Any]) -> tuple[str, str | None] | None:
    """(session id, token) from a mint request's `resume` object; None if it has none."""
    resume = body.get("resume")
    if resume is None:
        return None
    if not isinstance(resume, dict) or not isinstance(resume.get("session_id"), str):
        raise HTTPException(400, "resume must be {\"session_id\": ..., \"resume_token\": ...}.")
    token = resume.get("resume_token")
    if token is not None and not isinstance(token, str):
        raise HTTPException(400, "resume.resume_token must be a string.")
    return resume["session_id"], token


async def rotate(store: Store, session_id: str, token: str | None, trusted: bool) -> str:
    """Check `token` (unless the caller is `trusted`: the server key, or a server with
    no key) and replace it; the next token."""
    try:
        if await store.session(session_id) is None:
            raise HTTPException(404, f"There is no session '{session_id}' to resume: it "
                                "never existed here, or it was deleted.")
        fresh = new_token()
        if trusted:
            rotated = await store.rotate_token(session_id, None, digest(fresh))
        elif token is None:
            raise HTTPException(401, "A resume_token is required to resume this session.")
        else:
            rotated = await store.rotate_token(session_id, digest(token), digest(fresh))
    except HTTPException:
        raise
    except Exception:
        raise HTTPException(503, "The conversation store is unreachable; try again "
                            "shortly.") from None
    if not rotated:
        raise HTTPException(401, f"That resume token is not valid for session '{session_id}'. "
                            "Tokens work once: each resume hands out the next one.")
    return fresh
