"""The README, CONTRIBUTING and docs/ keep their promises: every relative link and anchor
resolves, every `make` command they quote is a Makefile target (the Quick start is exactly
`make run` and `make test`), the README stays short, and every dependency in pyproject.toml
has its reason in docs/dependencies.md."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from shotline.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted([REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").rglob("*.md")])

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without fenced code blocks (their `#` lines are not headings)."""
    return _FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in _HEADING.findall(_prose(page.read_text())):
        base = slug(heading)
        name, n = base, 0
        while name in found:  # repeated headings get -1, -2, ...
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def links(page: Path) -> list[str]:
    return _LINK.findall(_CODE_SPAN.sub("", _prose(page.read_text())))


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no such heading)")
    return broken


def test_there_are_pages_and_links_to_check() -> None:
    assert REPO / "README.md" in PAGES
    assert len(PAGES) > 10
    assert sum(len(links(page)) for page in PAGES) > 50


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == [], f"broken links in {page.relative_to(REPO)}"


def test_the_link_checker_notices_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## The `make run` target\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## Local part\n\n[ok](other.md#the-make-run-target) [self](#local-part)\n"
        "[gone](missing.md) [bad anchor](other.md#nowhere) [web](https://example.com)\n"
        "```\n[in code](ignored.md)\n```\n"
    )
    assert broken_links(page) == [
        "missing.md (no such file)",
        "other.md#nowhere (no such heading)",
    ]


def test_slugs_follow_github() -> None:
    assert slug("`make run`: the whole pipeline") == "make-run-the-whole-pipeline"
    assert slug("Autoscaling on lag (KEDA)") == "autoscaling-on-lag-keda"
    assert slug('Moderation provider `kind = "http"`') == "moderation-provider-kind--http"
    assert slug("The exactly-once engine's shape") == "the-exactly-once-engines-shape"


def _readme_section(title: str) -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_quick_start_is_the_two_make_targets_and_both_exist() -> None:
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", _readme_section("Quick start"), re.M | re.S)
    commands = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    assert commands == ["make run", "make test"]
    targets = _make_targets()
    for command in commands:
        assert command.split()[1] in targets, command


def _make_targets() -> set[str]:
    makefile = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.MULTILINE))


def test_every_make_command_the_docs_quote_is_a_target() -> None:
    targets = _make_targets()
    quoted: set[tuple[str, str]] = set()
    for page in PAGES:
        text = page.read_text()
        spans = re.findall(r"`make ([a-z][\w-]*)[^`]*`", text)
        blocks = "\n".join(m.group(0) for m in _FENCE.finditer(text))
        lines = re.findall(r"^\s*make ([a-z][\w-]*)", blocks, re.MULTILINE)
        quoted |= {(page.name, target) for target in [*spans, *lines]}
    assert {target for _, target in quoted} >= {"run", "test", "bench", "docs"}
    missing = sorted((name, target) for name, target in quoted if target not in targets)
    assert missing == [], "commands quoted in the docs that the Makefile lacks"


def test_readme_stays_short() -> None:
    assert len((REPO / "README.md").read_text().splitlines()) <= 200


def test_readme_links_every_docs_page() -> None:
    readme_links = {target.partition("#")[0] for target in links(REPO / "README.md")}
    for page in (REPO / "docs").glob("*.md"):
        assert f"docs/{page.name}" in readme_links, page.name
    assert "docs/decisions/README.md" in readme_links


def _requirement_name(spec: str) -> str:
    return re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]


def test_every_dependency_and_extra_has_its_reason() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    page = (REPO / "docs" / "dependencies.md").read_text()
    rows = "\n".join(line for line in page.splitlines() if line.startswith("| "))
    specs = list(project["project"]["dependencies"]) + list(project["build-system"]["requires"])
    for extra, extra_specs in project["project"]["optional-dependencies"].items():
        assert f"| `{extra}` |" in rows, f"extra {extra}"
        specs += extra_specs
    for spec in specs:
        name = _requirement_name(spec)
        cited = re.search(rf"`{re.escape(name)}(\[[^\]]*\])?`", rows)
        assert cited, f"{name} has no row in docs/dependencies.md"


@pytest.mark.parametrize("page", ["README.md", "docs/configuration.md"])
def test_the_configuration_example_is_a_valid_configuration(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = re.findall(r"^```toml\n(.*?)^```", (REPO / page).read_text(), re.M | re.S)
    assert examples, f"{page} has no TOML example"
    config = tmp_path / "shotline.toml"
    config.write_text(examples[0])
    for name in list(os.environ):
        if name.startswith("SHOTLINE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SHOTLINE_CONFIG", str(config))
    monkeypatch.setenv("SHOTLINE_KAFKA_SASL_PASSWORD", "from-the-environment")
    settings = load_settings()
    assert settings.projects, f"{page}'s example configures no project"
    assert settings.kafka.bootstrap == "broker-1:9092,broker-2:9092"
