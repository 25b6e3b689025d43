"""A tiny SIP UDP client that REGISTERs (and unregisters) a phone with digest auth: enough to put a
contact into Kamailio's location table in a test, without a phone farm."""

from __future__ import annotations

import hashlib
import re
import socket
import uuid


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # SIP digest is MD5 by definition


def _request(user: str, registrar: str, local: str, call_id: str, cseq: int, expires: int, auth: str = "") -> bytes:
    branch = "z9hG4bK" + uuid.uuid4().hex[:16]
    lines = [
        f"REGISTER sip:{registrar} SIP/2.0",
        f"Via: SIP/2.0/UDP {local};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{registrar}>;tag={call_id[:8]}",
        f"To: <sip:{user}@{registrar}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        "Contact: *" if expires == 0 else f"Contact: <sip:{user}@{local}>",  # 0: every contact of the AoR
        f"Expires: {expires}",
    ]
    if auth:
        lines.append(auth)
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def register(user: str, password: str, registrar: str, expires: int = 60, timeout: float = 3.0) -> int:
    """REGISTER ``user`` at ``registrar`` ("host:port") for ``expires`` seconds (0: unregister, every
    contact of the AoR: ``Contact: *``); the final status code."""
    host, _, port = registrar.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        local = f"127.0.0.1:{sock.getsockname()[1]}"
        call_id = uuid.uuid4().hex
        sock.sendto(_request(user, registrar, local, call_id, 1, expires), (host, int(port)))
        status, reply = _reply(sock)
        if status == 401:
            found = dict(re.findall(r'(\w+)="([^"]*)"', reply.split("WWW-Authenticate:", 1)[1].split("\r\n", 1)[0]))
            realm, nonce = found["realm"], found["nonce"]
            uri = f"sip:{registrar}"
            response = _md5(f"{_md5(f'{user}:{realm}:{password}')}:{nonce}:{_md5(f'REGISTER:{uri}')}")
            auth = (
                f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
                f'response="{response}", algorithm=MD5'
            )
            sock.sendto(_request(user, registrar, local, call_id, 2, expires, auth), (host, int(port)))
            status, _ = _reply(sock)
        return status


def _reply(sock: socket.socket) -> tuple[int, str]:
    """The first final reply (provisional ones skipped)."""
    while True:
        text = sock.recv(65535).decode(errors="replace")
        status = int(text.split(" ", 2)[1])
        if status >= 200:
            return status, text
