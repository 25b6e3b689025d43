"""What every HTTP request passes before any handler: the checks a browser on the LAN cannot be trusted
to make for us.

- ``Host`` must name this service (``http.allowed_hosts``): a page of another site that rebinds its
  DNS name to this address (DNS rebinding) sends its own name and gets 421, so it can read nothing,
  not even the loopback-only ``/metrics``.
- A state-changing request (POST, PUT, PATCH, DELETE) that carries an ``Origin`` must come from this
  service's own origin (403): a page elsewhere cannot act with a token the browser holds.
- A body is read as JSON only when it says ``Content-Type: application/json`` (415 otherwise): a
  cross-site ``fetch`` in ``no-cors`` mode can send ``text/plain`` but never that.
- Every answer says ``nosniff``; HTML pages (``page_headers``) get a Content Security Policy that allows only this
  service's own scripts, styles and connections, and no framing (``frame-ancestors 'none'``,
  ``X-Frame-Options: DENY``), so the desk and the wallboard cannot be clickjacked or injected into.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from yarl import URL

from acd.http import errors
from acd.http.keys import ALLOWED_HOSTS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON = "application/json"
# An orchestrator's probe calls by whatever address it found: these two answer whatever the Host.
PROBES = frozenset({"/healthz", "/readyz"})

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    # a recording is fetched with the token (connect-src) and played from a blob: URL of this page
    "media-src blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def default_hosts(bind: str) -> tuple[str, ...]:
    """The names a client may call this service by when the settings name none."""
    return tuple(dict.fromkeys((bind, "localhost", "127.0.0.1")))


def host_name(header: str) -> str:
    """``Host`` without its port, lower case; IPv6 literals without their brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def allow_hosts(app: web.Application, names: Iterable[str]) -> None:
    app[ALLOWED_HOSTS] = frozenset(host_name(n) if n.startswith("[") else n.lower() for n in names)


def same_origin(request: web.Request, origin: str) -> bool:
    """Whether ``Origin`` names the host the request was sent to (and its port, when Host gives one:
    behind a TLS proxy, Host carries none and the browser's origin is https on 443)."""
    try:
        url = URL(origin)
    except ValueError:
        return False
    if url.scheme not in ("http", "https") or url.host is None:
        return False
    if url.host.lower() != host_name(request.host):
        return False
    port = _explicit_port(request.host)
    return port is None or url.port == port


def _explicit_port(header: str) -> int | None:
    tail = header.strip().rpartition("]")[2] if header.strip().startswith("[") else header.strip()
    if tail.count(":") == 1 and tail.rpartition(":")[2].isdigit():
        return int(tail.rpartition(":")[2])
    return None


def _has_body(request: web.Request) -> bool:
    return request.content_length not in (None, 0) or request.headers.get("Transfer-Encoding", "") != ""


@web.middleware
async def boundary(request: web.Request, handler: Handler) -> web.StreamResponse:
    allowed = request.app.get(ALLOWED_HOSTS)
    if allowed is not None and request.path not in PROBES and host_name(request.host) not in allowed:
        return errors.error(421, "unknown-host", "this service does not answer to that Host name (http.allowed_hosts)")
    if request.method in STATE_CHANGING:
        origin = request.headers.get("Origin")
        if origin is not None and not same_origin(request, origin):
            return errors.forbidden("a state-changing request from another origin is refused")
        if _has_body(request) and request.content_type != JSON:
            return errors.error(
                415, "unsupported-media-type", "a request body must be JSON, sent with Content-Type: application/json"
            )
    response = await handler(request)
    if not response.prepared:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def page_headers() -> dict[str, str]:
    """The headers of an HTML page (its handler sets them: a file's type is known only once it is sent)."""
    return {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }
