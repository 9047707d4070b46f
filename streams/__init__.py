"""The composition root: configuration, Kafka plumbing, the feature pipeline, the feature worker, the
story agent, history and replay, ingestion, tracing and the CLI. Imports every other package.
"""
