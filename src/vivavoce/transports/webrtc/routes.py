"""The calls' HTTP face, as the hosted API has it: `POST /v1/realtime/calls` (an SDP
offer, raw or in a form with session settings), hangup, and `DELETE` on the call."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from vivavoce.protocol.errors import ProtocolError
from vivavoce.session.config import SessionConfig, apply_update
from vivavoce.store import CallRecord
from vivavoce.transports.auth import Auth, bearer
from vivavoce.transports.client_context import client_context
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


def call_routes(calls: Calls, auth: Auth) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/realtime/calls")
    async def create_call(request: Request) -> Response:
        credential = await auth.check(bearer(request.headers, []))
        if not credential.allowed:
            return error(401, "invalid_api_key", BAD_KEY)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            context = client_context(credential, request.query_params, auth.required)
            if kind == "application/sdp":
                offer = (await request.body()).decode("utf-8", "replace")
            elif kind == "multipart/form-data":
                if credential.secret is not None and auth.required:
                    return error(401, "invalid_api_key", "A call with its own session settings "
                                 "needs the server's API key, not a client secret.")
                offer, session = await _form_offer(request)
                context = replace(context, session=session)
            else:
                return error(415, "unsupported_content_type",
                             "Send the SDP offer as application/sdp, or as multipart/form-data "
                             "with the fields 'sdp' and 'session'.")
            beta = "realtime=v1" in request.headers.get("openai-beta", "")
            call = await calls.start(offer, context, beta)
        except ProtocolError as err:  # a resume this credential may not make
            return error(401, err.code, err.message)
        except CallError as err:
            return error(err.status, err.code, err.message)
        return Response(call.pc.localDescription.sdp, status_code=201,
                        media_type="application/sdp",
                        headers={"Location": f"/v1/realtime/calls/{call.id}"})

    async def hangup(call_id: str, request: Request) -> Response:
        credential = await auth.check(bearer(request.headers, []))
        if not credential.allowed or (auth.required and not credential.key):
            return error(401, "invalid_api_key", "Ending a call needs the server's API key.")
        if calls.hangup(call_id):
            return Response(status_code=200)
        record = await _locate(calls, call_id)
        if record is None or calls.runner.calls.holds(record):
            return error(404, "call_not_found", f"No call {call_id} is in progress.")
        return await _pass_on(request, record.address)

    router.add_api_route("/v1/realtime/calls/{call_id}/hangup", hangup, methods=["POST"])
    router.add_api_route("/v1/realtime/calls/{call_id}", hangup, methods=["DELETE"])
    return router


async def _locate(calls: Calls, call_id: str) -> CallRecord | None:
    try:
        return await calls.runner.calls.locate(call_id)
    except Exception:  # the store is away: only calls held here are known
        return None


async def _pass_on(request: Request, address: str) -> Response:
    """A hangup for a call another instance holds: asked of that instance."""
    headers = {k: v for k, v in request.headers.items() if k.lower() == "authorization"}
    try:
        async with httpx.AsyncClient(base_url=address, trust_env=False, timeout=10) as http:
            answer = await http.request(request.method, request.url.path, headers=headers)
    except httpx.HTTPError:
        return error(502, "call_holder_unreachable", "The instance holding the call is "
                     "unreachable; try again shortly.")
    return Response(answer.content, status_code=answer.status_code,
                    media_type=answer.headers.get("content-type"))
