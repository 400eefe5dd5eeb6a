"""Helpers every blueprint shares: the runtime, the request's session, JSON bodies and errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from flask import Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import get_content_length

from gateway import fields
from gateway.errors import InvalidPayload, RequestRefused, UnsupportedMediaType

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    # For typing only: the runtime wires the worker to the channels, which a blueprint that
    # reaches its session through here must not drag in.
    from gateway.runtime import Runtime

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def runtime() -> Runtime:
    """Return the runtime of the app handling this request."""
    return current_app.extensions["gateway"]  # type: ignore[no-any-return]


def db_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = runtime().session_factory()
    return g.db_session  # type: ignore[no-any-return]


def json_body() -> dict[str, Any]:
    """Return the request's JSON object, or refuse with 415/400."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")
    data = fields.load_json(request.get_data())
    if not isinstance(data, dict):
        raise InvalidPayload("body must be a JSON object")
    return data


def string_field(data: dict[str, Any], name: str, *, max_length: int = 256) -> str:
    """Return a required string field, or refuse with 400."""
    return fields.text(data.get(name), name, max_length=max_length)


def endpoint_label() -> str:
    """Name this request's route for metrics: the Flask endpoint, never the raw path."""
    return request.endpoint or "unmatched"


def carrier_label() -> str:
    """Name the carrier in this request's path for metrics, if it is a configured one."""
    carrier = (request.view_args or {}).get("carrier")
    if carrier is None:
        return ""
    # Any name can be put in a URL; only configured ones become label values.
    return carrier if carrier in runtime().settings.carriers else "unknown"


def note_refusal(code: str) -> None:
    """Name why this request is refused, for the refused-requests metric."""
    g.refusal = code


def refusal_reason(response: Response) -> str | None:
    """Return why this request was refused, or None if it was not."""
    if "refusal" in g:
        return g.refusal  # type: ignore[no-any-return]
    if response.status_code < 400:
        return None
    # Answers built without our error handlers (the carrier kinds' own shapes): the JSON
    # error code when there is one, else the HTTP status.
    body = response.get_json(silent=True) if response.is_json else None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) and code.isidentifier() else f"http_{response.status_code}"


UNREADABLE = (
    "the request body could not be read whole: its chunked encoding is broken, or it ended "
    "before its Content-Length"
)


class WholeBody:
    """The request body as the app reads it (``wsgi.input``): whole, or refused.

    The server reads the framing, and each fails in its own way when it is broken: gunicorn
    raises its parse errors (a chunk size that is not hexadecimal: ``InvalidChunkSize``) and
    hands over what came when the client stops before its Content-Length; werkzeug's server
    raises OSError. Any of these becomes :class:`InvalidPayload`, which every caller already
    answers with a 400 in its own shape (the JSON error, each carrier kind's refusal, the
    pages'), before anything is stored. Read errors are never worth a 500 or a traceback.
    """

    def __init__(self, stream: IO[bytes], length: int | None) -> None:
        self._stream = stream
        self._length = length  # None: chunked, or no body
        self._seen = 0
        self._failed = False

    def read(self, size: int | None = -1) -> bytes:
        """Read like ``wsgi.input``; refuse the request when the body breaks or ends short."""
        data = self._guarded(self._stream.read, size)
        if not data or size is None or size < 0:
            self._check_complete()
        return data

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line like ``wsgi.input``, with the same refusals as :meth:`read`."""
        data = self._guarded(self._stream.readline, size)
        if not data:
            self._check_complete()
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        """Read the remaining lines."""
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _guarded(self, read: Callable[..., bytes], size: int | None) -> bytes:
        if self._failed:
            raise InvalidPayload(UNREADABLE)
        try:
            data = read() if size is None else read(size)
        except Exception as exc:  # the server's own: gunicorn's parse errors, OSError, ...
            self._failed = True
            log.info("request body unreadable (%s)", type(exc).__name__)
            raise InvalidPayload(UNREADABLE) from exc
        self._seen += len(data)
        return data

    def _check_complete(self) -> None:
        if self._length is not None and self._seen < self._length:
            self._failed = True
            log.info("request body ended after %d of %d bytes", self._seen, self._length)
            raise InvalidPayload(UNREADABLE)


def whole_bodies(wsgi_app: WSGIApplication) -> WSGIApplication:
    """Wrap a WSGI app so that it reads every request body through :class:`WholeBody`."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ["wsgi.input"] = WholeBody(environ["wsgi.input"], get_content_length(environ))
        return wsgi_app(environ, start_response)

    return app


def install(app: Flask) -> None:
    """Register the body guard, the session teardown and the JSON error handlers."""
    app.wsgi_app = whole_bodies(app.wsgi_app)  # type: ignore[method-assign]

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    @app.errorhandler(RequestRefused)
    def _refused(exc: RequestRefused) -> ResponseReturnValue:
        note_refusal(exc.code)
        body = {"error": exc.code, "reason": exc.reason}
        if exc.why is not None:
            body["why"] = exc.why.value  # what pages choose their words by (errors.Why)
        response = jsonify(body)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, exc.status

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        code = HTTP_CODES.get(status, (exc.name or "error").lower().replace(" ", "_"))
        note_refusal(code)
        return jsonify(error=code, reason=exc.description), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error on %s %s", request.method, request.path)
        note_refusal("internal_error")
        return jsonify(
            error="internal_error", reason="internal error; the request was not processed"
        ), 500
