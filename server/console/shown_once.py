"""Post/Redirect/Get for the forms that make a secret: the POST keeps it (``services.shown_secrets``) and
redirects; the page it redirects to shows it once. The browser holds only a random reference, in a cookie
limited to that page's path (HttpOnly, SameSite=Strict, a few minutes), which the page clears when it reads it.
"""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from server.api.deps import get_engine as _engine
from server.clock import utcnow
from server.console.views import View, _harden, _secure_cookie
from server.db import writing
from server.services.shown_secrets import LIFETIME, keep_secret, take_secret

COOKIE = "kiemke_shown"


def redirect_showing(request: Request, view: View, purpose: str, values: dict[str, str], path: str,
                     session: Session | None = None) -> Response:
    """Keep ``values`` for the user's next visit to ``path`` and redirect there (303).

    ``session``: the transaction that made the secret, so that the secret and its shown-once copy are written
    together or not at all (else a transaction of its own).
    """
    if session is None:
        with writing(_engine(request)) as own:
            return redirect_showing(request, view, purpose, values, path, own)
    reference = keep_secret(session, user_id=view.user.id, purpose=purpose, values=values, now=utcnow())
    response = RedirectResponse(path, status_code=303)
    response.set_cookie(COOKIE, reference, max_age=int(LIFETIME.total_seconds()), path=path, httponly=True,
                        samesite="strict", secure=_secure_cookie(request))
    return _harden(request, response)


def take_shown(request: Request, view: View, purpose: str) -> dict[str, str] | None:
    """The values kept for this page by the user's last form, once; None on any later visit."""
    reference = request.cookies.get(COOKIE)
    if not reference or len(reference) > 128:
        return None
    with writing(_engine(request)) as session:
        return take_secret(session, reference, user_id=view.user.id, purpose=purpose, now=utcnow())


def forget_shown(request: Request, response: Response, path: str) -> Response:
    """Clear the page's reference cookie, if the browser sent one."""
    if COOKIE in request.cookies:
        response.delete_cookie(COOKIE, path=path, httponly=True, samesite="strict",
                               secure=_secure_cookie(request))
    return response
