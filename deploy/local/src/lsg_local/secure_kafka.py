"""A local Kafka with access control: SASL_SSL (SCRAM-SHA-512 over TLS), one principal per service, ACLs.

``SecureKafka`` runs the same single KRaft node as :class:`lsg_local.kafka.KafkaProcess`, configured as a
production cluster would be, so the suite's clients can be tested against authentication and authorization:

- clients: ``SASL_SSL://127.0.0.1:<port>`` (default 29692), SCRAM-SHA-512, a broker certificate for
  ``127.0.0.1``/``localhost`` signed by a CA made here (``tls/ca.pem``; the CA key is discarded once used);
- controller: ``SASL_PLAINTEXT`` with PLAIN on ``127.0.0.1:<controller_port>`` (29693), principal ``admin``
  (SCRAM cannot authenticate the controller listener in KRaft; nothing but the node itself uses it);
- inter-broker traffic over the SASL_SSL listener as ``admin``;
- ``StandardAuthorizer``, ``super.users=User:admin``, ``allow.everyone.if.no.acl.found=false``;
- SCRAM users ``admin``, ``surveys``, ``training``, ``alerts``, ``reporting``, ``partner`` created when the
  storage is formatted, with random passwords in ``credentials/<principal>.password`` (mode 0600);
- ACLs derived from the topic registry (:data:`lsg_events.topics.TOPICS`): a service may WRITE the topics
  it produces (which include the dead-letter topics of what it consumes), READ the topics it consumes and
  the consumer groups whose names start with its name, and IdempotentWrite on the cluster; ``partner`` may
  WRITE only ``lsg.partner.input.v1``. ACLs are written once, as ``admin``, with CreateAcls requests (a Kafka
  protocol API aiokafka's admin client does not wrap; one Java ``AclCommand`` per binding set would cost ~2 s
  of JVM start-up each). ``acl_tool()`` runs Kafka's own ``AclCommand`` (e.g. ``--list``) from the same jars.

Command line::

    python -m lsg_local.secure_kafka start|stop|status|acls
    eval "$(python -m lsg_local.secure_kafka env surveys)"   # LSG_KAFKA_* for that principal
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import os
import secrets
import shlex
import shutil
import socket
import ssl
import struct
import subprocess
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lsg_events.topics import TOPICS, TopicSpec
from lsg_local._paths import repo_root
from lsg_local._proc import InfraError, file_lock
from lsg_local.kafka import KafkaProcess, _request
from lsg_shared.kafka import ssl_context
from lsg_shared.settings import KafkaSettings

__all__ = ["ADMIN", "PRINCIPALS", "AclBinding", "SecureKafka", "acl_plan"]

ADMIN = "admin"
#: the SCRAM users: the admin (super user) and one principal per service / partner system
PRINCIPALS: tuple[str, ...] = (ADMIN, "surveys", "training", "alerts", "reporting", "partner")
#: names in the topic registry's producers/consumers -> principal (others, e.g. "operators", have none)
_REGISTRY_PRINCIPAL = {
    "surveys": "surveys",
    "training": "training",
    "alerts": "alerts",
    "reporting": "reporting",
    "partners": "partner",
}
MECHANISM = "SCRAM-SHA-512"
_LISTENER = "SASL_SSL"
_CONTROLLER = "CONTROLLER"
_ACL_TOOL = "org.apache.kafka.tools.AclCommand"
_ACL_STAMP = "acls.applied"
# Kafka protocol codes (org.apache.kafka.common.resource.ResourceType, PatternType, acl.AclOperation...)
_RESOURCE_TYPE = {"topic": 2, "group": 3, "cluster": 4}
_PATTERN_TYPE = {"literal": 3, "prefixed": 4}
_OPERATION = {"Read": 3, "Write": 4, "Describe": 8, "IdempotentWrite": 12}
_ALLOW = 3

_TOOLS_LOG4J2 = """\
status = warn
name = lsg-kafka-tools
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = err
"""


@dataclass(frozen=True, order=True)
class AclBinding:
    """One ALLOW ACL: ``principal`` may ``operation`` on ``resource_type`` ``name`` (literal or prefixed)."""

    principal: str
    resource_type: str  # "topic" | "group" | "cluster"
    name: str
    operation: str  # AclCommand's spelling: Read, Write, IdempotentWrite...
    pattern: str = "literal"


def acl_plan(topics: Iterable[TopicSpec] = TOPICS) -> list[AclBinding]:
    """The ACLs of every non-admin principal, from the registry (``admin`` is a super user)."""
    out: set[AclBinding] = set()
    for spec in topics:
        for name in spec.producers:
            if (principal := _REGISTRY_PRINCIPAL.get(name)) is not None:
                out.add(AclBinding(principal, "topic", spec.name, "Write"))  # Write implies Describe
                out.add(AclBinding(principal, "cluster", "kafka-cluster", "IdempotentWrite"))
        for name in spec.consumers:
            if (principal := _REGISTRY_PRINCIPAL.get(name)) is not None:
                out.add(AclBinding(principal, "topic", spec.name, "Read"))  # Read implies Describe
                # consumer groups are named after the service ("reporting", "alerts-partner-input")
                out.add(AclBinding(principal, "group", principal, "Read", "prefixed"))
    return sorted(out)


def _jaas(module: str, username: str, password: str, **users: str) -> str:
    extra = "".join(f' user_{name}="{pw}"' for name, pw in users.items())
    return f'{module} required username="{username}" password="{password}"{extra};'


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def _make_tls(tls_dir: Path) -> None:
    """A CA (its key is not kept) and a broker key + certificate for 127.0.0.1/localhost, all PEM."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:  # pragma: no cover - it is in the workspace's environment
        raise InfraError("SecureKafka needs the 'cryptography' package to make its certificates") from exc

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LSG Events local Kafka CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    cert_pem = cert.public_bytes(pem).decode()
    ca_pem = ca_cert.public_bytes(pem).decode()
    # Kafka's PEM key store: the (unencrypted PKCS#8) private key, then the certificate chain
    _write_private(tls_dir / "broker.pem", key_pem + cert_pem + ca_pem)
    (tls_dir / "broker-cert.pem").write_text(cert_pem)
    (tls_dir / "ca.pem").write_text(ca_pem)  # written last: its presence means the set is complete


def _default_base_dir() -> Path:
    env_dir = os.environ.get("LSG_LOCAL_DIR", "").strip()
    return Path(env_dir or repo_root() / ".data").expanduser().resolve() / "secure-kafka"


class SecureKafka:
    """One KRaft node with SASL_SSL + SCRAM-SHA-512 + ACLs on ``127.0.0.1:port``.

    Layout of ``base_dir`` (mode 0700): ``tls/`` (``ca.pem``, ``broker.pem``), ``credentials/`` (one
    ``<principal>.password`` each), ``admin.properties`` (client config for Kafka's Java tools),
    ``kafka/`` (server.properties, kraft-logs, pid) and ``logs/`` (server.log, kafka.out).
    State is kept between ``stop()`` and ``start()``; delete ``base_dir`` (stopped) to start afresh.
    """

    def __init__(
        self,
        base_dir: Path | str | None = None,
        port: int = 29692,
        controller_port: int = 29693,
        *,
        heap: str = "384m",
        lib_dir: Path | None = None,
    ) -> None:
        self.base_dir = Path(base_dir).expanduser().resolve() if base_dir else _default_base_dir()
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self.tls_dir = self.base_dir / "tls"
        self.ca_file = self.tls_dir / "ca.pem"
        self.keystore_file = self.tls_dir / "broker.pem"
        self.credentials_dir = self.base_dir / "credentials"
        self.admin_config = self.base_dir / "admin.properties"
        self.data_dir = self.base_dir / "kafka"
        self.log_dir = self.base_dir / "logs"
        self._lib_dir = lib_dir
        self._process: KafkaProcess | None = None

    def __repr__(self) -> str:
        return f"SecureKafka(bootstrap={self.bootstrap!r}, base_dir={str(self.base_dir)!r})"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    # --- credentials and client settings ---------------------------------------------------------

    def password_file(self, principal: str) -> Path:
        if principal not in PRINCIPALS:
            raise ValueError(f"unknown principal {principal!r}; one of {', '.join(PRINCIPALS)}")
        return self.credentials_dir / f"{principal}.password"

    def password(self, principal: str) -> str:
        path = self.password_file(principal)
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            raise InfraError(f"no credentials in {self.credentials_dir}: start the secure broker first") from None

    def settings_for(self, principal: str, **overrides: object) -> KafkaSettings:
        """Client settings for ``principal`` (SASL_SSL, SCRAM-SHA-512, the local CA).

        Only ``admin`` creates topics: a service principal may neither create nor even see the topics
        outside its ACLs, so ``create_topics`` is off for it.
        """
        values: dict[str, object] = {
            "bootstrap": self.bootstrap,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": MECHANISM,
            "sasl_username": principal,
            "sasl_password": self.password(principal),
            "ssl_cafile": str(self.ca_file),
            "topic_replication_factor": 1,
            "create_topics": principal == ADMIN,
        }
        values.update(overrides)
        return KafkaSettings.model_validate(values)

    def env(self, principal: str) -> dict[str, str]:
        """The ``LSG_KAFKA_*`` variables a service reads, for ``principal`` (includes the password)."""
        return {
            "LSG_KAFKA_BOOTSTRAP": self.bootstrap,
            "LSG_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "LSG_KAFKA_SASL_MECHANISM": MECHANISM,
            "LSG_KAFKA_SASL_USERNAME": principal,
            "LSG_KAFKA_SASL_PASSWORD": self.password(principal),
            "LSG_KAFKA_SSL_CAFILE": str(self.ca_file),
            "LSG_KAFKA_TOPIC_REPLICATION_FACTOR": "1",
            "LSG_KAFKA_CREATE_TOPICS": "true" if principal == ADMIN else "false",
        }

    # --- state ----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Directories, certificates, passwords and the admin client config (each made once)."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base_dir, 0o700)  # server.properties holds the admin's password
        if not self.ca_file.is_file() or not self.keystore_file.is_file():
            _make_tls(self.tls_dir)
        for principal in PRINCIPALS:
            path = self.password_file(principal)
            if not path.is_file():
                if (self.data_dir / "kraft-logs" / "meta.properties").is_file():
                    raise InfraError(f"{path} is missing but the broker is formatted; delete {self.base_dir}")
                _write_private(path, secrets.token_urlsafe(24) + "\n")
        admin_pw = self.password(ADMIN)
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
        _write_private(
            self.admin_config,
            f"security.protocol=SASL_SSL\nsasl.mechanism={MECHANISM}\n"
            f"sasl.jaas.config={_jaas(scram, ADMIN, admin_pw)}\n"
            f"ssl.truststore.type=PEM\nssl.truststore.location={self.ca_file}\n",
        )
        (self.base_dir / "tools-log4j2.properties").write_text(_TOOLS_LOG4J2)

    def _server_properties(self) -> dict[str, str]:
        admin_pw = self.password(ADMIN)
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
        plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
        lsn, ctl = _LISTENER.lower(), _CONTROLLER.lower()
        return {
            "listeners": f"{_LISTENER}://127.0.0.1:{self.port},{_CONTROLLER}://127.0.0.1:{self.controller_port}",
            "advertised.listeners": (
                f"{_LISTENER}://127.0.0.1:{self.port},{_CONTROLLER}://127.0.0.1:{self.controller_port}"
            ),
            "listener.security.protocol.map": f"{_LISTENER}:SASL_SSL,{_CONTROLLER}:SASL_PLAINTEXT",
            "inter.broker.listener.name": _LISTENER,
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.{lsn}.sasl.enabled.mechanisms": MECHANISM,
            # the broker's own (inter-broker) login; SCRAM users are checked against the cluster metadata
            f"listener.name.{lsn}.scram-sha-512.sasl.jaas.config": _jaas(scram, ADMIN, admin_pw),
            # the controller listener: PLAIN with a static user (KRaft cannot use SCRAM there)
            "sasl.mechanism.controller.protocol": "PLAIN",
            f"listener.name.{ctl}.sasl.enabled.mechanisms": "PLAIN",
            f"listener.name.{ctl}.plain.sasl.jaas.config": _jaas(plain, ADMIN, admin_pw, **{ADMIN: admin_pw}),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore_file),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "ssl.client.auth": "none",
            "ssl.endpoint.identification.algorithm": "https",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{ADMIN}",
            "allow.everyone.if.no.acl.found": "false",
        }

    def _format_args(self) -> list[str]:
        args: list[str] = []
        for principal in PRINCIPALS:
            args += ["--add-scram", f"{MECHANISM}=[name={principal},password={self.password(principal)}]"]
        return args

    def _probe(self) -> bool:
        """Ready = the SASL_SSL listener completes a TLS handshake (verified against the CA) and answers
        ApiVersions (allowed before authentication)."""
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            with (
                socket.create_connection(("127.0.0.1", self.port), timeout=2) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
            ):
                sock.settimeout(2)
                body = _request(sock, 18, 0, 1, b"")
                (error_code,) = struct.unpack(">h", body[:2])
                return bool(error_code == 0)
        except (OSError, ConnectionError, struct.error, ssl.SSLError):
            return False

    def process(self) -> KafkaProcess:
        """The underlying :class:`KafkaProcess` (credentials must exist: after ``start()`` or on a made dir)."""
        if self._process is None:
            self._process = KafkaProcess(
                self.port,
                self.controller_port,
                self.data_dir,
                self.log_dir,
                heap=self.heap,
                lib_dir=self._lib_dir,
                extra_properties=self._server_properties(),
                format_args=self._format_args(),
                ready_probe=self._probe,
            )
        return self._process

    def is_running(self) -> bool:
        if not self.password_file(ADMIN).is_file():
            return False
        return self.process().is_running()

    # --- start / stop ----------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> bool:
        """Start the broker (formatting it with the SCRAM users on first use) and apply the ACLs.

        Returns False if it was already running.
        """
        with file_lock(self.base_dir / ".secure.lock"):
            self._prepare()
            started = self.process().start(timeout=timeout)
            self._apply_acls()
            return started

    def stop(self, timeout: float = 30) -> bool:
        if not self.password_file(ADMIN).is_file():
            return False
        return self.process().stop(timeout=timeout)

    # --- ACLs -------------------------------------------------------------------------------------

    def acl_tool(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run Kafka's ``AclCommand`` as ``admin`` with ``args`` (e.g. ``"--list"``)."""
        proc = self.process()
        java = shutil.which("java") or "java"
        cmd = [
            java,
            "-Xmx128m",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            f"-Dlog4j2.configurationFile={self.base_dir / 'tools-log4j2.properties'}",
            "-cp",
            f"{proc.lib_dir}/*",
            _ACL_TOOL,
            "--bootstrap-server",
            self.bootstrap,
            "--command-config",
            str(self.admin_config),
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def _apply_acls(self, timeout: float = 60) -> None:
        plan = acl_plan()
        want = "".join(f"{b.principal} {b.operation} {b.resource_type}:{b.pattern}:{b.name}\n" for b in plan)
        stamp = self.data_dir / _ACL_STAMP
        if stamp.is_file() and stamp.read_text() == want:
            return  # already in the cluster's metadata (ACLs survive restarts)
        # its own thread and event loop: start() may be called from inside a running loop (async tests)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lsg-acls") as pool:
            pool.submit(asyncio.run, self._create_acls(plan, timeout)).result()
        stamp.write_text(want)

    async def _create_acls(self, plan: Sequence[AclBinding], timeout: float) -> None:
        """Send one CreateAcls request per binding as ``admin`` (adding an existing ACL is a no-op)."""
        from aiokafka.conn import create_conn
        from aiokafka.errors import for_code
        from aiokafka.protocol.admin import CreateAclsRequest

        settings = self.settings_for(ADMIN)
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else None
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                conn = await create_conn(
                    "127.0.0.1",
                    self.port,
                    client_id="lsg-secure-kafka-acls",
                    ssl_context=ssl_context(settings),
                    security_protocol="SASL_SSL",
                    sasl_mechanism=MECHANISM,
                    sasl_plain_username=ADMIN,
                    sasl_plain_password=password,
                )
                try:
                    for b in plan:
                        request = CreateAclsRequest(
                            _RESOURCE_TYPE[b.resource_type],
                            b.name,
                            _PATTERN_TYPE[b.pattern],
                            f"User:{b.principal}",
                            "*",
                            _OPERATION[b.operation],
                            _ALLOW,
                        )
                        response = await conn.send(request)
                        for error_code, message in response.creation_responses:
                            if error_code:
                                raise for_code(error_code)(f"CreateAcls {b}: {message}")
                finally:
                    conn.close()
                return
            except Exception as exc:  # the authorizer may still be loading right after start-up
                if asyncio.get_running_loop().time() > deadline:
                    raise InfraError(f"could not create the ACLs on {self.bootstrap}: {exc!r}") from exc
                await asyncio.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lsg_local.secure_kafka",
        description="A local Kafka with SASL_SSL (SCRAM-SHA-512), one principal per service and ACLs.",
    )
    parser.add_argument("--dir", type=Path, default=None, help="state folder (default $LSG_LOCAL_DIR/secure-kafka)")
    parser.add_argument("--port", type=int, default=29692, help="SASL_SSL listener (default 29692)")
    parser.add_argument("--controller-port", type=int, default=None, help="default: port + 1")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="start (formats a new folder with the SCRAM users) and apply the ACLs")
    sub.add_parser("stop", help="stop; state is kept")
    sub.add_parser("status", help="exit 0 only if it runs")
    sub.add_parser("acls", help="list the ACLs (Kafka's AclCommand --list, as admin)")
    env = sub.add_parser("env", help="print shell exports of LSG_KAFKA_* for one principal")
    env.add_argument("principal", nargs="?", default=ADMIN, choices=PRINCIPALS)
    args = parser.parse_args(argv)
    kafka = SecureKafka(args.dir, args.port, args.controller_port or args.port + 1)
    try:
        if args.command == "start":
            started = kafka.start()
            print(f"secure kafka {'started' if started else 'already running'} on {kafka.bootstrap}", file=sys.stderr)
            print(f"CA: {kafka.ca_file}; passwords: {kafka.credentials_dir}/<principal>.password", file=sys.stderr)
        elif args.command == "stop":
            print("stopped" if kafka.stop() else "not running", file=sys.stderr)
        elif args.command == "status":
            running = kafka.is_running()
            print(f"{kafka.bootstrap}: {'running' if running else 'not running'}", file=sys.stderr)
            return 0 if running else 1
        elif args.command == "acls":
            res = kafka.acl_tool("--list")
            print(res.stdout, end="")
            print(res.stderr, end="", file=sys.stderr)
            return res.returncode
        else:
            values = kafka.env(args.principal)
            # the password is read from its file when the output is evaluated, so it is never shown
            values["LSG_KAFKA_SASL_PASSWORD"] = f'"$(cat {shlex.quote(str(kafka.password_file(args.principal)))})"'
            for name, value in values.items():
                print(f"export {name}={value if name == 'LSG_KAFKA_SASL_PASSWORD' else shlex.quote(value)}")
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
