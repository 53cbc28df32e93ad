"""Pure pieces of enrich's edges: S3 notification bodies, checkpoints, error classification."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError, ConnectTimeoutError

from processors.enrich.checkpoints import Checkpoint
from processors.enrich.client import head_outcome
from processors.enrich.logic import Denied, Missing, Transient
from processors.objectstore import s3_failure
from schemas.s3event import S3EventDocument, split_notification
from tests.screenshots_factory import s3_event


def test_sqs_body_splits_into_one_record_documents_keyed_by_decoded_bucket_and_key() -> None:
    body = s3_event("b1", "shots/a b+c.jpg", 10, "e1")
    doc = json.loads(body)
    doc["Records"].append(json.loads(s3_event("b1", "k2", 3, "e2"))["Records"][0])
    [(key1, value1), (key2, _)] = split_notification(json.dumps(doc)) or []
    assert (key1, key2) == ("b1/shots/a b+c.jpg", "b1/k2")
    event = S3EventDocument.model_validate_json(value1).records[0]
    assert (event.object_key, event.s3.object.size, event.created) == ("shots/a b+c.jpg", 10, True)


def test_sns_wrapped_test_event_and_garbage_bodies() -> None:
    wrapped = json.dumps({"Type": "Notification", "Message": s3_event("b", "k", 1, "e").decode()})
    assert [k for k, _ in split_notification(wrapped) or []] == ["b/k"]
    assert split_notification('{"Service":"Amazon S3","Event":"s3:TestEvent"}') == []
    assert split_notification("not json") is None
    assert split_notification('{"Records":[{"eventName":"x"}]}') is None


def test_checkpoint_round_trip_and_what_a_restore_redoes() -> None:
    point = Checkpoint(high=120, pending=(5, 7, 100))
    back = Checkpoint.decode(point.encode("cp", 3).value)
    assert back == point
    assert back.start(committed=130) == 5
    assert [o for o in range(0, 130) if back.redo(o)] == [5, 7, 100, *range(120, 130)]
    assert Checkpoint(high=50, pending=()).start(committed=40) == 40


def _head_error(code: str, status: int, message: str = "") -> ClientError:
    answer = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}
    answer["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(answer, "HeadObject")  # type: ignore[arg-type]


def test_head_errors_are_classified_by_code_and_status() -> None:
    assert isinstance(head_outcome(s3_failure(_head_error("404", 404, "Not Found"))), Missing)
    assert isinstance(head_outcome(s3_failure(_head_error("", 404))), Missing), "no body"
    assert head_outcome(s3_failure(_head_error("403", 403, "Forbidden"))) == Denied(
        "403: Forbidden"
    )
    assert head_outcome(s3_failure(_head_error("", 401))) == Denied("401:")
    assert isinstance(head_outcome(s3_failure(_head_error("InvalidAccessKeyId", 403))), Denied)
    assert head_outcome(s3_failure(_head_error("SlowDown", 503))) == Transient("SlowDown:")
    assert isinstance(head_outcome(s3_failure(_head_error("500", 500))), Transient)
    timeout = ConnectTimeoutError(endpoint_url="http://s3")
    assert head_outcome(s3_failure(timeout)) == Transient(f"ConnectTimeoutError: {timeout}")
