"""Kafka plumbing shared by every process: the producer, topic admin, reading a topic to its end."""
