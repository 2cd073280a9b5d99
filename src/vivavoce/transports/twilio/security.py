"""Who may use the phone bridge: Twilio's signature on its webhooks (`X-Twilio-Signature`,
HMAC-SHA1 with the account's auth token over the URL it called and the POST parameters),
and a per-call token the webhook hands out for the stream.

The stream's URL may not carry a query string, so the token travels as a TwiML
`<Parameter>` and comes back in the stream's `start` message. It is an HMAC (keyed by
the auth token) over the call's id, the call's parameters and an expiry: bound to that
call, short-lived, and checkable by any instance that knows the token.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from twilio.request_validator import RequestValidator

TOKEN = "token"
EXPIRES = "expires"
# How long Twilio has to open the stream after the webhook answered.
TOKEN_TTL_S = 120


def signed_by_twilio(auth_token: str, url: str, params: Mapping[str, str],
                     signature: str | None) -> bool:
    """Whether `signature` is Twilio's for a request to `url` with these POST params."""
    return bool(signature) and RequestValidator(auth_token).validate(url, dict(params),
                                                                     signature)


def _digest(auth_token: str, call_sid: str, params: Mapping[str, str]) -> str:
    signed = "\n".join(["vivavoce-twilio-stream", call_sid,
                        *(f"{k}={params[k]}" for k in sorted(params) if k != TOKEN)])
    return hmac.new(auth_token.encode(), signed.encode(), hashlib.sha256).hexdigest()


def stream_parameters(auth_token: str | None, call_sid: str, params: dict[str, str],
                      now: float | None = None) -> dict[str, str]:
    """The `<Parameter>`s for one call's stream: `params`, and with signing on an expiry
    and the token over all of them."""
    if auth_token is None:
        return dict(params)
    out = {**params, EXPIRES: str(int((now or time.time()) + TOKEN_TTL_S))}
    out[TOKEN] = _digest(auth_token, call_sid, out)
    return out


def stream_allowed(auth_token: str | None, call_sid: str, params: Mapping[str, str],
                   now: float | None = None) -> bool:
    """Whether a stream's `start` (its call id and custom parameters) carries a valid
    token for that call; always, with signing off."""
    if auth_token is None:
        return True
    token, expires = params.get(TOKEN, ""), params.get(EXPIRES, "")
    if not expires.isdigit() or int(expires) < (now or time.time()):
        return False
    return hmac.compare_digest(token, _digest(auth_token, call_sid, params))
