"""What a connecting client asks for, from its credential and its URL's query: the
`Context` a transport (the WebSocket, a WebRTC call) hands the runner. One rule for
both: who may resume which session."""

from __future__ import annotations

from collections.abc import Mapping

from vivavoce.protocol.errors import ProtocolError
from vivavoce.runtime import Context
from vivavoce.transports.auth import Credential


def client_context(credential: Credential, query: Mapping[str, str],
                   auth_required: bool) -> Context:
    """The session a client opens: new (its client secret's settings and id, if any),
    or resumed (`?resume=<id>`, or a client secret minted to resume one). Raises a
    `ProtocolError` when the credential may not resume that session."""
    secret = credential.secret
    resume = query.get("resume") or None
    if resume is None and secret is not None and secret.resumes:
        resume = secret.session_id
    if resume is not None and auth_required and not credential.key \
            and (secret is None or secret.session_id != resume):
        raise ProtocolError(
            "invalid_resume_credential", f"This credential cannot resume session '{resume}': "
            "use the server's key, or a client secret minted for that session "
            "(POST /v1/realtime/client_secrets or /session with its resume token).",
            "resume", type="invalid_request_error")
    opens = secret if secret is not None and resume is None else None
    return Context(persona=query.get("persona") or None,
                   session=opens.session if opens is not None and opens.session else None,
                   # vivavoce's own events (turn spans) only for clients that ask: strict
                   # clients of the hosted protocol would not know them.
                   extensions=query.get("vivavoce_spans", "") in ("1", "true"), resume=resume,
                   session_id=opens.session_id if opens is not None else None,
                   resume_token_hash=opens.resume_token_hash if opens is not None else None,
                   owner=credential.owner)
