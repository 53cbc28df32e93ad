from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

import shotline.bench.cli as bench_cli
from shotline.bench.machine import describe_machine, kafka_version
from shotline.bench.model import Measurement
from shotline.bench.runner import discover, run_scenarios
from shotline.bench.table import END, START, markdown_table, splice
from shotline.cli import app
from tests.paths import ROOT

SCENARIO = """
from shotline.bench.model import Measurement

def measure(duration_s: float) -> Measurement:
    extra = {{"p99": "3 ms"}}
    return Measurement("{name}", "records/s", 100.0 * duration_s, 50.0, "raw loop", extra)
"""


@pytest.fixture
def package(tmp_path: Path) -> Iterator[ModuleType]:
    root = tmp_path / "fakebench"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name in ("zeta", "e2e", "ingest", "dedupe"):
        (root / f"{name}.py").write_text(textwrap.dedent(SCENARIO.format(name=name)))
    (root / "metrics.py").write_text(
        "def measure(duration_s):\n    raise RuntimeError('no broker')\n"
    )
    (root / "model.py").write_text("VALUE = 1  # not a scenario: no measure()\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("fakebench")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("fakebench")]:
            del sys.modules[name]


def test_discovery_finds_modules_with_measure_in_pipeline_order(package: ModuleType) -> None:
    assert list(discover(package)) == ["ingest", "dedupe", "metrics", "e2e", "zeta"]


def test_a_failing_scenario_is_reported_and_the_rest_still_run(package: ModuleType) -> None:
    outcomes = run_scenarios(discover(package), 2.0)
    failed = [o for o in outcomes if o.measurement is None]
    assert [o.name for o in failed] == ["metrics"]
    assert failed[0].error == "RuntimeError: no broker"
    ok = [o.measurement for o in outcomes if o.measurement is not None]
    assert [m.value for m in ok] == [200.0] * 4


def test_unknown_scenario_names_are_refused(package: ModuleType) -> None:
    with pytest.raises(KeyError, match="nope"):
        run_scenarios(discover(package), 1.0, names=["ingest", "nope"])


def test_only_the_named_scenarios_run(package: ModuleType) -> None:
    outcomes = run_scenarios(discover(package), 1.0, names=["e2e"])
    assert [o.name for o in outcomes] == ["e2e"]


def test_table_shows_values_baseline_ratio_and_failures(package: ModuleType) -> None:
    outcomes = run_scenarios(discover(package), 1.0, names=["ingest", "metrics"])
    table = markdown_table(outcomes, "a machine", "today", 1.0)
    assert "| ingest | 100 | 50.0 (raw loop) | 2.00x | records/s | p99 3 ms |" in table
    assert "| metrics | failed | | | | RuntimeError: no broker |" in table
    assert "a machine" in table


def test_splice_replaces_only_the_marked_block() -> None:
    readme = f"# x\n\nbefore\n{START}\nold table\n{END}\nafter\n"
    out = splice(readme, "NEW")
    assert out == f"# x\n\nbefore\n{START}\nNEW\n{END}\nafter\n"
    assert splice(out, "NEWER").count(START) == 1


def test_splice_without_markers_is_an_error() -> None:
    with pytest.raises(ValueError, match="bench:start"):
        splice("# no markers\n", "table")


def test_the_performance_page_carries_the_bench_markers() -> None:
    # `make bench` writes its table there (Makefile: shotline bench --readme docs/performance.md)
    assert "--readme docs/performance.md" in (ROOT / "Makefile").read_text()
    page = (ROOT / "docs" / "performance.md").read_text()
    assert splice(page, "T").count("T\n<!-- bench:end -->") == 1


def test_ratio_is_value_over_baseline() -> None:
    assert Measurement("s", "u", 30.0, 60.0, "b").ratio == 0.5


def test_machine_description_names_cpu_cores_python_and_kafka() -> None:
    text = describe_machine()
    assert "cores" in text
    assert "Python 3." in text
    assert f"Apache Kafka {kafka_version()}" in text
    assert kafka_version()[0].isdigit()


def test_bench_verb_prints_the_table_and_rewrites_the_readme(
    package: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_cli, "discover", lambda: discover(package))
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n{START}\nold\n{END}\ntail\n")
    args = ["bench", "-s", "ingest", "-s", "e2e", "--duration", "1", "--readme", str(readme)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = readme.read_text()
    assert "old" not in text
    assert "| ingest | 100 |" in text
    assert "| e2e | 100 |" in text
    assert text.endswith(f"{END}\ntail\n")


def test_bench_verb_fails_when_a_scenario_fails(
    package: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_cli, "discover", lambda: discover(package))
    result = CliRunner().invoke(app, ["bench", "-s", "metrics", "--duration", "1"])
    assert result.exit_code == 1
