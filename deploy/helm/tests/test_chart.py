"""Render the chart with the pinned helm and check what every deployment must satisfy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART = REPO_ROOT / "deploy" / "helm" / "lsg"
PRODUCTION_VALUES = REPO_ROOT / "deploy" / "helm" / "values-production.yaml"
COMPONENTS = ("surveys", "training", "alerts", "reporting")
PORTS = {"surveys": 8001, "training": 8002, "alerts": 8003, "reporting": 8004}
SECRET_WORDS = ("PASSWORD", "KEY", "TOKEN", "DSN", "DATABASE_URL", "SECRET")
COMMON_LABELS = (
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)
COMPONENT_LABELS = (*COMMON_LABELS, "app.kubernetes.io/name", "app.kubernetes.io/component")


def of_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def workloads(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_kind(objs, "Deployment") + of_kind(objs, "Job")


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def helm_cmd(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, check=False, cwd=REPO_ROOT)


# -- workloads ---------------------------------------------------------------------------------------


def test_one_deployment_service_and_migration_job_per_component(objects: list[dict[str, Any]]) -> None:
    for kind in ("Deployment", "Service", "Job"):
        names = sorted(o["metadata"]["labels"]["app.kubernetes.io/name"] for o in of_kind(objects, kind))
        assert names == sorted(f"lsg-{c}" for c in COMPONENTS), kind


def test_deployments_have_probes_on_health_endpoints(objects: list[dict[str, Any]]) -> None:
    for dep in of_kind(objects, "Deployment"):
        for c in containers(dep):
            where = f"{dep['metadata']['name']}/{c['name']}"
            assert c["livenessProbe"]["httpGet"]["path"] == "/health/live", where
            assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready", where
            assert c["startupProbe"]["httpGet"]["path"] == "/health/live", where
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                assert c[probe]["httpGet"]["port"] == "http", where
            assert c["ports"] == [{"name": "http", "containerPort": PORTS[c["name"]], "protocol": "TCP"}]
            assert c["args"] == ["serve"]


def test_every_container_has_resources(objects: list[dict[str, Any]]) -> None:
    for obj in workloads(objects):
        for c in containers(obj):
            res = c["resources"]
            assert {"cpu", "memory"} <= res["requests"].keys(), obj["metadata"]["name"]
            assert {"cpu", "memory"} <= res["limits"].keys(), obj["metadata"]["name"]


def test_every_pod_and_container_is_locked_down(objects: list[dict[str, Any]]) -> None:
    for obj in workloads(objects):
        spec = obj["spec"]["template"]["spec"]
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True
        assert psc["runAsUser"] == 10001
        assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes["tmp"]
        for c in containers(obj):
            sc = c["securityContext"]
            where = f"{obj['kind']} {obj['metadata']['name']}/{c['name']}"
            assert sc["runAsNonRoot"] is True, where
            assert sc["runAsUser"] == 10001, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"], where  # noqa: S108


def test_graceful_termination_window(objects: list[dict[str, Any]]) -> None:
    for dep in of_kind(objects, "Deployment"):
        # The services drain for up to 20 s on SIGTERM; the kubelet waits 30 s before SIGKILL.
        assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 30


def test_no_secret_value_inline(objects: list[dict[str, Any]]) -> None:
    for obj in workloads(objects):
        for c in containers(obj):
            for e in c.get("env", []):
                if any(word in e["name"] for word in SECRET_WORDS):
                    where = f"{obj['metadata']['name']}/{c['name']} {e['name']}"
                    assert "value" not in e, f"secret inline: {where}"
                    assert "secretKeyRef" in e["valueFrom"], where


def test_service_specific_secrets_come_from_secrets(default_objects: list[dict[str, Any]]) -> None:
    expected = {
        "surveys": "LSG_SURVEYS_PSEUDONYM_KEY",
        "training": "LSG_TRAINING_PSEUDONYM_KEY",
        "alerts": "LSG_ALERTS_SECRETS_KEY",
        "reporting": "LSG_REPORTING_API_TOKENS",
    }
    for obj in workloads(default_objects):
        component = obj["metadata"]["labels"]["app.kubernetes.io/name"].removeprefix("lsg-")
        env = env_of(containers(obj)[0])
        assert env["LSG_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": f"lsg-{component}-db",
            "key": "dsn",
        }
        if component in expected:
            ref = env[expected[component]]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == f"lsg-{component}-secrets"
        others = set(expected.values()) - {expected.get(component)}
        assert not others & env.keys(), f"{component} gets another service's secret"


def test_every_service_starts_with_the_production_environment_the_chart_gives(
    production_objects: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each service's settings validate with exactly the variables the production values give its pod (secrets
    standing in as placeholders): a secret a service requires outside development and the chart forgets would
    otherwise surface only as a crash-looping pod on the first real install."""
    import importlib

    for obj in workloads(production_objects):
        if obj["kind"] != "Deployment":
            continue
        component = obj["metadata"]["labels"]["app.kubernetes.io/name"].removeprefix("lsg-")
        env = env_of(containers(obj)[0])
        with monkeypatch.context() as m:
            for name in [n for n in os.environ if n.startswith(("LSG_", "OTEL_"))]:
                m.delenv(name)
            for name, var in env.items():
                if "value" in var:
                    m.setenv(name, str(var["value"]))
                elif name.endswith(("_KEY", "_SECRET")):
                    m.setenv(name, "k" * 44)
                elif "DATABASE_URL" in name:
                    m.setenv(name, f"postgresql://u:p@db.example.internal:5432/lsg_{component}")
                elif "secretKeyRef" in var.get("valueFrom", {}):
                    m.setenv(name, "placeholder")
            module = importlib.import_module(f"lsg_{component}.settings")
            try:
                getattr(module, f"{component.capitalize()}Settings")()
            except Exception as exc:
                pytest.fail(f"{component} would not start with the production values' environment: {exc}")


def test_otel_and_service_environment(objects: list[dict[str, Any]]) -> None:
    for obj in workloads(objects):
        labels = obj["spec"]["template"]["metadata"]["labels"]
        env = env_of(containers(obj)[0])
        assert env["OTEL_SERVICE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == (
            "metadata.labels['app.kubernetes.io/name']"
        )
        assert labels["app.kubernetes.io/name"].startswith("lsg-")
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"].startswith("http")
        assert "service.namespace=lsg-events" in env["OTEL_RESOURCE_ATTRIBUTES"]["value"]
        component = labels["app.kubernetes.io/name"].removeprefix("lsg-")
        assert env["LSG_HTTP_PORT"]["value"] == str(PORTS[component])
        assert env["LSG_LOG_FORMAT"]["value"] in {"json", "text"}
        assert env["LSG_KAFKA_BOOTSTRAP"]["value"]
        assert "LSG_ENVIRONMENT" in env


def test_labels(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        where = f"{obj['kind']} {obj['metadata']['name']}"
        for key in COMMON_LABELS:
            assert key in labels, f"{where} lacks {key}"
        if obj["kind"] in {
            "Deployment",
            "Service",
            "Job",
            "ServiceAccount",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "ServiceMonitor",
        }:
            for key in COMPONENT_LABELS:
                assert key in labels, f"{where} lacks {key}"
        assert labels["app.kubernetes.io/part-of"] == "lsg-events"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == "0.1.0"
    for obj in workloads(objects):
        pod_labels = obj["spec"]["template"]["metadata"]["labels"]
        for key in COMPONENT_LABELS:
            assert key in pod_labels


def test_deployment_selects_only_its_own_service_pods(default_objects: list[dict[str, Any]]) -> None:
    for dep in of_kind(default_objects, "Deployment"):
        sel = dep["spec"]["selector"]["matchLabels"]
        assert sel["app.kubernetes.io/component"] == "service"
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert sel.items() <= pod_labels.items()
    for job in of_kind(default_objects, "Job"):
        assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "migrations"


def test_images_default_to_app_version(default_objects: list[dict[str, Any]]) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    for obj in workloads(default_objects):
        image = containers(obj)[0]["image"]
        assert image.endswith(f":{chart['appVersion']}"), image
        assert re.search(r"/lsg-(surveys|training|alerts|reporting):", image), image


def test_image_tag_override(render: Any) -> None:
    objs = render(sets=["image.tag=1.2.3", "components.alerts.image.tag=9.9.9"])
    images = {o["metadata"]["name"]: containers(o)[0]["image"] for o in of_kind(objs, "Deployment")}
    assert images["lsg-alerts"].endswith(":9.9.9")
    assert images["lsg-surveys"].endswith(":1.2.3")


def test_migration_jobs_are_pre_install_and_pre_upgrade_hooks(objects: list[dict[str, Any]]) -> None:
    for job in of_kind(objects, "Job"):
        ann = job["metadata"]["annotations"]
        assert set(ann["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
        assert "before-hook-creation" in ann["helm.sh/hook-delete-policy"]
        c = containers(job)[0]
        assert c["args"] == ["migrate"]
        assert "LSG_DATABASE_URL" in env_of(c)
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        # Hooks run before the release's ServiceAccounts exist.
        assert job["spec"]["template"]["spec"]["serviceAccountName"] == "default"


def test_migrations_can_be_disabled(render: Any) -> None:
    assert not of_kind(render(sets=["migrations.enabled=false"]), "Job")


def test_disabled_component_renders_nothing(render: Any) -> None:
    objs = render(sets=["components.training.enabled=false"])
    assert not [o for o in objs if "training" in o["metadata"]["name"]]


def test_component_can_switch_off_a_default_boolean(render: Any) -> None:
    # sprig's merge treats false as unset; the chart applies a component's booleans explicitly.
    objs = render(
        [PRODUCTION_VALUES],
        sets=[
            "components.alerts.autoscaling.enabled=false",
            "components.alerts.podDisruptionBudget.enabled=false",
            "components.alerts.replicas=0",
        ],
    )
    assert "lsg-alerts" not in {o["metadata"]["name"] for o in of_kind(objs, "HorizontalPodAutoscaler")}
    assert "lsg-alerts" not in {o["metadata"]["name"] for o in of_kind(objs, "PodDisruptionBudget")}
    alerts = next(o for o in of_kind(objs, "Deployment") if o["metadata"]["name"] == "lsg-alerts")
    assert alerts["spec"]["replicas"] == 0


# -- Kafka -------------------------------------------------------------------------------------------


def test_default_kafka_is_plaintext_without_credentials(default_objects: list[dict[str, Any]]) -> None:
    for obj in workloads(default_objects):
        env = env_of(containers(obj)[0])
        assert env["LSG_KAFKA_SECURITY_PROTOCOL"]["value"] == "PLAINTEXT"
        assert "LSG_KAFKA_SASL_PASSWORD" not in env
        assert "LSG_KAFKA_SSL_CAFILE" not in env


def test_production_kafka_uses_sasl_ssl_with_mounted_ca(production_objects: list[dict[str, Any]]) -> None:
    for obj in workloads(production_objects):
        spec = obj["spec"]["template"]["spec"]
        c = containers(obj)[0]
        env = env_of(c)
        component = obj["metadata"]["labels"]["app.kubernetes.io/name"]
        assert env["LSG_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert env["LSG_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
        assert env["LSG_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": component, "key": "password"}
        assert env["LSG_KAFKA_SASL_USERNAME"]["value"] == component
        mount = next(m for m in c["volumeMounts"] if m["name"] == "kafka-ca")
        assert mount["readOnly"] is True
        assert env["LSG_KAFKA_SSL_CAFILE"]["value"] == f"{mount['mountPath']}/ca.crt"
        ca = next(v for v in spec["volumes"] if v["name"] == "kafka-ca")
        assert ca["secret"]["secretName"] == "lsg-kafka-cluster-ca-cert"


def test_sasl_username_from_secret_when_not_given(render: Any) -> None:
    objs = render(sets=["kafka.securityProtocol=SASL_PLAINTEXT"])
    env = env_of(containers(of_kind(objs, "Deployment")[0])[0])
    assert env["LSG_KAFKA_SASL_USERNAME"]["valueFrom"]["secretKeyRef"]["key"] == "username"
    assert "LSG_KAFKA_SSL_CAFILE" not in env


def test_ca_from_configmap(render: Any) -> None:
    objs = render(sets=["kafka.securityProtocol=SSL", "kafka.tls.caConfigMap=kafka-ca"])
    spec = of_kind(objs, "Deployment")[0]["spec"]["template"]["spec"]
    ca = next(v for v in spec["volumes"] if v["name"] == "kafka-ca")
    assert ca["configMap"]["name"] == "kafka-ca"


def test_tls_without_ca_is_refused(render: Any) -> None:
    with pytest.raises(Exception, match=r"kafka\.tls\.caSecret or kafka\.tls\.caConfigMap"):
        render(sets=["kafka.securityProtocol=SASL_SSL"])


# -- Strimzi topics ----------------------------------------------------------------------------------


def test_strimzi_topics_equal_the_shared_registry(production_objects: list[dict[str, Any]]) -> None:
    topics_mod = pytest.importorskip("lsg_events.topics", reason="lsg_events.topics not importable")
    rendered = {t["spec"]["topicName"]: t for t in of_kind(production_objects, "KafkaTopic")}
    registry = {t.name: t for t in topics_mod.TOPICS}
    assert rendered.keys() == registry.keys()
    for name, spec in registry.items():
        kt = rendered[name]
        assert kt["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert kt["metadata"]["labels"]["strimzi.io/cluster"] == "lsg-kafka"
        assert kt["spec"]["partitions"] == spec.partitions, name
        assert kt["spec"]["replicas"] == spec.replication_factor, name
        assert kt["spec"]["config"]["retention.ms"] == str(spec.retention_ms), name
        assert kt["spec"]["config"]["cleanup.policy"] == spec.cleanup_policy, name
        assert kt["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    dlqs = [n for n in registry if n.endswith(".dlq")]
    assert dlqs, "the registry declares dead-letter topics"


def test_strimzi_topics_off_by_default_and_replicas_override(render: Any) -> None:
    assert not of_kind(render(), "KafkaTopic")
    objs = render(sets=["strimzi.topics.enabled=true", "strimzi.topics.replicas=1"])
    assert {t["spec"]["replicas"] for t in of_kind(objs, "KafkaTopic")} == {1}
    # Strimzi owns the topics then: the services must not create them at start-up.
    for obj in workloads(objs):
        assert env_of(containers(obj)[0])["LSG_KAFKA_CREATE_TOPICS"]["value"] == "false"
    for obj in workloads(render()):
        assert "LSG_KAFKA_CREATE_TOPICS" not in env_of(containers(obj)[0])


# -- production overlay ------------------------------------------------------------------------------


def test_production_has_hpa_pdb_networkpolicies_servicemonitor_ingress(
    production_objects: list[dict[str, Any]],
) -> None:
    def names(kind: str) -> set[str]:
        return {o["metadata"]["name"] for o in of_kind(production_objects, kind)}

    expected = {f"lsg-{c}" for c in COMPONENTS}
    assert names("HorizontalPodAutoscaler") == expected
    assert names("PodDisruptionBudget") == expected
    assert names("ServiceMonitor") == expected
    assert len(of_kind(production_objects, "Ingress")) == 1
    assert {"lsg-default-deny", "lsg-allow-egress"} <= names("NetworkPolicy")
    assert {f"{n}-allow-ingress" for n in expected} <= names("NetworkPolicy")
    for hpa in of_kind(production_objects, "HorizontalPodAutoscaler"):
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["name"] == hpa["metadata"]["name"]
    for dep in of_kind(production_objects, "Deployment"):
        assert "replicas" not in dep["spec"], "the HPA owns replicas"
    for sm in of_kind(production_objects, "ServiceMonitor"):
        assert sm["apiVersion"] == "monitoring.coreos.com/v1"
        assert sm["spec"]["endpoints"][0]["path"] == "/metrics"
        assert sm["spec"]["endpoints"][0]["port"] == "http"


def test_network_policies(production_objects: list[dict[str, Any]]) -> None:
    nps = {o["metadata"]["name"]: o["spec"] for o in of_kind(production_objects, "NetworkPolicy")}
    deny = nps["lsg-default-deny"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny
    assert deny["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "lsg"
    egress = nps["lsg-allow-egress"]["egress"]
    ports = {(p["port"], p["protocol"]) for rule in egress for p in rule["ports"]}
    assert {(53, "UDP"), (53, "TCP"), (9093, "TCP"), (5432, "TCP"), (4318, "TCP")} <= ports
    ing = nps["lsg-surveys-allow-ingress"]
    assert ing["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "lsg-surveys"
    peers = ing["ingress"][0]["from"]
    assert any(
        p["namespaceSelector"]["matchLabels"].get("kubernetes.io/metadata.name") == "ingress-nginx" for p in peers
    )
    assert any(p["namespaceSelector"]["matchLabels"].get("kubernetes.io/metadata.name") == "monitoring" for p in peers)


def test_default_render_is_minimal(default_objects: list[dict[str, Any]]) -> None:
    kinds = {o["kind"] for o in default_objects}
    assert not kinds & {"NetworkPolicy", "ServiceMonitor", "Ingress", "KafkaTopic", "HorizontalPodAutoscaler"}


def test_ingress_to_unknown_component_fails(render: Any) -> None:
    with pytest.raises(Exception, match="not an enabled component"):
        render(
            sets=[
                "ingress.enabled=true",
                "ingress.hosts[0].host=x.example.org",
                "ingress.hosts[0].paths[0].path=/",
                "ingress.hosts[0].paths[0].component=nope",
            ]
        )


# -- schema ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--set-string", "default.replicas=two", "replicas"),
        ("--set", "bogus=1", "bogus"),
        ("--set", "kafka.securityProtocol=TLS", "securityProtocol"),
        ("--set", "networkPolicies.create=maybe", "create"),
        ("--set", "components.surveys.port=http", "port"),
        ("--set", "default.unknownSetting=1", "unknownSetting"),
    ],
)
def test_schema_rejects_bad_values(helm: Path, flag: str, value: str, message: str) -> None:
    for verb in ("template", "lint"):
        proc = helm_cmd(helm, verb, *(["lsg"] if verb == "template" else []), str(CHART), flag, value)
        assert proc.returncode != 0, f"helm {verb} accepted {value}"
        out = proc.stderr + proc.stdout
        assert "schema" in out.lower(), out
        assert message in out, out


def test_lint_strict_passes(helm: Path) -> None:
    for extra in ([], ["-f", str(PRODUCTION_VALUES)]):
        proc = helm_cmd(helm, "lint", "--strict", str(CHART), *extra)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_notes_render(helm: Path, tmp_path: Path) -> None:
    # `helm install --dry-run` needs a cluster; render NOTES.txt through `tpl` in a copy of the chart.
    chart = tmp_path / "lsg"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "NOTES.txt").rename(chart / "NOTES.tpl")
    (chart / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n"
        'data:\n  notes: {{ tpl (.Files.Get "NOTES.tpl") . | toJson }}\n',
        encoding="utf-8",
    )
    proc = helm_cmd(
        helm,
        "template",
        "lsg",
        str(chart),
        "--namespace",
        "lsg",
        "-f",
        str(PRODUCTION_VALUES),
        "--show-only",
        "templates/zz-notes.yaml",
    )
    assert proc.returncode == 0, proc.stderr
    notes = yaml.safe_load(proc.stdout)["data"]["notes"]
    for component in COMPONENTS:
        assert f"lsg-{component}-db" in notes
        assert f"lsg-{component} (SCRAM credentials" in notes
    assert "lsg-surveys-secrets (key pseudonym-key: LSG_SURVEYS_PSEUDONYM_KEY)" in notes
    assert "lsg-training-secrets (key pseudonym-key: LSG_TRAINING_PSEUDONYM_KEY)" in notes
    assert "docs/operations.md" in notes


# -- monitoring ----------------------------------------------------------------------------------------


def test_production_renders_the_tested_alert_rules_and_the_dashboards(
    production_objects: list[dict[str, Any]],
) -> None:
    production = production_objects
    rules_file = yaml.safe_load((CHART / "files" / "prometheus-rules.yaml").read_text())
    (rule,) = of_kind(production, "PrometheusRule")
    assert rule["spec"]["groups"] == rules_file["groups"]
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {
        "LsgConsumerLagGrowing",
        "LsgDeadLetter",
        "LsgOutboxStuck",
        "LsgExtremeAlertUnacknowledged",
        "LsgDevicesOffline",
        "LsgHttpErrorRate",
        "LsgServiceNotReady",
    } <= alerts
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            runbook = REPO_ROOT / r["annotations"]["runbook_url"]
            assert runbook.exists(), f"{r['alert']}: runbook {runbook} is missing"
    dashboards = [o for o in of_kind(production, "ConfigMap") if "grafana_dashboard" in o["metadata"]["labels"]]
    assert len(dashboards) == len(list((CHART / "files" / "dashboards").glob("*.json"))) == 4


def test_default_values_render_no_monitoring_crds(render: Any) -> None:
    assert not of_kind(render([]), "PrometheusRule")
