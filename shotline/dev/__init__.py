"""Local services for development and tests: Kafka (KRaft) and S3, without Docker."""
