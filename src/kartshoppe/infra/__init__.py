"""Local infrastructure the project starts itself (no Docker here): the Apache Kafka broker."""
