"""files/topics.yaml (read by the chart) is generated from lsg_events.topics and must stay equal to it."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

HELM_DIR = Path(__file__).resolve().parents[1]
TOPICS_FILE = HELM_DIR / "lsg" / "files" / "topics.yaml"


def load_gen_topics() -> Any:
    spec = importlib.util.spec_from_file_location("lsg_gen_topics", HELM_DIR / "gen_topics.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class StandInSpec:
    """The TopicSpec fields the generator reads (a stand-in, so this test needs no registry)."""

    name: str
    partitions: int
    replication_factor: int
    retention_ms: int
    cleanup_policy: str
    key: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    description: str


@pytest.fixture
def stand_in_topics() -> tuple[StandInSpec, ...]:
    return (
        StandInSpec("t.events.v1", 3, 3, -1, "delete", "id", ("a",), ("b",), "events"),
        StandInSpec("t.events.v1.dlq", 1, 3, 2_592_000_000, "delete", "original key", ("b",), ("ops",), "dlq"),
        StandInSpec("t.latest.v1", 6, 3, -1, "compact", "code", ("b",), (), "latest"),
    )


def test_render_shape(stand_in_topics: tuple[StandInSpec, ...]) -> None:
    gen = load_gen_topics()
    text = gen.render(stand_in_topics)
    assert text.startswith("# GENERATED")
    data = yaml.safe_load(text)
    assert [t["name"] for t in data["topics"]] == [t.name for t in stand_in_topics]
    dlq = data["topics"][1]
    assert dlq == {
        "name": "t.events.v1.dlq",
        "partitions": 1,
        "replicationFactor": 3,
        "retentionMs": 2_592_000_000,
        "cleanupPolicy": "delete",
        "key": "original key",
        "producers": ["b"],
        "consumers": ["ops"],
        "description": "dlq",
    }
    assert data["topics"][2]["cleanupPolicy"] == "compact"
    assert gen.render(stand_in_topics) == text, "deterministic"


def test_check_mode_detects_stale_file(tmp_path: Path) -> None:
    pytest.importorskip("lsg_events.topics", reason="lsg_events.topics (the topic registry) is not importable")
    gen = load_gen_topics()
    out = tmp_path / "topics.yaml"
    out.write_text("topics: []\n", encoding="utf-8")
    assert gen.main(["--check", "--output", str(out)]) == 1
    assert gen.main(["--output", str(out)]) == 0
    assert gen.main(["--check", "--output", str(out)]) == 0


def test_chart_topics_file_matches_the_registry() -> None:
    topics = pytest.importorskip("lsg_events.topics", reason="lsg_events.topics (the topic registry) is not importable")
    gen = load_gen_topics()
    assert TOPICS_FILE.read_text(encoding="utf-8") == gen.render(topics.TOPICS), (
        "deploy/helm/lsg/files/topics.yaml is stale: run `uv run python deploy/helm/gen_topics.py`"
    )
    names = [t["name"] for t in yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))["topics"]]
    assert len(names) == len(set(names))
    consumed = {t.name for t in topics.TOPICS if t.consumers and not t.name.endswith(".dlq")}
    assert {f"{n}.dlq" for n in consumed} & set(names), "dead-letter topics are part of the registry"
