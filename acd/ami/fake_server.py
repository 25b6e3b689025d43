"""A loopback stand-in for Asterisk's AMI, for tests and the ingest benchmark.

It speaks the real wire protocol (banner, Login, ActionID-tagged responses, event lists) and
records every action it receives, so a test can assert what the ACD sent and how often (for
example: an action pending across a reconnect reached the server once, never twice). It can
also misbehave on purpose: ``silent`` stops all replies while keeping the socket open, which is
what a half-open link looks like from the client side. Like httpx's ``MockTransport``, it lives
beside the code it fakes so the runtime's own tests can use it too; nothing imports it at runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping

BANNER = "Asterisk Call Manager/9.0.0"
_LISTS = {
    "coreshowchannels": ("channels", "CoreShowChannel", "CoreShowChannelsComplete"),
    "pjsipshowcontacts": ("contacts", "ContactList", "ContactListComplete"),
    "devicestatelist": ("devices", "DeviceStateChange", "DeviceStateListComplete"),
    "dbgettree": ("astdb", "DBGetTreeResponse", "DBGetTreeComplete"),  # rows of the asked Family (Key /family/key)
}

Handler = Callable[[Mapping[str, str]], list[Mapping[str, str]]]


def format_message(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> bytes:
    """One AMI message in wire form, headers in the given order, closed by a blank line."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return "".join(f"{k}: {v}\r\n" for k, v in items).encode() + b"\r\n"


class FakeAmiServer:
    """``port = await server.start()``; point an ``AmiLink`` at it; ``await server.stop()``."""

    def __init__(self, username: str = "acd", secret: str = "secret") -> None:
        self.username = username
        self.secret = secret
        self.actions: list[dict[str, str]] = []
        self.logins = 0
        self.silent = False
        self.unanswered: set[str] = set()
        self.after_login = b""
        self.variables: dict[tuple[str, str], str] = {}
        self.channels: list[dict[str, str]] = []
        self.contacts: list[dict[str, str]] = []
        self.devices: list[dict[str, str]] = []
        self.astdb: list[dict[str, str]] = []  # DBGetTree rows: Key ("/family/key"), Val
        self.system_name = ""  # CoreSettings' SystemName (asterisk.conf systemname)
        # CoreStatus' CoreStartupDate and CoreStartupTime: set another to play a restarted Asterisk
        self.started = ("2026-12-01", "08:00:00")
        self.handlers: dict[str, Handler] = {}
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0
        self._received = asyncio.Condition()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_clients()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def push(self, *events: Mapping[str, str]) -> None:
        self.push_raw(b"".join(format_message(e) for e in events))

    def push_raw(self, data: bytes) -> None:
        for writer in self._writers:
            writer.write(data)

    def drop_clients(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.get("Action", "").lower() == action.lower())

    async def wait_for(self, action: str, count: int = 1, within: float = 5.0) -> None:
        async with asyncio.timeout(within), self._received:
            await self._received.wait_for(lambda: self.count(action) >= count)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        self._writers.append(writer)
        writer.write(f"{BANNER}\r\n".encode())
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                action = dict(line.split(": ", 1) for line in block.decode().split("\r\n") if ": " in line)
                async with self._received:
                    self.actions.append(action)
                    self._received.notify_all()
                name = action.get("Action", "").lower()
                if self.silent or name in self.unanswered:
                    continue
                writer.write(self._answer(name, action))
                if name == "logoff" or (name == "login" and not self._authorised(action)):
                    break
                if name == "login":
                    writer.write(self.after_login)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            with contextlib.suppress(ConnectionError):
                writer.close()

    def _authorised(self, action: Mapping[str, str]) -> bool:
        return action.get("Username") == self.username and action.get("Secret") == self.secret

    def _answer(self, name: str, action: Mapping[str, str]) -> bytes:
        aid = action.get("ActionID", "")
        if name in self.handlers:
            return b"".join(format_message({**m, "ActionID": aid}) for m in self.handlers[name](action))
        if name == "login":
            if not self._authorised(action):
                return _response(aid, "Error", Message="Authentication failed")
            self.logins += 1
            return _response(aid, "Success", Message="Authentication accepted")
        if name == "ping":
            return _response(aid, "Success", Ping="Pong", Timestamp="1700000000.000000")
        if name == "logoff":
            return _response(aid, "Goodbye", Message="Thanks for all the fish.")
        if name == "getvar":
            return self._getvar(aid, action)
        if name in _LISTS:
            attr, item, complete = _LISTS[name]
            rows: list[dict[str, str]] = getattr(self, attr)
            if name == "dbgettree":
                rows = [r for r in rows if r.get("Key", "").startswith(f"/{action.get('Family', '')}/")]
                if not rows:  # as Asterisk answers for an empty family
                    return _response(aid, "Error", Message="Database entry not found")
            out = _response(aid, "Success", EventList="start", Message="Events will follow")
            out += b"".join(format_message({"Event": item, "ActionID": aid, **row}) for row in rows)
            done = {"Event": complete, "ActionID": aid, "EventList": "Complete", "ListItems": str(len(rows))}
            return out + format_message(done)
        if name == "coresettings":
            return _response(aid, "Success", AMIversion="9.0.0", AsteriskVersion="22.0.0", SystemName=self.system_name)
        if name == "corestatus":
            date, at = self.started
            return _response(aid, "Success", CoreStartupDate=date, CoreStartupTime=at, CoreCurrentCalls="0")
        if name == "originate":
            return _response(aid, "Success", Message="Originate successfully queued")
        return _response(aid, "Success", Message=f"{action.get('Action')} accepted")

    def _getvar(self, aid: str, action: Mapping[str, str]) -> bytes:
        channel, var = action.get("Channel", ""), action.get("Variable", "")
        known = {c.get("Channel") for c in self.channels} | {c for c, _ in self.variables}
        if channel and channel not in known:
            return _response(aid, "Error", Message="No such channel")
        value = self.variables.get((channel, var), "")
        return _response(aid, "Success", Variable=var, Value=value)


def _response(action_id: str, status: str, **headers: str) -> bytes:
    return format_message({"Response": status, "ActionID": action_id, **headers})
