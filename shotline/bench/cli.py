"""``shotline bench``: run every scenario, print the table, optionally copy it into a markdown
page between the bench markers (``make bench``: docs/performance.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markdown import Markdown

from shotline.bench.machine import describe_machine
from shotline.bench.runner import Outcome, discover, run_scenarios
from shotline.bench.table import markdown_table, splice

__all__ = ["bench"]

console = Console(stderr=True)


def bench(
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", "-s", help="Run only these (repeatable).")
    ] = None,
    duration: float = typer.Option(10.0, min=0.5, help="Seconds of load per scenario."),
    readme: Annotated[
        Path | None,
        typer.Option(help="Markdown file whose table between the bench markers is replaced."),
    ] = None,
    list_only: bool = typer.Option(False, "--list", help="List the scenarios and exit."),
) -> None:
    """Run the benchmark scenarios (shotline against a baseline in the same run)."""
    scenarios = discover()
    if list_only:
        for name in scenarios:
            typer.echo(name)
        return
    machine = describe_machine()
    console.print(f"machine: {machine}")

    def done(outcome: Outcome) -> None:
        m = outcome.measurement
        if m is None:
            console.print(f"[red]{outcome.name} failed[/red]: {outcome.error}")
        else:
            console.print(
                f"{outcome.name}: {m.value:,.1f} {m.unit} vs {m.baseline:,.1f} "
                f"({m.baseline_name}), ratio {m.ratio:.2f} in {outcome.seconds:.0f} s"
            )

    try:
        outcomes = run_scenarios(scenarios, duration, done, scenario or None)
    except KeyError as exc:
        console.print(f"[red]error:[/red] {exc.args[0]}")
        raise typer.Exit(2) from exc
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = markdown_table(outcomes, machine, when, duration)
    console.print(Markdown(table))
    typer.echo(table)
    if readme is not None:
        readme.write_text(splice(readme.read_text(), table))
        console.print(f"table written to {readme}")
    if any(o.measurement is None for o in outcomes):
        raise typer.Exit(1)
