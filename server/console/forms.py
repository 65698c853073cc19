"""What the console's edit forms share: the CSRF check, the page with each refused field's message, and the
answer to a POST (the saved page, the form again with 400, or 404).

The services decide (``services.assets``, ``services.unit_edits``) and raise ``FormError`` with a message key
per field; a form here only words the keys and shows the page again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from server.console.views import ConsoleError, View, _harden, _page
from server.security import same_token
from server.services.assets import FormError

#: A service's verdict on a form: field -> (message key, its values).
Problems = dict[str, tuple[str, dict[str, object]]]


def check_csrf(view: View, csrf: str) -> None:
    """403 with the console's page unless ``csrf`` is the token of the signed-in session."""
    if not same_token(csrf, view.user.csrf):
        raise ConsoleError(403, "forbidden_title", view.texts("login_form_expired"))


def form_page(request: Request, view: View, template: str, problems: Problems, status: int = 200,
              **context: Any) -> Response:
    """The form ``template`` with each refused field's message in the user's language."""
    errors = {name: view.texts(key, **args) for name, (key, args) in problems.items()}
    response = _page(request, view, template, errors=errors, **context)
    response.status_code = status
    return response


def saved_or_again(request: Request, save: Callable[[], str], again: Callable[[Problems], Response],
                   not_found: ConsoleError) -> Response:
    """Run ``save`` and go to the page it names (303); the form again when it refuses a field (``again``, which
    answers 400); ``not_found`` when what it edits is gone or out of reach."""
    try:
        target = save()
    except LookupError:
        raise not_found from None
    except FormError as exc:
        return again(exc.problems)
    return _harden(request, RedirectResponse(target, status_code=303))
