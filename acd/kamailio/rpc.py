"""One JSON-RPC call at a time over Kamailio's unix datagram socket (module ``jsonrpcs``).

Why a unix datagram socket: it is local by construction (nothing on the network can reach it), its
access is the file's permissions, and ``jsonrpcs`` loads it with Kamailio's base package. A request is
one datagram to Kamailio's socket; the reply is one datagram back to the sender's address. The
client binds an abstract address of Linux's choosing (autobind): no file to create or clean up, and
Kamailio needs no permission on any folder of the ACD.

Every failure is an ``RpcFailed`` with a reason, never anything else: no reply within the timeout
(Kamailio stopped, or its reply did not fit one datagram), a reply larger than the cap, a reply that
is not JSON-RPC, a reply to another request, or an error the method returned.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import socket
from typing import Any

__all__ = ["FAILURES", "KamailioRpc", "RpcFailed"]

# why a call failed (the reason label of acd_kamailio_reads_failed_total)
FAILURES = ("unanswered", "oversize", "malformed", "error")
REPLY_CAP = 1 << 20  # bytes: a reply larger than this is refused unread (jsonrpcs sends up to ~128 KiB)
_ids = itertools.count(1)


class RpcFailed(Exception):
    """A call that brought no usable result; ``reason`` is one of ``FAILURES``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class KamailioRpc:
    """JSON-RPC calls to the ``jsonrpcs`` datagram socket at ``path`` (an absolute file path)."""

    def __init__(self, path: str, timeout: float = 1.0, reply_cap: int = REPLY_CAP) -> None:
        self.path = path
        self.timeout = timeout
        self.reply_cap = reply_cap

    async def call(self, method: str, *params: str) -> Any:
        """The ``result`` of ``method`` (any JSON value), or ``RpcFailed``."""
        request_id = f"acd-{next(_ids)}-{secrets.token_hex(8)}"  # unguessable: a forged reply cannot match
        request = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": request_id})
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.bind("")  # autobind: an abstract address, no file
            try:
                await asyncio.wait_for(loop.sock_sendto(sock, request.encode(), self.path), self.timeout)
                data = await asyncio.wait_for(self._reply(loop, sock), self.timeout)
            except (TimeoutError, OSError) as exc:
                raise RpcFailed("unanswered", f"{method}: {type(exc).__name__} {exc}".strip()) from None
        return _result(data, request_id, method)

    async def _reply(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bytes:
        """The one datagram of the reply (Kamailio replies from an unnamed socket: the sender says nothing;
        the request's unguessable id is what ties the reply to it)."""
        data = await loop.sock_recv(sock, self.reply_cap + 1)
        if len(data) > self.reply_cap:
            raise RpcFailed("oversize", f"a reply of more than {self.reply_cap} bytes")
        return data


def _result(data: bytes, request_id: str, method: str) -> Any:
    """The ``result`` of one JSON-RPC reply to ``request_id``, checked."""
    try:
        reply = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise RpcFailed("malformed", f"{method}: not JSON ({type(exc).__name__})") from None
    if not isinstance(reply, dict):
        raise RpcFailed("malformed", f"{method}: the reply is a {type(reply).__name__}, not an object")
    if reply.get("id") != request_id:
        raise RpcFailed("malformed", f"{method}: a reply to another request")
    if "error" in reply:
        error = reply["error"]
        message = error.get("message") if isinstance(error, dict) else None
        shown = repr(message[:80]) if isinstance(message, str) else "(no message)"
        raise RpcFailed("error", f"{method}: {shown}")
    if "result" not in reply:
        raise RpcFailed("malformed", f"{method}: neither result nor error")
    return reply["result"]
