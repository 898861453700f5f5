#!/usr/bin/env python3
"""A one-node Kubernetes cluster started from the project's own binaries (``make cluster`` / ``make cluster-down``).

    python3 deploy/cluster/cluster.py up       # binaries (built once, see build-binaries.sh), PKI, processes, DNS
    python3 deploy/cluster/cluster.py images   # the project's Podman images into containerd's k8s.io namespace
    python3 deploy/cluster/cluster.py status
    python3 deploy/cluster/cluster.py down     # stop everything, undo mounts, devices, iptables chains, sysctls

What runs (all as host processes, logs in $STATE/log): etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, containerd (its own socket, root and CNI folder, so Podman's containerd-less setup and its CNI
config in /etc/cni/net.d are never touched), kubelet and kube-proxy; CoreDNS runs in the cluster as a Deployment.
The facts behind the flags (why restrict_oom_score_adj, cgroupfs, failCgroupV1=false, a non-loopback node IP) are
in docs/operations.md, "Try the chart on a local cluster". Needs root, Linux, Podman (images) and the Debian
packages containerd, runc, containernetworking-plugins, iptables, conntrack (installed when missing).
Only the standard library: this runs before the project's virtualenv matters.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

K8S_VERSION = os.environ.get("K8S_VERSION", "v1.34.4")
COREDNS_VERSION = os.environ.get("COREDNS_VERSION", "v1.14.7")
REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(os.environ.get("LSG_K8S_BIN", REPO / ".cache" / "k8s" / K8S_VERSION / "bin"))
STATE = Path(os.environ.get("LSG_CLUSTER_STATE", "/var/lib/lsg-cluster"))
RUN = Path(os.environ.get("LSG_CLUSTER_RUN", "/run/lsg-cluster"))
ETC, PKI, LOG = STATE / "etc", STATE / "etc" / "pki", STATE / "log"
KUBECONFIG = ETC / "admin.kubeconfig"
SOCKET = RUN / "containerd.sock"
NODE = "lsg-node"
BRIDGE = "lsgk8s0"
POD_CIDR, POD_GATEWAY = "10.244.0.0/24", "10.244.0.1"
SERVICE_CIDR, API_SERVICE_IP, DNS_IP = "10.96.0.0/24", "10.96.0.1", "10.96.0.10"
# Ports away from the defaults (2379, 6443, 10250, ...) and from the project's own (Kafka 29092/29992): other
# clusters or tests on the machine keep theirs.
PORTS = {
    "apiserver": 16443,
    "etcd": 12379,
    "etcd-peer": 12380,
    "etcd-metrics": 12381,
    "kubelet": 12250,
    "kubelet-healthz": 12248,
    "controller-manager": 12257,
    "scheduler": 12259,
    "proxy-metrics": 12249,
    "proxy-healthz": 12256,
}
# The order processes start in; `down` stops them in reverse.
PROCESSES = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "kubelet",
    "kube-proxy",
]
# Sysctls the kubelet (protectKernelDefaults=false) and kube-proxy may change; `down` writes back what `up` found.
SYSCTLS = ["kernel.panic", "kernel.panic_on_oops", "vm.overcommit_memory", "net.ipv4.conf.all.route_localnet"]
PAUSE_IMAGE = "localhost/lsg-pause:1.0"
COREDNS_IMAGE = f"localhost/lsg-coredns:{COREDNS_VERSION}"
APT_PACKAGES = {"containerd": "containerd", "runc": "runc", "iptables": "iptables", "conntrack": "conntrack"}


def log(msg: str) -> None:
    print(f"[cluster] {msg}", flush=True)


def run(*cmd: str | Path, check: bool = True, capture: bool = False, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]  # noqa: S603 - fixed argv
        [str(c) for c in cmd], check=check, text=True, capture_output=capture, **kw
    )


def node_ip() -> str:
    """The address of the default route: the kubelet refuses a loopback node IP, and pods reach the API server
    (through the `kubernetes` Service) on it."""
    if ip := os.environ.get("LSG_CLUSTER_NODE_IP"):
        return ip
    out = run("ip", "-4", "route", "get", "1.1.1.1", capture=True).stdout.split()
    return out[out.index("src") + 1]


# ---------------------------------------------------------------- prerequisites


def ensure_packages() -> None:
    missing = [pkg for cmd, pkg in APT_PACKAGES.items() if not shutil.which(cmd)]
    if not Path("/usr/lib/cni/bridge").exists():
        missing.append("containernetworking-plugins")
    if missing:
        log(f"installing {' '.join(missing)} (apt-get)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run("apt-get", "update", "-qq", env=env)
        run("apt-get", "install", "-y", "-qq", *missing, env=env)


def ensure_binaries() -> None:
    run("bash", HERE / "build-binaries.sh")


# ---------------------------------------------------------------- PKI (openssl, ECDSA P-256: fast to make)


def _cert(name: str, subject: str, *, sans: list[str] | None = None, client: bool = True) -> None:
    key, csr, crt = PKI / f"{name}.key", PKI / f"{name}.csr", PKI / f"{name}.crt"
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key, capture=True)
    run("openssl", "req", "-new", "-key", key, "-subj", subject, "-out", csr, capture=True)
    ext = PKI / f"{name}.ext"
    usage = "clientAuth" if client else "serverAuth"
    lines = [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if sans:
        lines.append("subjectAltName=" + ",".join(sans))
    ext.write_text("\n".join(lines) + "\n")
    run(
        "openssl", "x509", "-req", "-in", csr, "-CA", PKI / "ca.crt", "-CAkey", PKI / "ca.key", "-CAcreateserial",
        "-days", "30", "-extfile", ext, "-out", crt, capture=True,
    )  # fmt: skip
    csr.unlink()
    ext.unlink()


def make_pki(ip: str) -> None:
    PKI.mkdir(parents=True, exist_ok=True)
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", PKI / "ca.key", capture=True)
    run(
        "openssl", "req", "-x509", "-new", "-key", PKI / "ca.key", "-subj", "/CN=lsg-cluster-ca", "-days", "30",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-out", PKI / "ca.crt", capture=True,
    )  # fmt: skip
    api_sans = [
        "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local", "DNS:localhost",
        "IP:127.0.0.1", f"IP:{API_SERVICE_IP}", f"IP:{ip}",
    ]  # fmt: skip
    _cert("apiserver", "/CN=kube-apiserver", sans=api_sans, client=False)
    _cert("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client")
    _cert("admin", "/O=system:masters/CN=lsg-admin")
    _cert("controller-manager", "/CN=system:kube-controller-manager")
    _cert("scheduler", "/CN=system:kube-scheduler")
    _cert("kube-proxy", "/CN=system:kube-proxy")
    _cert("kubelet-client", f"/O=system:nodes/CN=system:node:{NODE}")
    _cert("kubelet-server", f"/CN={NODE}", sans=[f"DNS:{NODE}", f"IP:{ip}", "IP:127.0.0.1"], client=False)
    # Service-account tokens are signed with RSA (every client of the token review accepts it).
    run("openssl", "genrsa", "-out", PKI / "sa.key", "2048", capture=True)
    run("openssl", "rsa", "-in", PKI / "sa.key", "-pubout", "-out", PKI / "sa.pub", capture=True)
    for key in PKI.glob("*.key"):
        key.chmod(0o600)


def kubeconfig(name: str, user: str, ip: str) -> Path:
    path = ETC / f"{name}.kubeconfig"
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: lsg
  cluster:
    certificate-authority: {PKI}/ca.crt
    server: https://{ip}:{PORTS["apiserver"]}
users:
- name: {user}
  user:
    client-certificate: {PKI}/{name}.crt
    client-key: {PKI}/{name}.key
contexts:
- name: lsg
  context: {{cluster: lsg, user: {user}, namespace: default}}
current-context: lsg
"""
    )
    path.chmod(0o600)
    return path


# ---------------------------------------------------------------- configuration files


def write_configs(ip: str) -> None:
    for d in (ETC, LOG, RUN, STATE / "cni" / "net.d", STATE / "cni" / "ipam", STATE / "kubelet", STATE / "pods"):
        d.mkdir(parents=True, exist_ok=True)
    for name, user in [
        ("admin", "lsg-admin"),
        ("controller-manager", "system:kube-controller-manager"),
        ("scheduler", "system:kube-scheduler"),
        ("kube-proxy", "system:kube-proxy"),
        ("kubelet-client", f"system:node:{NODE}"),
    ]:
        kubeconfig(name, user, ip)
    (ETC / "containerd.toml").write_text(
        f"""version = 2
root = "{STATE}/containerd"
state = "{RUN}/containerd"
[grpc]
  address = "{SOCKET}"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{PAUSE_IMAGE}"
    # root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj to -998 for the sandbox and every pod
    # fails with "can't get final child's PID from pipe: EOF" unless containerd clamps it.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "/usr/sbin/runc"
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      # Our own folder: Podman keeps its bridge config in /etc/cni/net.d.
      conf_dir = "{STATE}/cni/net.d"
      max_conf_num = 1
  [plugins."io.containerd.internal.v1.opt"]
    path = "{STATE}/containerd/opt"
"""
    )
    (STATE / "cni" / "net.d" / "10-lsg-bridge.conflist").write_text(
        json.dumps(
            {
                "cniVersion": "1.0.0",
                "name": "lsg-cluster",
                "plugins": [
                    {
                        "type": "bridge",
                        "bridge": BRIDGE,
                        "isGateway": True,
                        # No masquerading and no portmap: the CNI adds no iptables rules of its own.
                        "ipMasq": False,
                        "hairpinMode": True,
                        "ipam": {
                            "type": "host-local",
                            "ranges": [[{"subnet": POD_CIDR, "gateway": POD_GATEWAY}]],
                            "routes": [{"dst": "0.0.0.0/0"}],
                            "dataDir": f"{STATE}/cni/ipam",
                        },
                    },
                ],
            },
            indent=2,
        )
    )
    (ETC / "kubelet.yaml").write_text(
        f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {ip}
port: {PORTS["kubelet"]}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {PORTS["kubelet-healthz"]}
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: {PKI}/ca.crt}}
authorization: {{mode: Webhook}}
tlsCertFile: {PKI}/kubelet-server.crt
tlsPrivateKeyFile: {PKI}/kubelet-server.key
# No systemd here, and the machine has cgroup v1 (hybrid): cgroupfs, and no refusal of v1.
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://{SOCKET}
failSwapOn: false
clusterDomain: cluster.local
clusterDNS: [{DNS_IP}]
resolvConf: /etc/resolv.conf
maxPods: 60
podLogsDir: {STATE}/pods
protectKernelDefaults: false
serializeImagePulls: true
imageGCHighThresholdPercent: 100
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "2%"
  imagefs.available: "2%"
"""
    )
    (ETC / "kube-proxy.yaml").write_text(
        f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {{kubeconfig: {ETC}/kube-proxy.kubeconfig}}
hostnameOverride: {NODE}
bindAddress: {ip}
metricsBindAddress: 127.0.0.1:{PORTS["proxy-metrics"]}
healthzBindAddress: 127.0.0.1:{PORTS["proxy-healthz"]}
mode: iptables
clusterCIDR: {POD_CIDR}
iptables:
  # Service traffic is masqueraded, so a pod reaching itself or a neighbour on the bridge through a ClusterIP
  # gets its answer back through the host (no reliance on br_netfilter).
  masqueradeAll: true
  # NodePorts on 127.0.0.1 would need route_localnet=1 on the whole host.
  localhostNodePorts: false
conntrack:
  # Leave the host's conntrack sysctls alone (shared machine).
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
"""
    )


def commands(ip: str) -> dict[str, list[str]]:
    b = str(BIN)
    p = str(PKI)
    return {
        "etcd": [
            f"{b}/etcd", "--name", "lsg", "--data-dir", f"{STATE}/etcd",
            "--listen-client-urls", f"http://127.0.0.1:{PORTS['etcd']}",
            "--advertise-client-urls", f"http://127.0.0.1:{PORTS['etcd']}",
            "--listen-peer-urls", f"http://127.0.0.1:{PORTS['etcd-peer']}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{PORTS['etcd-peer']}",
            "--initial-cluster", f"lsg=http://127.0.0.1:{PORTS['etcd-peer']}",
            "--listen-metrics-urls", f"http://127.0.0.1:{PORTS['etcd-metrics']}",
            "--quota-backend-bytes", "2147483648", "--snapshot-count", "10000", "--log-level", "warn",
        ],
        "kube-apiserver": [
            f"{b}/kube-apiserver", f"--etcd-servers=http://127.0.0.1:{PORTS['etcd']}",
            f"--bind-address={ip}", f"--secure-port={PORTS['apiserver']}", f"--advertise-address={ip}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction", "--allow-privileged=true",
            f"--client-ca-file={p}/ca.crt", f"--tls-cert-file={p}/apiserver.crt",
            f"--tls-private-key-file={p}/apiserver.key",
            f"--kubelet-client-certificate={p}/apiserver-kubelet-client.crt",
            f"--kubelet-client-key={p}/apiserver-kubelet-client.key",
            f"--kubelet-certificate-authority={p}/ca.crt", "--kubelet-preferred-address-types=InternalIP",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={p}/sa.pub", f"--service-account-signing-key-file={p}/sa.key",
            "--profiling=false", "--v=1",
        ],
        "kube-controller-manager": [
            f"{b}/kube-controller-manager", f"--kubeconfig={ETC}/controller-manager.kubeconfig",
            f"--authentication-kubeconfig={ETC}/controller-manager.kubeconfig",
            f"--authorization-kubeconfig={ETC}/controller-manager.kubeconfig",
            "--bind-address=127.0.0.1", f"--secure-port={PORTS['controller-manager']}", "--leader-elect=false",
            f"--cluster-signing-cert-file={p}/ca.crt", f"--cluster-signing-key-file={p}/ca.key",
            f"--root-ca-file={p}/ca.crt", f"--service-account-private-key-file={p}/sa.key",
            "--use-service-account-credentials=true", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--horizontal-pod-autoscaler-sync-period=5s", "--profiling=false", "--v=1",
        ],
        "kube-scheduler": [
            f"{b}/kube-scheduler", f"--kubeconfig={ETC}/scheduler.kubeconfig",
            f"--authentication-kubeconfig={ETC}/scheduler.kubeconfig",
            f"--authorization-kubeconfig={ETC}/scheduler.kubeconfig",
            "--bind-address=127.0.0.1", f"--secure-port={PORTS['scheduler']}", "--leader-elect=false",
            "--profiling=false", "--v=1",
        ],
        "containerd": ["containerd", "--config", f"{ETC}/containerd.toml"],
        "kubelet": [
            f"{b}/kubelet", f"--config={ETC}/kubelet.yaml", f"--kubeconfig={ETC}/kubelet-client.kubeconfig",
            f"--node-ip={ip}", f"--hostname-override={NODE}", f"--root-dir={STATE}/kubelet", "--v=1",
        ],
        "kube-proxy": [f"{b}/kube-proxy", f"--config={ETC}/kube-proxy.yaml", "--v=1"],
    }  # fmt: skip


# ---------------------------------------------------------------- processes


def pid_of(name: str) -> int | None:
    f = RUN / f"{name}.pid"
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(f.read_text())
        os.kill(pid, 0)
        return pid
    return None


def start(name: str, cmd: list[str]) -> None:
    if pid_of(name):
        log(f"{name} already running")
        return
    out = (LOG / f"{name}.log").open("ab")
    env = dict(os.environ, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    proc = subprocess.Popen(  # noqa: S603 - argv built here
        cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env
    )
    (RUN / f"{name}.pid").write_text(str(proc.pid))


def wait_for(what: str, check: object, timeout: float = 120.0, name: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():  # type: ignore[operator]
                return
        if name and not pid_of(name):
            tail = (LOG / f"{name}.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"{name} exited while waiting for {what}; last log lines:\n{tail}")
        time.sleep(0.5)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what} (logs: {LOG})")


def kubectl(*args: str, check: bool = True, capture: bool = True, stdin: str | None = None) -> str:
    res = subprocess.run(  # noqa: S603
        [str(BIN / "kubectl"), f"--kubeconfig={KUBECONFIG}", *args],
        check=False, text=True, capture_output=capture, input=stdin,
    )  # fmt: skip
    if check and res.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout or ""


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - fixed local health URLs
        return bool(r.status == 200)


# ---------------------------------------------------------------- images (podman -> containerd, never a registry)


def ctr(*args: str | Path, capture: bool = True, check: bool = True) -> str:
    return run("ctr", "--address", SOCKET, "-n", "k8s.io", *args, capture=capture, check=check).stdout or ""


def containerd_images() -> dict[str, str]:
    """name -> config digest of the images containerd has."""
    out = ctr("images", "ls")
    found: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 3:
            found[parts[0]] = parts[2]
    return found


def build_small_images() -> None:
    """The pause image and CoreDNS, each a static Go binary in a `FROM scratch` image (nothing pulled)."""
    have = set(run("podman", "images", "--format", "{{.Repository}}:{{.Tag}}", capture=True).stdout.split())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if PAUSE_IMAGE not in have:
            log("building the pause image")
            (work / "go.mod").write_text("module lsg.local/pause\n\ngo 1.22\n")
            shutil.copy(HERE / "pause" / "main.go", work / "main.go")
            run(
                "go",
                "build",
                "-trimpath",
                "-ldflags=-s -w",
                "-o",
                work / "pause",
                ".",
                cwd=work,
                env=dict(os.environ, CGO_ENABLED="0"),
            )
            (work / "Containerfile").write_text(
                'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
            )
            run("podman", "build", "--pull=never", "-q", "-t", PAUSE_IMAGE, work, capture=True)
        if COREDNS_IMAGE not in have:
            log("building the CoreDNS image")
            shutil.copy(BIN / "coredns", work / "coredns")
            (work / "Containerfile").write_text(
                'FROM scratch\nCOPY coredns /coredns\nUSER 65534:65534\nENTRYPOINT ["/coredns"]\n'
            )
            run("podman", "build", "--pull=never", "-q", "-t", COREDNS_IMAGE, work, capture=True)


def import_images(names: list[str]) -> None:
    """Move images from Podman's store into containerd's k8s.io namespace, skipping those already there
    (same image config digest)."""
    have = containerd_images()
    todo = []
    for name in names:
        res = run("podman", "image", "inspect", "--format", "{{.Id}}", name, capture=True, check=False)
        if res.returncode != 0:
            raise SystemExit(f"image {name} is not in Podman's store: run `make images` first")
        if not _same_image(name, res.stdout.strip(), have):
            todo.append(name)
    if not todo:
        log(f"images already in containerd: {' '.join(names)}")
        return
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(dir=STATE) as tmp:
        archive = Path(tmp) / "images.tar"
        run("podman", "save", "-q", "-m", "--format", "docker-archive", "-o", archive, *todo, capture=True)
        ctr("images", "import", "--no-unpack", archive)
    log(f"imported {len(todo)} images in {time.monotonic() - t0:.0f} s: {' '.join(todo)}")


def _same_image(name: str, podman_id: str, have: dict[str, str]) -> bool:
    if name not in have:
        return False
    # `ctr images ls` shows the manifest digest; Podman's image id is the config digest.
    res = run("ctr", "--address", SOCKET, "-n", "k8s.io", "content", "get", have[name], capture=True, check=False)
    with contextlib.suppress(Exception):
        manifest = json.loads(res.stdout)
        return bool(manifest["config"]["digest"] == f"sha256:{podman_id}")
    return False


def project_images() -> list[str]:
    tag = os.environ.get("LSG_IMAGE_TAG", "dev")
    svcs = [f"localhost/lsg-{s}:{tag}" for s in ("surveys", "training", "alerts", "reporting")]
    return [*svcs, "localhost/lsg-kafka:latest", "localhost/lsg-postgres:latest"]


# ---------------------------------------------------------------- up / down / status


def up(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        raise SystemExit("the cluster needs root (containerd, kubelet, iptables)")
    t0 = time.monotonic()
    ensure_packages()
    ensure_binaries()
    ip = node_ip()
    if pid_of("kube-apiserver"):
        log("cluster already running")
    else:
        # A fresh cluster each time (etcd, PKI, kubelet state); containerd's image store is kept.
        down_processes()
        for d in (STATE / "etcd", STATE / "kubelet", ETC, STATE / "cni", STATE / "pods", LOG):
            shutil.rmtree(d, ignore_errors=True)
        STATE.mkdir(parents=True, exist_ok=True)
        save_sysctls()
        make_pki(ip)
        write_configs(ip)
        t_start = time.monotonic()
        cmds = commands(ip)
        start("etcd", cmds["etcd"])
        wait_for("etcd", lambda: http_ok(f"http://127.0.0.1:{PORTS['etcd']}/health"), name="etcd")
        start("kube-apiserver", cmds["kube-apiserver"])
        wait_for("the API server", lambda: kubectl("get", "--raw", "/readyz") == "ok", name="kube-apiserver")
        for name in ("kube-controller-manager", "kube-scheduler", "containerd"):
            start(name, cmds[name])
        wait_for("containerd", lambda: SOCKET.exists() and ctr("version") != "", name="containerd")
        build_small_images()
        import_images([PAUSE_IMAGE, COREDNS_IMAGE])
        start("kubelet", cmds["kubelet"])
        start("kube-proxy", cmds["kube-proxy"])
        wait_for(
            "node Ready",
            lambda: (
                kubectl("get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}") == "True"
            ),
            name="kubelet",
        )
        manifest = (HERE / "manifests" / "coredns.yaml").read_text()
        kubectl("apply", "-f", "-", stdin=manifest.replace("localhost/lsg-coredns:set-by-cluster.py", COREDNS_IMAGE))
        wait_for(
            "CoreDNS available",
            lambda: (
                "successfully rolled out"
                in kubectl("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=5s")
            ),
            timeout=180,
        )
        log(f"cluster processes to CoreDNS ready in {time.monotonic() - t_start:.0f} s")
    if args.images:
        import_images(project_images())
    log(f"cluster up in {time.monotonic() - t0:.0f} s; export KUBECONFIG={KUBECONFIG}")


def save_sysctls() -> None:
    f = STATE / "sysctls.json"
    if f.exists():  # a previous cluster's baseline, not yet restored
        return
    values = {}
    for key in SYSCTLS:
        path = Path("/proc/sys") / key.replace(".", "/")
        with contextlib.suppress(OSError):
            values[key] = path.read_text().strip()
    f.write_text(json.dumps(values))


def restore_sysctls() -> None:
    f = STATE / "sysctls.json"
    if not f.exists():
        return
    for key, value in json.loads(f.read_text()).items():
        with contextlib.suppress(OSError):
            (Path("/proc/sys") / key.replace(".", "/")).write_text(value)
    f.unlink()


def stop(name: str, timeout: float = 20.0) -> None:
    pid = pid_of(name)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        (RUN / f"{name}.pid").unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
            os.waitpid(pid, os.WNOHANG)
            return False
    return True


def remove_pods() -> None:
    """Let the kubelet tear the pods down (containers stopped, CNI DEL, network namespaces gone): controllers and
    scheduler first, so that nothing replaces them."""
    if not (pid_of("kubelet") and pid_of("kube-apiserver") and pid_of("containerd")):
        return
    stop("kube-controller-manager")
    stop("kube-scheduler")
    with contextlib.suppress(Exception):
        kubectl("delete", "pods", "--all", "-A", "--grace-period=5", "--timeout=60s", "--wait=true")


def remove_containers() -> None:
    """Whatever containerd still has in k8s.io (pause sandboxes the kubelet left): killed and deleted."""
    if not pid_of("containerd"):
        return
    with contextlib.suppress(Exception):
        for cid in ctr("containers", "ls", "-q").split():
            ctr("tasks", "kill", "-s", "SIGKILL", cid, check=False)
        time.sleep(1)
        for cid in ctr("containers", "ls", "-q").split():
            ctr("tasks", "delete", "-f", cid, check=False)
            ctr("containers", "delete", cid, check=False)


def down_processes() -> None:
    remove_pods()
    stop("kube-proxy")
    stop("kubelet")
    remove_containers()
    for name in reversed(PROCESSES):
        stop(name)


def cleanup_iptables() -> None:
    """Remove every KUBE-* chain (kubelet's KUBE-FIREWALL/KUBE-KUBELET-CANARY/KUBE-IPTABLES-HINT, kube-proxy's
    service chains) and the rules jumping to them; other tools' chains (Podman's CNI-*) are left alone."""
    if (BIN / "kube-proxy").exists():
        run(BIN / "kube-proxy", "--cleanup", "--v=0", check=False, capture=True)
    for tool in ("iptables", "ip6tables"):
        dump = run(f"{tool}-save", check=False, capture=True).stdout
        table = ""
        jumps: list[tuple[str, str]] = []
        chains: list[tuple[str, str]] = []
        for line in dump.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":KUBE-"):
                chains.append((table, line[1:].split()[0]))
            elif line.startswith("-A ") and " -j KUBE-" in line and not line.split()[1].startswith("KUBE-"):
                jumps.append((table, line[3:]))
        for table, rule in jumps:
            run("sh", "-c", f"{tool} -w -t {table} -D {rule}", check=False, capture=True)
        for table, chain in chains:
            run(tool, "-w", "-t", table, "-F", chain, check=False, capture=True)
        for table, chain in chains:
            run(tool, "-w", "-t", table, "-X", chain, check=False, capture=True)
    # kube-proxy's nftables tables, if a version made them.
    for family in ("ip", "ip6") if shutil.which("nft") else ():
        run("nft", "delete", "table", family, "kube-proxy", check=False, capture=True)


def mounts_under(*roots: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == str(r) or point.startswith(f"{r}/") for r in roots):
            found.append(point)
    return found


def cleanup_host() -> None:
    for point in sorted(set(mounts_under(STATE, RUN)), key=len, reverse=True):
        run("umount", "-l", point, check=False, capture=True)
    run("ip", "link", "delete", BRIDGE, check=False, capture=True)
    cleanup_iptables()
    # The kubelet's cgroups (cgroupfs driver): kubepods in every v1 hierarchy, deepest first.
    for root in Path("/sys/fs/cgroup").iterdir():
        top = root / "kubepods"
        if top.is_dir():
            for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    d.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()
    restore_sysctls()
    for d in (STATE / "etcd", STATE / "kubelet", STATE / "cni", STATE / "pods"):
        shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(RUN, ignore_errors=True)


def down(args: argparse.Namespace) -> None:
    t0 = time.monotonic()
    down_processes()
    cleanup_host()
    if args.purge:
        shutil.rmtree(STATE, ignore_errors=True)
    leftovers = leftover_report()
    if leftovers:
        raise SystemExit("cluster-down left behind:\n  " + "\n  ".join(leftovers))
    log(f"cluster down in {time.monotonic() - t0:.0f} s; nothing left behind")


def leftover_report() -> list[str]:
    """What `down` must not leave: our processes, mounts, the bridge and its veths, KUBE-* chains, cgroups."""
    left = []
    binaries = {str(BIN / n) for n in PROCESSES} | {"containerd-shim-runc-v2", "containerd"}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            exe = cmdline[0].decode(errors="replace")
            joined = b" ".join(cmdline).decode(errors="replace")
            ours = exe in binaries and (str(STATE) in joined or str(RUN) in joined or exe.startswith(str(BIN)))
            if ours or ("containerd-shim" in exe and str(SOCKET) in joined):
                left.append(f"process {proc.name}: {joined[:120]}")
    left += [f"mount {m}" for m in mounts_under(STATE, RUN)]
    links = run("ip", "-o", "link", "show", capture=True).stdout
    for line in links.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        master = f"master {BRIDGE} " in line
        if name == BRIDGE or master:
            left.append(f"network device {name}")
    for tool in ("iptables-save", "ip6tables-save"):
        chains = [ln for ln in run(tool, check=False, capture=True).stdout.splitlines() if ln.startswith(":KUBE-")]
        left += [f"{tool} chain {c.split()[0][1:]}" for c in chains]
    left += [f"cgroup {p}" for p in Path("/sys/fs/cgroup").glob("*/kubepods")]
    return left


def dev_infra(args: argparse.Namespace) -> None:
    """Kafka + PostgreSQL in namespace args.namespace (manifests/dev-infra.yaml) and the Secrets that
    deploy/helm/lsg/values-dev.yaml names, for release args.release; waits until both are Ready.
    Generated values come from lsg_shared.local_secrets (run with the project's .venv python); the demo users'
    plain bearer tokens are kept in the Secret lsg-dev-demo-tokens for the person (and the tests) using it."""
    from lsg_shared.local_secrets import api_tokens, generate

    ns, rel = args.namespace, args.release
    if ns not in kubectl("get", "namespaces", "-o", "name"):
        kubectl("create", "namespace", ns)
    existing = kubectl("-n", ns, "get", "secrets", "-o", "name")
    if "secret/lsg-dev-postgres" not in existing:
        values = generate()
        pw = values["LSG_DEMO_ADMIN_TOKEN"].split("_")[-1]
        secrets: dict[str, dict[str, str]] = {
            "lsg-dev-postgres": {"password": pw},
            "lsg-dev-api-tokens": {"api-tokens": api_tokens(values)},
            "lsg-dev-demo-tokens": {k: v for k, v in values.items() if k.startswith("LSG_DEMO_")},
            f"{rel}-surveys-secrets": {"pseudonym-key": values["LSG_SURVEYS_PSEUDONYM_KEY"]},
            f"{rel}-training-secrets": {"pseudonym-key": values["LSG_TRAINING_PSEUDONYM_KEY"]},
            f"{rel}-alerts-secrets": {"secrets-key": values["LSG_ALERTS_SECRETS_KEY"]},
            f"{rel}-reporting-secrets": {"api-tokens": api_tokens(values)},
        }
        for svc in ("surveys", "training", "alerts", "reporting"):
            secrets[f"{rel}-{svc}-db"] = {"dsn": f"postgresql://postgres:{pw}@lsg-postgres:5432/lsg_{svc}"}
        for name, data in secrets.items():
            literals = [f"--from-literal={k}={v}" for k, v in data.items()]
            kubectl("-n", ns, "create", "secret", "generic", name, *literals)
    kubectl("-n", ns, "apply", "-f", str(HERE / "manifests" / "dev-infra.yaml"))
    for name in ("lsg-postgres", "lsg-kafka"):
        kubectl("-n", ns, "rollout", "status", f"deployment/{name}", "--timeout=300s")
    log(f"Kafka and PostgreSQL ready in namespace {ns}")


def status(_: argparse.Namespace) -> None:
    for name in PROCESSES:
        pid = pid_of(name)
        print(f"{name:24} {'running, pid ' + str(pid) if pid else 'stopped'}")
    if pid_of("kube-apiserver"):
        print(kubectl("get", "nodes", "-o", "wide", check=False))
        print(f"export KUBECONFIG={KUBECONFIG}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="build (once) and start the cluster")
    p_up.add_argument("--images", action="store_true", help="also import the project's images (make images)")
    p_up.set_defaults(func=up)
    p_down = sub.add_parser("down", help="stop the cluster and undo its changes to the host")
    p_down.add_argument("--purge", action="store_true", help="also delete containerd's image store")
    p_down.set_defaults(func=down)
    sub.add_parser("status").set_defaults(func=status)
    sub.add_parser("images", help="import the project's images").set_defaults(
        func=lambda _: import_images(project_images())
    )
    p_dev = sub.add_parser("dev-infra", help="Kafka + PostgreSQL + Secrets for values-dev.yaml in a namespace")
    p_dev.add_argument("-n", "--namespace", default="lsg")
    p_dev.add_argument("--release", default="lsg")
    p_dev.set_defaults(func=dev_infra)
    sub.add_parser("binaries", help="build the binaries only").set_defaults(func=lambda _: ensure_binaries())
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
