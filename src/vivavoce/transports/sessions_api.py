"""Stored sessions over HTTP, for operators (the server's key): list them, read one with
its items, delete one. Any instance sharing the store answers for every session."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request

from vivavoce.runtime import Runner
from vivavoce.store import Store, digest
from vivavoce.store.export import describe, with_audio
from vivavoce.transports.auth import Auth, bearer
from vivavoce.transports.resume_tokens import new_token

MAX_PAGE = 100


def add_session_routes(app: FastAPI, auth: Auth, runner: Runner, store: Store) -> None:
    async def operator(request: Request) -> None:
        credential = await auth.check(bearer(request.headers, []))
        if not credential.allowed or credential.secret is not None:
            raise HTTPException(401, "A valid API key is required to read conversations.")

    async def stored(call: Any) -> Any:
        try:
            return await call
        except Exception:
            raise HTTPException(503, "The conversation store is unreachable.") from None

    @app.get("/v1/sessions")
    async def list_sessions(request: Request, limit: int = 20,
                            after: str | None = None) -> dict[str, Any]:
        await operator(request)
        if not 1 <= limit <= MAX_PAGE:
            raise HTTPException(400, f"limit must be 1..{MAX_PAGE}.")
        page = await stored(store.sessions(limit + 1, after))
        data = [record.summary() for record in page[:limit]]
        return {"object": "list", "data": data, "has_more": len(page) > limit,
                "last_id": data[-1]["id"] if data else None}

    @app.get("/v1/sessions/{session_id}")
    async def get_session(session_id: str, request: Request) -> dict[str, Any]:
        """The session, and a fresh resume token for it (the one before stops working)."""
        await operator(request)
        record = await stored(store.session(session_id))
        if record is None:
            raise HTTPException(404, f"No session {session_id}.")
        usage = [{"response_id": u.response_id, "status": u.status, "usage": u.usage}
                 for u in await stored(store.usage(session_id))]
        token = new_token()
        await stored(store.rotate_token(session_id, None, digest(token)))
        return {**describe(record, usage), "open_here": session_id in runner.sessions,
                "resume_token": token}

    @app.get("/v1/sessions/{session_id}/items")
    async def session_items(session_id: str, request: Request,
                            include: str = "") -> dict[str, Any]:
        """The items in order; `?include=audio`: with the audio kept of each (the
        server's --store-audio), base64 PCM16 24 kHz in its audio content part."""
        await operator(request)
        try:
            record = await store.session(session_id)
            items = await store.items(session_id)
            if "audio" in include.split(","):
                items = with_audio(items, await store.item_audio(session_id))
        except Exception:
            live = runner.sessions.get(session_id)
            if live is None:
                raise HTTPException(503, "The conversation store is unreachable.") from None
            record, items = True, live.log.items()  # open here: what it holds in memory
        if record is None:
            raise HTTPException(404, f"No session {session_id}.")
        return {"session_id": session_id, "items": items}

    @app.delete("/v1/sessions/{session_id}")
    async def delete_session(session_id: str, request: Request) -> dict[str, Any]:
        await operator(request)
        if not await stored(runner.delete(session_id)):
            raise HTTPException(404, f"No session {session_id}.")
        return {"id": session_id, "object": "vivavoce.session.deleted", "deleted": True}
