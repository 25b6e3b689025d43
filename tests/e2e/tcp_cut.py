"""A loopback TCP relay the tests can cut: between the ACD and Asterisk's AMI.

``close()`` drops every connection at once (a clean cut: both ends see EOF). ``blackhole()`` keeps
the sockets open but stops relaying bytes (a half-open link: only a watchdog can notice), and
``restore()`` lets traffic flow again and accepts new connections.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpCut:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._flowing.is_set():
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers |= {writer, up_writer}
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                await self._flowing.wait()  # a blackhole holds the bytes back, sockets stay open
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                dst.close()

    def close_all(self) -> None:
        """Cut every current connection (both ends see the TCP close)."""
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def blackhole(self) -> None:
        """Stop relaying and refuse new connections, without closing anything."""
        self._flowing.clear()

    def restore(self) -> None:
        self.close_all()  # whatever was held back is stale; the client must reconnect
        self._flowing.set()

    async def stop(self) -> None:
        self.close_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
