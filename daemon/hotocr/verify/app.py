"""The verification station's web application (Starlette, served by uvicorn).

Pages: ``/`` the queue, ``/doc/NAME`` one document, ``/login``. The pages are static HTML
and JavaScript (``static/``) that talk to a small JSON interface:

- ``GET /api/queue[?folder=N]``: documents waiting for a person, flagged ones first, worst
  page first, with pages, confidence, age and who is working on each;
- ``GET /api/doc/NAME``: a document's pages and words (shown text, the recognizer's, the
  corrector's suggestion, confidence, box), its version (also the ``ETag``);
- ``GET /api/doc/NAME/page/N/image``: the page as a JPEG, in the words' pixel space;
- ``POST /api/doc/NAME/page/N``: ``{version, fixes: {word: text}}`` saves fixes;
- ``POST /api/doc/NAME/verified``: ``{version}`` marks the document verified;
- ``POST /api/doc/NAME/learn``: ``{kind: "rule" | "word", printed, meant}`` teaches the
  document's folder a fix for the next documents.

Every error is a status with a reason (JSON ``{"error": ...}``), never a traceback.
"""

from __future__ import annotations

import dataclasses
import html
import json
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hotocr import pages, sidecars
from hotocr.config import Config
from hotocr.outputs import output_words
from hotocr.preprocess import to_gray
from hotocr.verify import learning
from hotocr.verify.auth import COOKIE, CSRF_HEADER, Keys, Session, clean_user, cross_site
from hotocr.verify.changes import BadFix
from hotocr.verify.documents import Catalogue, Conflict, Document, NotFound

#: The largest request body accepted (a page's fixes are a few kB).
MAX_BODY_BYTES = 256 * 1024
#: Page images are at most this wide (the boxes are scaled to the picture in the browser).
IMAGE_MAX_WIDTH = 2000
#: A person opening a document is shown as working on it for this long.
WORKING_SECONDS = 600
STATIC = Path(__file__).with_name("static")

Handler = Callable[[Request], Awaitable[Response]]


def make_app(config: Config, catalogue: Catalogue, keys: Keys) -> Starlette:
    working: dict[str, tuple[str, float]] = {}
    lock = threading.Lock()

    def user_of(request: Request) -> Session:
        session: Session = request.state.session
        return session

    async def login_page(request: Request) -> Response:
        return HTMLResponse((STATIC / "login.html").read_text(encoding="utf-8"))

    async def login(request: Request) -> Response:
        if cross_site(
            request.headers.get("origin"),
            request.headers.get("sec-fetch-site"),
            request.headers.get("host"),
        ):
            raise HTTPException(403, "a login must come from this site")
        form = urllib.parse.parse_qs((await _body(request)).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0]
        user = clean_user((form.get("user") or [""])[0])
        if not keys.token_ok(token) or not user:
            return HTMLResponse(
                (STATIC / "login.html")
                .read_text(encoding="utf-8")
                .replace("<!--error-->", '<p class="error">Wrong token, or no name given.</p>'),
                status_code=401,
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE, keys.cookie_for(user), httponly=True, samesite="strict", path="/"
        )
        return response

    async def queue_page(request: Request) -> Response:
        return _page("queue.html", user_of(request))

    async def document_page(request: Request) -> Response:
        return _page("document.html", user_of(request))

    async def queue(request: Request) -> Response:
        folder = request.query_params.get("folder")
        if folder is not None and not folder.isdigit():
            raise HTTPException(400, "folder must be a folder's number")
        rows = await run_in_threadpool(catalogue.queue, int(folder) if folder else None)
        now = time.time()
        with lock:
            for row in rows:
                who, since = working.get(row["name"], ("", 0.0))
                row["working"] = who if now - since < WORKING_SECONDS else ""
        folders = [{"number": i, "inbox": str(w.inbox)} for i, w in enumerate(config.watches)]
        return JSONResponse({"documents": rows, "folders": folders})

    async def document(request: Request) -> Response:
        doc = await run_in_threadpool(catalogue.get, request.path_params["name"])
        with lock:
            working[doc.name] = (user_of(request).user, time.time())
        return JSONResponse(_view(doc), headers={"ETag": f'"{doc.version}"'})

    async def image(request: Request) -> Response:
        doc = await run_in_threadpool(catalogue.get, request.path_params["name"])
        number = _page_number(request, doc)
        data = await run_in_threadpool(_picture, doc, number)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def save_page(request: Request) -> Response:
        body = await _json(request)
        name = request.path_params["name"]
        doc = await run_in_threadpool(catalogue.get, name)
        number = _page_number(request, doc)
        fixes = body.get("fixes")
        if not isinstance(fixes, dict) or not all(
            isinstance(k, str) and k.isdigit() and isinstance(v, str) for k, v in fixes.items()
        ):
            raise HTTPException(400, "fixes must map word numbers to their new text")
        saved = await run_in_threadpool(
            lambda: catalogue.save(
                name,
                _version(request, body),
                who=user_of(request).user,
                page=number,
                fixes={int(k): v for k, v in fixes.items()},
                accepted=bool(body.get("accepted", False)),
            )
        )
        return JSONResponse(_view(saved), headers={"ETag": f'"{saved.version}"'})

    async def verified(request: Request) -> Response:
        body = await _json(request)
        name = request.path_params["name"]
        saved = await run_in_threadpool(
            lambda: catalogue.save(
                name, _version(request, body), who=user_of(request).user, verified=True
            )
        )
        return JSONResponse(_view(saved), headers={"ETag": f'"{saved.version}"'})

    async def learn(request: Request) -> Response:
        body = await _json(request)
        doc = await run_in_threadpool(catalogue.get, request.path_params["name"])
        kind, printed, meant = body.get("kind"), body.get("printed"), body.get("meant")
        if kind not in ("rule", "word") or not isinstance(meant, str):
            raise HTTPException(400, 'kind must be "rule" or "word", with the word meant')
        if kind == "rule" and not isinstance(printed, str):
            raise HTTPException(400, "a rule needs the printed word")
        said = await run_in_threadpool(learning.teach, doc.watch, kind, str(printed or ""), meant)
        return JSONResponse({"learned": said})

    routes = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/", queue_page),
        Route("/doc/{name:path}", document_page),
        Route("/api/queue", queue),
        Route("/api/doc/{name:path}/page/{page:int}/image", image),
        Route("/api/doc/{name:path}/page/{page:int}", save_page, methods=["POST"]),
        Route("/api/doc/{name:path}/verified", verified, methods=["POST"]),
        Route("/api/doc/{name:path}/learn", learn, methods=["POST"]),
        Route("/api/doc/{name:path}", document),
    ]

    async def guard(request: Request, call_next: Handler) -> Response:
        """Authentication, CSRF and size limits for every request but the login page."""
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return _error(413, f"a request body is at most {MAX_BODY_BYTES} bytes")
        if request.url.path == "/login":
            return await call_next(request)
        session = _authenticate(request, keys)
        if session is None:
            if request.url.path.startswith("/api/"):
                return _error(401, "a token is needed (Authorization: Bearer, or log in)")
            return RedirectResponse("/login", status_code=303)
        if request.method not in ("GET", "HEAD") and "authorization" not in request.headers:
            if _from_another_site(request):
                return _error(403, "a change must come from this site")
            if not keys.open and request.headers.get(CSRF_HEADER) != session.csrf:
                return _error(403, "the page's CSRF token is missing or wrong: reload the page")
        request.state.session = session
        return await call_next(request)

    return Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)],
        exception_handlers={
            HTTPException: _http_error,
            NotFound: _status(404),
            Conflict: _status(409),
            BadFix: _status(400),
            learning.CannotLearn: _status(400),
        },
    )


def _from_another_site(request: Request) -> bool:
    headers = request.headers
    return cross_site(headers.get("origin"), headers.get("sec-fetch-site"), headers.get("host"))


def _authenticate(request: Request, keys: Keys) -> Session | None:
    if keys.open:
        return Session(request.headers.get("x-forwarded-user") or "verifier", "")
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        if keys.token_ok(header[7:].strip()):
            return Session(clean_user(request.headers.get("x-hotocr-user", "")) or "api", "")
        return None
    cookie = request.cookies.get(COOKIE)
    return keys.session(cookie) if cookie else None


def _page(name: str, session: Session) -> Response:
    text = (STATIC / name).read_text(encoding="utf-8")
    text = text.replace("{{csrf}}", session.csrf).replace("{{user}}", html.escape(session.user))
    return HTMLResponse(text, headers={"Cache-Control": "no-store"})


async def _body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"a request body is at most {MAX_BODY_BYTES} bytes")
    return body


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await _body(request))
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the body must be JSON") from None
    if not isinstance(data, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return data


def _version(request: Request, body: dict[str, Any]) -> str:
    """The version a change starts from: ``If-Match``, or the body's ``version``."""
    version = request.headers.get("if-match", "").strip('"') or body.get("version")
    if not isinstance(version, str) or not version:
        raise HTTPException(428, "say which version you changed (If-Match, or version)")
    return version


def _page_number(request: Request, doc: Document) -> int:
    number = int(request.path_params["page"])
    if not 1 <= number <= len(doc.data["pages"]):
        raise HTTPException(404, f"the document has no page {number}")
    return number


def _view(doc: Document) -> dict[str, Any]:
    """A document as the page shows it."""
    result = doc.result
    threshold = result.low_confidence
    view_pages = []
    for page in result.pages:
        corrected = output_words(dataclasses.replace(page, edits=()))
        shown = output_words(page)
        view_pages.append(
            {
                "number": page.number,
                "width": page.size[0],
                "height": page.size[1],
                "confidence": page.confidence,
                "low_confidence": page.low_confidence,
                "accepted": page.number in doc.verification.get("accepted_pages", []),
                "words": [
                    {
                        "text": s.text,
                        "raw": s.raw,
                        "suggestion": c.text if c.text != s.raw else "",
                        "confidence": s.confidence,
                        "box": list(s.box),
                        "low": s.confidence < threshold,
                        "edited": any(e.word == i for e in page.edits),
                    }
                    for i, (s, c) in enumerate(zip(shown, corrected, strict=True))
                ],
            }
        )
    return {
        "name": doc.name,
        "version": doc.version,
        "file": doc.data["source"]["name"],
        "threshold": threshold,
        "verification": doc.verification,
        "pages": view_pages,
    }


def _picture(doc: Document, number: int) -> bytes:
    """Page ``number`` as a JPEG, as the original shows it (the boxes' space)."""
    data = doc.data
    path, at = sidecars.page_source(doc.sidecar, data, data["pages"][number - 1])
    dpi = int(data.get("preprocess", {}).get("render_dpi", 300))
    try:
        loaded = pages.load_page(path, pages.sniff(path), at, dpi=dpi, timeout=120)
    except Exception as exc:  # noqa: BLE001 - a moved or unreadable original: say so
        raise HTTPException(404, f"the page's original cannot be read: {exc}") from None
    gray: np.ndarray = to_gray(loaded.image)
    if gray.shape[1] > IMAGE_MAX_WIDTH:
        size = (IMAGE_MAX_WIDTH, round(gray.shape[0] * IMAGE_MAX_WIDTH / gray.shape[1]))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(gray), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise HTTPException(500, "the page could not be drawn")
    return encoded.tobytes()


def _error(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, str(exc.detail))


def _status(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return _error(status, str(exc) or exc.__class__.__name__)

    return handler
