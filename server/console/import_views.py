"""Import from the page: a units, assets or licences sheet (CSV or XLSX) is previewed, then committed once.

1. ``GET /import``: the three sheets, each with its blank template (XLSX or CSV, headers in the console's
   language) and an upload form. Officers import assets of their own units; units and licences are an
   administrator's (they shape the whole district).
2. ``POST /import/preview``: the file is imported in a transaction that is rolled back (the importer's own
   code, so the preview is exactly what the commit will do): how many rows would be created, updated or left
   unchanged, and each refused row with its number and reason. Nothing is written but the upload itself,
   kept server-side (``services.sheet_uploads``) under a token the page carries.
3. ``POST /import/commit``: the kept upload, checked against its hash, imported for real, audited like
   ``kiemke-server assets import`` with the person's name, then deleted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from server.api.deps import get_engine as _engine
from server.api.deps import get_settings as _settings
from server.api.downloads import content_disposition
from server.clock import utcnow
from server.console import auth
from server.console.auth import ConsoleUser
from server.console.device_views import EditorDep
from server.console.forms import check_csrf
from server.console.views import ConsoleError, View, _harden, _page, _view
from server.db import writing
from server.services.sheet_templates import SHEET_KINDS, template_csv, template_xlsx
from server.services.sheet_uploads import MAX_BYTES, UploadGone, keep_upload, take_upload
from server.services.spreadsheets import ImportResult, import_sheet

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=256)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Refused rows listed on the page; the counts cover every row.
LISTED = 200


def _kinds(user: ConsoleUser) -> tuple[str, ...]:
    """The sheets this person may import."""
    return SHEET_KINDS if user.is_admin else ("assets",)


def _allowed(view: View) -> set[str] | None:
    """The units whose assets this person may change (None: every unit)."""
    return None if view.user.unit_code is None else {c.code for c in view.choices}


def _kind(view: View, kind: str) -> str:
    if kind not in _kinds(view.user):
        raise ConsoleError(403 if kind in SHEET_KINDS else 400, "forbidden_title" if kind in SHEET_KINDS
                           else "bad_request_title", view.texts("import_kind_refused"))
    return kind


def _import_page(request: Request, view: View, *, status: int = 200, **context: object) -> Response:
    shown: dict[str, object] = {"error": None, "result": None, "upload": None, "committed": False, "chosen": None,
                                "file_name": "", **context}
    response = _page(request, view, "import.html", kinds=_kinds(view.user), max_mb=MAX_BYTES // (1024 * 1024),
                     listed=LISTED, **shown)
    response.status_code = status
    return response


@router.get("/import")
def import_page(request: Request, user: EditorDep) -> Response:
    """The sheets this person may import, their templates and the upload forms."""
    return _import_page(request, _view(request, user, None, None))


@router.get("/import/template/{kind}")
def template(request: Request, user: EditorDep, kind: str,
             format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx") -> Response:
    """A blank template of the sheet, headers in the console's language; the download is audited."""
    view = _view(request, user, None, None)
    kind = _kind(view, kind)
    texts = view.texts
    if format == "xlsx":
        body, media = template_xlsx(kind, view.lang, texts(f"import_sheet:{kind}"), texts("import_guide")), XLSX
    else:
        body, media = template_csv(kind, view.lang), "text/csv; charset=utf-8"
    auth.record(_engine(request), user.username, "console.export", format=format, template=kind)
    name = f"mau-{kind}.{format}" if view.lang == "vi" else f"template-{kind}.{format}"
    disposition = {"Content-Disposition": content_disposition(name)}
    return _harden(request, Response(body, media_type=media, headers=disposition))


def _run(request: Request, view: View, kind: str, data: bytes, name: str, *, dry_run: bool) -> ImportResult:
    """The importer on ``data`` in a file of its own (the reader tells XLSX from CSV by content)."""
    suffix = ".xlsx" if data[:4] == b"PK\x03\x04" else ".csv"
    with tempfile.TemporaryDirectory(prefix="kiemke-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return import_sheet(_engine(request), path, kind, view.user.username, tz=_settings(request).tz,
                            allowed=_allowed(view) if kind == "assets" else None, dry_run=dry_run,
                            file_label=f"{name} ({view.texts('import_from_console')})")


async def _read_upload(file: UploadFile) -> bytes:
    """At most ``MAX_BYTES`` + 1 bytes, so that a larger file is refused without being read whole."""
    chunks, size = [], 0
    while size <= MAX_BYTES and (chunk := await file.read(1 << 20)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


@router.post("/import/preview")
async def preview(request: Request, user: EditorDep, csrf: Short = "", kind: Short = "",
                  file: Annotated[UploadFile | None, File()] = None) -> Response:
    """What the sheet would create, update and refuse; nothing is written but the kept upload."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    kind = _kind(view, kind)
    data = await _read_upload(file) if file is not None else b""
    name = (file.filename or "") if file is not None else ""
    if not data.strip():
        return _import_page(request, view, status=400, error=view.texts("import_no_file"), chosen=kind)
    if len(data) > MAX_BYTES:
        return _import_page(request, view, status=400, chosen=kind,
                            error=view.texts("import_too_big", mb=MAX_BYTES // (1024 * 1024)))
    result = await run_in_threadpool(_run, request, view, kind, data, name, dry_run=True)

    def keep() -> str:
        with writing(_engine(request)) as session:
            token, _ = keep_upload(session, username=user.username, kind=kind, file_name=name, content=data,
                                   now=utcnow())
        return token

    token = await run_in_threadpool(keep) if result.created + result.updated else None
    return _import_page(request, view, chosen=kind, result=result, upload=token, file_name=name)


@router.post("/import/commit")
def commit(request: Request, user: EditorDep, csrf: Short = "", kind: Short = "", upload: Short = "") -> Response:
    """Import the previewed sheet for real, once; audited by the importer with the person's name."""
    view = _view(request, user, None, None)
    check_csrf(view, csrf)
    kind = _kind(view, kind)
    try:
        with writing(_engine(request)) as session:
            kept = take_upload(session, upload, username=user.username, kind=kind, now=utcnow())
    except UploadGone:
        return _import_page(request, view, status=409, error=view.texts("import_upload_gone"), chosen=kind)
    result = _run(request, view, kind, kept.content, kept.file_name, dry_run=False)
    return _import_page(request, view, chosen=kind, result=result, committed=True, file_name=kept.file_name)
