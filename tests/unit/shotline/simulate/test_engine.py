from __future__ import annotations

import threading

from shotline.simulate import Courier, FaultRates, SimulateSettings, Simulator, UploadError
from tests.unit.shotline.simulate.receiver import Misbehaviour, Receiver

FAULTS = FaultRates(
    duplicate=0.3,
    bad_checksum=0.1,
    malformed=0.1,
    compact_timestamp=0.5,
    missing_object=0.05,
    dropped=0.05,
)


class MemoryStore:
    def __init__(self, fail: bool = False) -> None:
        self.objects: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.fail = fail
        self.bucket_checked = False

    def ensure_bucket(self) -> None:
        self.bucket_checked = True

    def put(self, key: str, body: bytes) -> None:
        if self.fail:
            raise UploadError("store down")
        with self.lock:
            self.objects[key] = body


async def _run(receiver: Receiver, store: MemoryStore, **kw: object) -> Simulator:
    settings = SimulateSettings.model_validate(
        {"url": receiver.url, "rate": 2000, "count": 300, "seed": 11, "faults": FAULTS, **kw}
    )
    courier = Courier(settings.url, settings.concurrency, settings.timeout_s)
    simulator = Simulator(settings, courier, store)
    try:
        await simulator.run()
    finally:
        await courier.close()
    return simulator


async def test_oracle_sets_match_what_the_receiver_accepted(receiver: Receiver) -> None:
    store = MemoryStore()
    stats = (await _run(receiver, store)).stats
    assert stats.planned == 300
    assert store.bucket_checked
    assert set(stats.acked) == set(receiver.accepted)
    assert len(stats.acked) == len(set(stats.acked))
    assert not stats.lost
    assert not stats.unexpected
    assert stats.rejected
    assert not set(stats.rejected) & set(receiver.accepted)
    assert stats.dropped
    assert not set(stats.dropped) & set(receiver.accepted)
    # Each refused invalid callback was tried three times, as Agora does.
    assert stats.attempts == sum(receiver.statuses.values())
    assert sum(v for k, v in receiver.statuses.items() if k != 200) == 3 * len(stats.rejected)


async def test_duplicate_storms_redeliver_acknowledged_callbacks(receiver: Receiver) -> None:
    stats = (await _run(receiver, MemoryStore())).stats
    redelivered = sum(n - 1 for n in receiver.accepted.values())
    assert stats.duplicates_sent == stats.duplicates_acked == redelivered > 0


async def test_uploads_precede_callbacks_except_missing_and_dropped(receiver: Receiver) -> None:
    store = MemoryStore()
    stats = (await _run(receiver, store)).stats
    uploaded_ids = {key.rsplit("/", 1)[1].split("_", 1)[0] for key in store.objects}
    assert stats.uploaded == len(store.objects) == 300 - stats.missing_object
    assert all(rid.split("_", 1)[0] in uploaded_ids for rid in stats.dropped)
    missing = [rid for rid in stats.acked if rid.split("_", 1)[0] not in uploaded_ids]
    assert len(missing) == stats.missing_object > 0
    assert all(body[:2] == b"\xff\xd8" for body in store.objects.values())


async def test_failed_upload_means_no_callback(receiver: Receiver) -> None:
    stats = (await _run(receiver, MemoryStore(fail=True), faults=FaultRates())).stats
    assert stats.upload_failed == 300
    assert not receiver.requests


async def test_unreachable_receiver_loses_valid_screenshots(receiver: Receiver) -> None:
    receiver.misbehaviour = Misbehaviour(status=500, body=b"{}")
    stats = (await _run(receiver, MemoryStore(), count=20, faults=FaultRates())).stats
    assert len(stats.lost) == 20
    assert not stats.acked
    assert stats.outcomes["500"] == 60


async def test_no_upload_mode_sends_without_touching_the_store(receiver: Receiver) -> None:
    store = MemoryStore()
    stats = (await _run(receiver, store, upload=False, faults=FaultRates())).stats
    assert not store.objects
    assert not store.bucket_checked
    assert len(stats.acked) == 300


async def test_rate_and_duration_bound_the_run(receiver: Receiver) -> None:
    stats = (await _run(receiver, MemoryStore(), rate=50, count=None, duration_s=1.0)).stats
    assert 40 <= stats.planned <= 60


async def test_without_id_lists_only_counts_are_kept(receiver: Receiver) -> None:
    settings = SimulateSettings(url=receiver.url, rate=2000, count=100, seed=3, faults=FAULTS)
    courier = Courier(settings.url, settings.concurrency, settings.timeout_s)
    simulator = Simulator(settings, courier, MemoryStore(), keep_ids=False)
    try:
        stats = await simulator.run()
    finally:
        await courier.close()
    assert not stats.acked
    assert not stats.dropped
    assert stats.snapshot()["acked"] == len(receiver.accepted) > 0
    assert stats.snapshot()["dropped"] > 0
