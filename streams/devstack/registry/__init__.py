"""A small, local-only, Confluent-compatible schema registry service.

Local stack only: production points ``LINERNOTES_SCHEMA_REGISTRY_URL`` at Confluent Schema
Registry, Karapace or Apicurio. It speaks the subset of the REST API that confluent-kafka's
``SchemaRegistryClient`` and serializers use, keeps its state in the ``_schemas`` topic, and
enforces compatibility with Apache Avro's own schema-resolution checker.
"""
