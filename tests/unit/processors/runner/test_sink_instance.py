"""A processor instance's name in its ``transactional.id``: the host and the lowest slot no live
process on the host holds, so a restart after ``kill -9`` gets the same id back (and fences
its predecessor) while two instances on one host never share one."""

from __future__ import annotations

from pathlib import Path

import pytest

from processors.runner.sink import claim_instance


def test_instances_on_one_host_get_distinct_slots_and_a_freed_slot_is_taken_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    first, lock_a = claim_instance("dedupe-t.callbacks")
    second, lock_b = claim_instance("dedupe-t.callbacks")
    other, lock_c = claim_instance("tally-t.screenshots")
    assert first.endswith("-0")
    assert second.endswith("-1")
    assert other.endswith("-0")
    assert lock_a is not None
    assert lock_b is not None
    assert lock_c is not None
    lock_a.close()  # the first process dies
    again, lock_d = claim_instance("dedupe-t.callbacks")
    assert again == first
    for lock in (lock_b, lock_c, lock_d):
        assert lock is not None
        lock.close()
