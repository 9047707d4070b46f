"""The feature worker: a faust app whose hot topic is consumed in batches below faust's Stream.

faust keeps the app, the tables (per-user state in rocksdict with a changelog; the catalog as a
GlobalTable), partition assignment, rebalancing, recovery, table routing and the web server.
``listening-events`` bypasses faust's per-message Stream machinery: each fetched batch goes to
:class:`~streams.pipeline.processor.FeatureProcessor` in one call (see ``consumer.py``).
"""
