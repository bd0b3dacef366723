"""A throwaway PostgreSQL cluster on loopback, for running the tests against PostgreSQL.

The cluster lives in a temporary directory (data, log and unix socket) and listens on a
free port of 127.0.0.1 only; every test gets a database of its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

POSTGRES_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
# Debian's server runs as this system user; initdb refuses to run as root.
SYSTEM_USER = "postgres"
START_ATTEMPTS = 3
LOG_TAIL_LINES = 30
# Trust is safe here: the server listens on loopback and a socket in a private directory.
INITDB_OPTIONS = ("-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
# Production servers often run in the host's local time; a zone that is never UTC (and
# off by a half hour) makes code that assumes UTC timestamps fail here rather than there.
SERVER_TIMEZONE = "Asia/Kolkata"
# Durability is worthless for a cluster deleted at the end of the run.
NO_DURABILITY = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
DIR_PREFIX = "rafiq-pg-"
OWNER_FILE = "owner.pid"
MAX_NAME_LENGTH = 63  # NAMEDATALEN - 1: PostgreSQL would silently truncate longer names


class PostgresClusterError(RuntimeError):
    """initdb or pg_ctl failed; the message carries their output and the server log's tail."""


def find_bin_dir(root: Path = POSTGRES_ROOT) -> Path | None:
    """The ``bin`` directory of the newest PostgreSQL major version installed, if any."""
    candidates = [
        path.parent
        for path in root.glob("*/bin/initdb")
        if path.parent.parent.name.isdigit() and os.access(path, os.X_OK)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda bin_dir: int(bin_dir.parent.name))


def database_name(label: str, serial: int) -> str:
    """A valid, unique database name derived from a test's name."""
    stem = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_") or "db"
    suffix = f"_{serial}"
    return stem[: MAX_NAME_LENGTH - len(suffix)] + suffix


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(bin_dir: Path) -> None:
    """Stops the clusters of test runs killed before their teardown (SIGTERM, SIGKILL)."""
    for root in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        try:
            owner = int((root / OWNER_FILE).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue  # not ours, or a cluster being set up right now
        if not _alive(owner):
            with contextlib.suppress(PostgresClusterError):
                PostgresCluster(bin_dir, root, port=0).stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresCluster:
    """A running cluster; ``start`` makes one, ``stop`` shuts it down and deletes its files."""

    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.port = port
        self._serial = 0
        self._admin: psycopg.Connection[tuple[object, ...]] | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def start(cls, bin_dir: Path) -> PostgresCluster:
        reap_orphans(bin_dir)
        root = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        (root / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
        cluster = cls(bin_dir, root, port=0)
        try:
            if os.geteuid() == 0:
                shutil.chown(root, SYSTEM_USER, SYSTEM_USER)
            cluster._run("initdb", "-D", str(cluster.data_dir), *INITDB_OPTIONS)
            cluster._start_server()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _start_server(self) -> None:
        # The port is free when probed but another process may take it before the server
        # binds it; a fresh port on the next attempt makes that race harmless.
        data, log = str(self.data_dir), str(self.log_file)
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = _free_port()
            options = (
                f"-k {shlex.quote(str(self.root))} -p {self.port} -c listen_addresses=127.0.0.1 "
                f"-c timezone={SERVER_TIMEZONE} {NO_DURABILITY}"
            )
            try:
                self._run("pg_ctl", "-D", data, "-l", log, "-w", "-o", options, "start")
                return
            except PostgresClusterError:
                if attempt == START_ATTEMPTS:
                    raise

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        # cwd: the tests chdir into root-only temporary directories the server user cannot enter.
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PostgresClusterError(
                f"{program} failed with exit code {done.returncode}: {shlex.join(command)}\n"
                f"{done.stdout}{done.stderr}{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return f"--- {self.log_file} (last lines) ---\n" + "\n".join(lines[-LOG_TAIL_LINES:])

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        # CREATE/DROP DATABASE cannot run inside a transaction block.
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user=SUPERUSER,
                dbname="postgres",
                autocommit=True,
            )
        return self._admin

    def create_database(self, label: str) -> str:
        """Creates an empty database named after ``label``; returns its SQLAlchemy URL."""
        self._serial += 1
        name = database_name(label, self._serial)
        self._admin_connection().execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drops the database of ``url``, ending any connection a test left open on it."""
        name = url.rsplit("/", 1)[1]
        self._admin_connection().execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def stop(self) -> None:
        """Shuts the server down and deletes its directory; safe to call more than once."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
