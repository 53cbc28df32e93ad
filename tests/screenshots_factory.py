"""Records for enrich tests: screenshots (``shotline.screenshots.v1``) and S3 event
notifications as AWS shapes them, built as the enrich bench builds them."""

from shotline.bench.enrich import s3_event, screenshot

__all__ = ["s3_event", "screenshot"]
