"""Apache Kafka (KRaft, broker+controller nodes) run from the jars Maven resolves: one node by default, or a
``KafkaCluster`` of several on local ports (the fault suite's three-broker scenario, issue 29).

The broker is started detached (own session, not a child of the caller) with a pid file in its data
directory, so it outlives the Python process that started it; a later ``start()`` reuses it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lsg_local._paths import kafka_project_dir
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

__all__ = [
    "KafkaCluster",
    "KafkaProcess",
    "check_prerequisites",
    "kafka_version",
    "probe_kafka",
    "resolve_kafka_lib",
]

# jars whose absence means target/lib is incomplete (prefixes of the file names)
_REQUIRED_JARS = (
    "kafka_2.13-",
    "kafka-server-",
    "kafka-storage-",
    "kafka-clients-",
    "kafka-tools-",
    "log4j-core-",
    "log4j-slf4j-impl-",
    "slf4j-api-",
    "scala-library-",
)
_STAMP = ".lsg-complete"
_MAIN_CLASS = "kafka.Kafka"
_STORAGE_TOOL = "kafka.tools.StorageTool"  # what bin/kafka-storage.sh runs in Kafka 4.x

_LOG4J2 = """\
# Written by lsg_local on every start. The broker logs WARN and above to server.log (rotated at 10 MB).
status = warn
name = lsg-kafka
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 10MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
# one INFO line per start/stop ("Kafka Server started"), handy when reading the log
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = info
"""


def _missing_jars(lib: Path) -> list[str]:
    if not lib.is_dir():
        return list(_REQUIRED_JARS)
    names = [p.name for p in lib.glob("*.jar")]
    return [req for req in _REQUIRED_JARS if not any(n.startswith(req) for n in names)]


def _default_lib() -> tuple[Path, Path, str]:
    project = kafka_project_dir()
    pom = project / "pom.xml"
    if not pom.is_file():
        raise InfraError(f"{pom} not found; set LSG_KAFKA_LIB to a folder with the Kafka jars")
    return project, project / "target" / "lib", hashlib.sha256(pom.read_bytes()).hexdigest()


def _lib_complete(lib: Path, want: str) -> bool:
    stamp = lib / _STAMP
    return stamp.is_file() and stamp.read_text().strip() == want and not _missing_jars(lib)


def check_prerequisites(*, need_lib: bool = True) -> None:
    """Raise ``InfraError`` with a clear message when Java (or Maven, while the jars are not resolved
    yet and ``need_lib``) is missing."""
    if shutil.which("java") is None:
        raise InfraError(
            "java is not on PATH: Kafka 4 needs a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
        )
    if not need_lib or os.environ.get("LSG_KAFKA_LIB"):
        return
    _, lib, want = _default_lib()
    if not _lib_complete(lib, want) and shutil.which("mvn") is None:
        raise InfraError(
            "Maven (mvn) is not on PATH and the Kafka jars are not resolved yet: install Maven "
            "(Debian: apt-get install maven) or set LSG_KAFKA_LIB to a folder holding Kafka's jars"
        )


def resolve_kafka_lib() -> Path:
    """The folder with the broker's jars.

    ``$LSG_KAFKA_LIB`` when set (used as is); otherwise ``deploy/local/kafka/target/lib``, built with
    ``mvn -q -B package`` when it is missing, incomplete or older than ``pom.xml`` (a stamp file holds
    the pom's hash).
    """
    env = os.environ.get("LSG_KAFKA_LIB")
    if env:
        lib = Path(env).expanduser().resolve()
        missing = _missing_jars(lib)
        if missing:
            raise InfraError(f"LSG_KAFKA_LIB={lib} lacks the jars {', '.join(m + '*.jar' for m in missing)}")
        return lib

    project, lib, want = _default_lib()
    if _lib_complete(lib, want):
        return lib
    with file_lock(project / "target" / ".lsg-build.lock"):
        if _lib_complete(lib, want):
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise InfraError(
                "Maven (mvn) is not on PATH and the Kafka jars are not resolved yet: install Maven "
                "(Debian: apt-get install maven) or set LSG_KAFKA_LIB to a folder holding Kafka's jars"
            )
        shutil.rmtree(lib, ignore_errors=True)  # drop jars of an older pom
        try:
            res = subprocess.run(
                [mvn, "-q", "-B", "package"],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise InfraError(f"mvn -q -B package in {project} timed out") from exc
        if res.returncode != 0:
            out = (res.stdout + res.stderr).strip()[-4000:]
            raise InfraError(f"mvn -q -B package in {project} failed ({res.returncode}):\n{out}")
        missing = _missing_jars(lib)
        if missing:
            raise InfraError(f"mvn package left {lib} without {', '.join(missing)}")
        (lib / _STAMP).write_text(want + "\n")
    return lib


def kafka_version(lib: Path) -> str:
    for jar in lib.glob("kafka_2.13-*.jar"):
        return jar.stem.removeprefix("kafka_2.13-")
    return "unknown"


# --- a minimal Kafka wire-protocol probe (ApiVersions v0 + Metadata v4..v8) -----------------------


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        buf += chunk
    return bytes(buf)


def _request(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    client_id = b"lsg-infra"
    msg = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    resp = _recv_exact(sock, size)
    if struct.unpack(">i", resp[:4])[0] != corr:
        raise ConnectionError("unexpected correlation id")
    return resp[4:]


def probe_kafka(host: str, port: int, timeout: float = 2.0) -> list[int]:
    """Send a real Metadata request; returns the ids of the brokers the cluster reports (empty: not ready).

    Raises ``OSError`` when nothing answers on the port. No client library is needed.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        body = _request(sock, 18, 0, 1, b"")  # ApiVersions v0: every broker supports it
        (err, count) = struct.unpack(">hi", body[:6])
        if err != 0:
            return []
        meta_range = None
        for i in range(count):
            key, lo, hi = struct.unpack(">hhh", body[6 + 6 * i : 12 + 6 * i])
            if key == 3:
                meta_range = (lo, hi)
        if meta_range is None:
            return []
        usable = [v for v in range(4, 9) if meta_range[0] <= v <= meta_range[1]]  # non-flexible versions
        if not usable:
            raise ConnectionError(f"broker supports no Metadata version in 4..8: {meta_range}")
        version = usable[-1]
        req = struct.pack(">ib", 0, 0)  # no topics, allow_auto_topic_creation=false
        if version >= 8:
            req += struct.pack(">bb", 0, 0)  # include cluster/topic authorized operations
        body = _request(sock, 3, version, 2, req)
        (_throttle, nbrokers) = struct.unpack(">ii", body[:8])
        pos, ids = 8, []
        for _ in range(nbrokers):
            (node_id, hlen) = struct.unpack(">ih", body[pos : pos + 6])
            pos += 6 + hlen + 4  # host, port
            (rlen,) = struct.unpack(">h", body[pos : pos + 2])
            pos += 2 + max(rlen, 0)  # rack (nullable)
            ids.append(node_id)
        return ids


def _cluster_id() -> str:
    while True:  # Kafka's Uuid: url-safe base64 of 16 random bytes, never starting with '-'
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


class KafkaProcess:
    """One KRaft node (``process.roles=broker,controller``) on ``127.0.0.1:port``.

    Layout: ``data_dir/server.properties``, ``log4j2.properties``, ``kafka.pid`` and the partition data
    in ``data_dir/kraft-logs``; ``log_dir/server.log`` (log4j, WARN) and ``log_dir/kafka.out``
    (the JVM's stdout/stderr).
    """

    def __init__(
        self,
        port: int,
        controller_port: int,
        data_dir: Path,
        log_dir: Path,
        heap: str = "512m",
        *,
        node_id: int = 1,
        lib_dir: Path | None = None,
        extra_properties: Mapping[str, str] | None = None,
        format_args: Sequence[str] = (),
        ready_probe: Callable[[], bool] | None = None,
        quick_jit: bool = True,
        voters: Mapping[int, int] | None = None,
        cluster_id: str | None = None,
    ) -> None:
        """``extra_properties`` are added to (and override) the generated ``server.properties``;
        ``format_args`` are appended to the ``StorageTool format`` command (e.g. ``--add-scram ...``);
        ``ready_probe`` replaces the PLAINTEXT Metadata probe (for a broker with no PLAINTEXT listener);
        ``quick_jit`` compiles with C1 only (see ``_launch``); off for a broker measured at its peak.
        ``voters`` (node id -> controller port, this node's included) and ``cluster_id`` make the node one of a
        cluster with a static controller quorum (``KafkaCluster``); without them it is a standalone node."""
        self.port = port
        self.controller_port = controller_port
        self.data_dir = Path(data_dir).resolve()
        self.log_dir = Path(log_dir).resolve()
        self.heap = heap
        self.node_id = node_id
        self._lib_dir = lib_dir
        self.extra_properties = dict(extra_properties or {})
        self.format_args = tuple(format_args)
        self.ready_probe = ready_probe
        self.quick_jit = quick_jit
        self.voters = dict(voters or {})
        self.cluster_id = cluster_id
        self.pid_file = self.data_dir / "kafka.pid"
        self.config_file = self.data_dir / "server.properties"
        self.log4j_file = self.data_dir / "log4j2.properties"
        self.kraft_dir = self.data_dir / "kraft-logs"
        self.out_file = self.log_dir / "kafka.out"
        self.server_log = self.log_dir / "server.log"

    def __repr__(self) -> str:
        return f"KafkaProcess(bootstrap={self.bootstrap!r}, data_dir={str(self.data_dir)!r})"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def lib_dir(self) -> Path:
        if self._lib_dir is None:
            self._lib_dir = resolve_kafka_lib()
        return self._lib_dir

    # --- state -----------------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The broker's pid from the pid file, if that process is alive and is this broker."""
        pid = read_pid(self.pid_file)
        if pid is None or not pid_alive(pid):
            return None
        cmd = pid_cmdline(pid)
        if _MAIN_CLASS not in cmd or str(self.config_file) not in cmd:
            return None  # pid reused by something else
        return pid

    def _ready(self) -> bool:
        if self.ready_probe is not None:
            return self.ready_probe()
        try:
            return self.node_id in probe_kafka("127.0.0.1", self.port)
        except (OSError, ConnectionError, struct.error):
            return False

    def is_running(self) -> bool:
        """Pid alive and the broker answers a Metadata request."""
        return self.pid() is not None and self._ready()

    # --- start / stop ----------------------------------------------------------------------------

    def start(self, timeout: float = 90, *, wait: bool = True) -> bool:
        """Start the broker and wait until it serves metadata (``wait=False``: return once launched; a cluster's
        node cannot answer before a quorum of controllers runs). Returns False if one was already running."""
        deadline = time.monotonic() + timeout
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.data_dir / ".lock"):
            pid = self.pid()
            if pid is not None:  # already running (maybe still starting): reuse it
                self._wait_ready(pid, deadline)
                return False
            self.pid_file.unlink(missing_ok=True)
            for p in (self.port, self.controller_port):
                if port_open(p):
                    raise InfraError(f"port {p} is taken by another process; cannot start Kafka there")
            check_prerequisites(need_lib=self._lib_dir is None)
            java = shutil.which("java") or "java"
            lib = self.lib_dir
            self._write_config()
            if not (self.kraft_dir / "meta.properties").is_file():
                self._format(java, lib)
            pid = self._launch(java, lib)
            if wait:
                self._wait_ready(pid, deadline)
            return True

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until a launched node serves metadata (raises ``InfraError`` if it exits or the time runs out)."""
        pid = self.pid()
        if pid is None:
            raise InfraError(f"Kafka node {self.node_id} is not running.\n--- {self.out_file}:\n{tail(self.out_file)}")
        self._wait_ready(pid, time.monotonic() + timeout)

    def kill(self) -> bool:
        """SIGKILL (a crash: no controlled shutdown). Returns False if it was not running."""
        import signal

        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def stop(self, timeout: float = 30) -> bool:
        """SIGTERM (controlled shutdown), SIGKILL after ``timeout`` s. Returns False if it was not running."""
        with file_lock(self.data_dir / ".lock"):
            pid = self.pid()
            if pid is None:
                self.pid_file.unlink(missing_ok=True)
                return False
            terminate(pid, timeout)
            self.pid_file.unlink(missing_ok=True)
            return True

    # --- internals -------------------------------------------------------------------------------

    def _jvm_props(self) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            f"-Dkafka.logs.dir={self.log_dir}",
            "-Djava.awt.headless=true",
        ]

    def _write_config(self) -> None:
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.kraft_dir),
            # topics are created explicitly (by the services' bootstrap or the tests)
            "auto.create.topics.enable": "false",
            "num.partitions": "3",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "offsets.topic.segment.bytes": str(16 * 1024 * 1024),
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "transaction.state.log.segment.bytes": str(16 * 1024 * 1024),
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "share.coordinator.state.topic.num.partitions": "3",
            "group.initial.rebalance.delay.ms": "0",
            # small, dev-sized storage: 16 MB segments, 1 MB index files, keep 3 days or 256 MB/partition
            "log.segment.bytes": str(16 * 1024 * 1024),
            "log.index.size.max.bytes": str(1024 * 1024),
            "log.retention.hours": "72",
            "log.retention.bytes": str(256 * 1024 * 1024),
            "log.retention.check.interval.ms": "60000",
            "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
            "metadata.log.segment.bytes": str(8 * 1024 * 1024),
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "2",
        }
        if self.voters:  # one node of a cluster: a static quorum, and replication as production runs it
            replicas = str(min(3, len(self.voters)))
            min_isr = str(max(1, int(replicas) - 1))
            props.pop("controller.quorum.bootstrap.servers")
            props.update(
                {
                    "controller.quorum.voters": ",".join(
                        f"{node}@127.0.0.1:{port}" for node, port in sorted(self.voters.items())
                    ),
                    "default.replication.factor": replicas,
                    "min.insync.replicas": min_isr,
                    "unclean.leader.election.enable": "false",
                    "offsets.topic.replication.factor": replicas,
                    "transaction.state.log.replication.factor": replicas,
                    "transaction.state.log.min.isr": min_isr,
                    "share.coordinator.state.topic.replication.factor": replicas,
                    "share.coordinator.state.topic.min.isr": min_isr,
                }
            )
        props.update(self.extra_properties)
        text = "# Written by lsg_local.kafka on every start; edits are overwritten.\n"
        text += "".join(f"{k}={v}\n" for k, v in props.items())
        self.config_file.write_text(text)
        self.log4j_file.write_text(_LOG4J2)

    def _format(self, java: str, lib: Path) -> None:
        shutil.rmtree(self.kraft_dir, ignore_errors=True)  # never formatted: nothing worth keeping
        cmd = [
            java,
            "-Xmx256m",
            *self._jvm_props(),
            "-cp",
            f"{lib}/*",
            _STORAGE_TOOL,
            "format",
            *([] if self.voters else ["--standalone"]),  # a static quorum's nodes are formatted without it
            "--cluster-id",
            self.cluster_id or _cluster_id(),
            "--config",
            str(self.config_file),
            "--ignore-formatted",
            *self.format_args,
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if res.returncode != 0 or not (self.kraft_dir / "meta.properties").is_file():
            raise InfraError(f"kafka storage format failed ({res.returncode}):\n{res.stdout}{res.stderr}")

    def _launch(self, java: str, lib: Path) -> int:
        cmd = [
            java,
            # The heap is fixed, as Kafka's own start script fixes it: a heap that starts small keeps G1 in
            # concurrent marking cycles. C1 only (quick_jit): on a two-core machine the C2 compiler took
            # ~50 s of CPU in the broker's first minutes under load (`jstat -compiler`), enough to hold the
            # services' tail latency above 0.5 s for two minutes after every start; with C1 it takes ~4 s,
            # and the broker's steady CPU grows by about 0.05 of a core at 200 records/s. A local broker
            # restarts for every session and CI run, so it pays the warm-up far more often than that.
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            *(["-XX:TieredStopAtLevel=1"] if self.quick_jit else []),
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            *self._jvm_props(),
            "-cp",
            f"{lib}/*",
            _MAIN_CLASS,
            str(self.config_file),
        ]
        with self.out_file.open("ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(cmd)}\n".encode())
        # The shell starts java in the background and prints its pid: java is then no child of ours
        # (no zombie, no ResourceWarning) and lives in its own session, so it outlives this process.
        script = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'
        res = subprocess.run(
            ["/bin/sh", "-c", script, "sh", str(self.out_file), *cmd],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
            start_new_session=True,
            cwd=self.data_dir,
        )
        pid = int(res.stdout.strip())
        self.pid_file.write_text(f"{pid}\n")
        return pid

    def _wait_ready(self, pid: int, deadline: float) -> None:
        while True:
            if self._ready():
                return
            if not pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise InfraError(
                    f"Kafka (pid {pid}) exited during start-up.\n--- {self.out_file}:\n{tail(self.out_file)}"
                    f"\n--- {self.server_log}:\n{tail(self.server_log)}"
                )
            if time.monotonic() > deadline:
                raise InfraError(
                    f"Kafka (pid {pid}) did not answer on {self.bootstrap} in time; it is left running "
                    f"(stop it with KafkaProcess.stop() / lsg-infra stop).\n--- {self.server_log}:\n"
                    f"{tail(self.server_log)}"
                )
            time.sleep(0.2)


class KafkaCluster:
    """``size`` KRaft nodes (each broker and controller, a static quorum of all of them) on local ports, one
    folder each under ``base``: replication factor min(3, size), ``min.insync.replicas`` one less, unclean
    leader election off. ``start()`` launches every node, then waits for each (a node serves metadata only
    once a quorum of controllers runs); ``nodes[i].kill()``/``.stop()``/``.start()`` fail and return one."""

    def __init__(self, base: Path, ports: Sequence[int], controller_ports: Sequence[int], heap: str = "384m") -> None:
        if len(ports) != len(controller_ports) or not ports:
            raise ValueError("one port and one controller port per node")
        voters = {i + 1: cp for i, cp in enumerate(controller_ports)}
        cluster_id = _cluster_id()
        base = Path(base)
        self.nodes = [
            KafkaProcess(
                port,
                cport,
                base / f"node{i + 1}" / "data",
                base / f"node{i + 1}" / "logs",
                heap=heap,
                node_id=i + 1,
                voters=voters,
                cluster_id=cluster_id,
            )
            for i, (port, cport) in enumerate(zip(ports, controller_ports, strict=True))
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    def node(self, node_id: int) -> KafkaProcess:
        return self.nodes[node_id - 1]

    def start(self, timeout: float = 180) -> None:
        for node in self.nodes:
            node.start(timeout, wait=False)
        for node in self.nodes:
            node.wait_ready(timeout)

    def stop(self, timeout: float = 30) -> None:
        for node in self.nodes:
            node.stop(timeout)

    def active_controller(self) -> int | None:
        """The node id the controller quorum's latest state names as leader (read from the nodes' own
        ``quorum-state`` files: the active controller, which Metadata does not report under KRaft)."""
        import json

        best: tuple[int, int] | None = None  # (epoch, leader)
        for node in self.nodes:
            state = node.kraft_dir / "__cluster_metadata-0" / "quorum-state"
            try:
                data = json.loads(state.read_text())
            except (OSError, ValueError):
                continue
            leader, epoch = data.get("leaderId", -1), data.get("leaderEpoch", -1)
            if leader is not None and leader > 0 and (best is None or epoch > best[0]):
                best = (epoch, leader)
        return best[1] if best else None
