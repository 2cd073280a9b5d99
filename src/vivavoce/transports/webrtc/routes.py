"""The calls' HTTP face, as the hosted API has it: `POST /v1/realtime/calls` (an SDP
offer, raw or in a form with session settings), hangup, and `DELETE` on the call."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime import Context
from vivavoce.runtime.limits import Busy
from vivavoce.session.config import SessionConfig, apply_update
from vivavoce.settings import Settings
from vivavoce.transports.auth import Auth, bearer
from vivavoce.transports.origins import origin_refusal
from vivavoce.transports.webrtc.calls import CallError, Calls

BAD_KEY = "Incorrect or missing API key (or an expired client secret)."


def error(status: int, code: str, message: str) -> JSONResponse:
    """The hosted API's error body."""
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error",
                                   "code": code}}, status_code=status)


async def _field(value: Any) -> str | None:
    """A form field, sent as text or as a file part."""
    if value is None or isinstance(value, str):
        return value
    return (await value.read()).decode("utf-8", "replace")


async def _form_offer(request: Request) -> tuple[str, dict[str, Any] | None]:
    form = await request.form()
    offer = await _field(form.get("sdp"))
    if not offer:
        raise CallError(400, "missing_required_parameter", "The form has no 'sdp' field.")
    raw = await _field(form.get("session"))
    if not raw:
        return offer, None
    try:
        session = json.loads(raw)
    except ValueError:
        raise CallError(400, "invalid_json", "The 'session' field is not JSON.") from None
    if not isinstance(session, dict):
        raise CallError(400, "invalid_type", "The 'session' field must be a JSON object.")
    try:
        apply_update(SessionConfig(), session)
    except ProtocolError as err:
        raise CallError(400, err.code, f"Invalid 'session': {err.message}") from None
    return offer, session


def call_routes(calls: Calls, auth: Auth, settings: Settings) -> APIRouter:
    router = APIRouter()

    def server_key(request: Request) -> bool:
        allowed, secret = auth.check(bearer(request.headers, []))
        return allowed and (secret is None or not auth.required)

    @router.post("/v1/realtime/calls")
    async def create_call(request: Request) -> Response:
        refusal = origin_refusal(request.headers, settings)
        if refusal is not None:
            return error(403, "origin_not_allowed", refusal)
        credential = bearer(request.headers, [])
        allowed, secret = auth.check(credential)
        if not allowed:
            return error(401, "invalid_api_key", BAD_KEY)
        try:  # a place among the sessions, held for as long as the call lasts
            ticket = calls.runner.admission.admit(credential if auth.required else None)
        except Busy as busy:
            return error(busy.status, "server_busy", busy.reason)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if kind == "application/sdp":
                offer = (await request.body()).decode("utf-8", "replace")
                session = secret.session if secret is not None and secret.session else None
            elif kind == "multipart/form-data":
                if secret is not None and auth.required:
                    return error(401, "invalid_api_key", "A call with its own session settings "
                                 "needs the server's API key, not a client secret.")
                offer, session = await _form_offer(request)
            else:
                return error(415, "unsupported_content_type",
                             "Send the SDP offer as application/sdp, or as multipart/form-data "
                             "with the fields 'sdp' and 'session'.")
            query = request.query_params
            context = Context(persona=query.get("persona") or None, session=session,
                              extensions=query.get("vivavoce_spans", "") in ("1", "true"))
            beta = "realtime=v1" in request.headers.get("openai-beta", "")
            call = await calls.start(offer, context, beta, ticket)
        except CallError as err:
            ticket.release()
            return error(err.status, err.code, err.message)
        return Response(call.pc.localDescription.sdp, status_code=201,
                        media_type="application/sdp",
                        headers={"Location": f"/v1/realtime/calls/{call.id}"})

    async def hangup(call_id: str, request: Request) -> Response:
        if not server_key(request):
            return error(401, "invalid_api_key", "Ending a call needs the server's API key.")
        if not calls.hangup(call_id):
            return error(404, "call_not_found", f"No call {call_id} is in progress.")
        return Response(status_code=200)

    router.add_api_route("/v1/realtime/calls/{call_id}/hangup", hangup, methods=["POST"])
    router.add_api_route("/v1/realtime/calls/{call_id}", hangup, methods=["DELETE"])
    return router
