"""The live table's enrich notes: events vs heads, pending and missing objects."""

from __future__ import annotations

from shotline.dev.monitor import Samples, _emitted, _enrich_notes


def test_enrich_notes_sum_projects_by_source_and_show_pending_and_missing() -> None:
    samples = Samples(
        (
            ("shotline_enrich_enriched_total", {"project": "a", "source": "event"}, 7.0),
            ("shotline_enrich_enriched_total", {"project": "b", "source": "event"}, 3.0),
            ("shotline_enrich_enriched_total", {"project": "a", "source": "head"}, 2.0),
            ("shotline_enrich_pending", {}, 4.0),
            ("shotline_enrich_missing_total", {"project": "a"}, 1.0),
        )
    )
    assert _enrich_notes(samples) == ["events 10 heads 2", "pending 4", "missing 1"]


def test_other_stages_get_no_enrich_notes() -> None:
    assert _enrich_notes(Samples((("shotline_processor_records_processed_total", {}, 5.0),))) == []


def test_enrich_output_counts_what_its_own_tasks_emitted_too() -> None:
    runner_only = ("shotline_processor_records_emitted_total", {"processor": "enrich"}, 4.0)
    samples = Samples(
        (
            runner_only,
            ("shotline_enrich_enriched_total", {"project": "a", "source": "event"}, 9.0),
            ("shotline_enrich_enriched_total", {"project": "a", "source": "head"}, 1.0),
        )
    )
    assert _emitted(samples) == 10.0
    assert _emitted(Samples((runner_only,))) == 4.0
    assert _emitted(Samples()) is None
