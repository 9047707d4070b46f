"""The feature worker: a faust app whose hot topic is consumed in batches below faust's Stream.

faust keeps the app, the per-user state table (rocksdict with a changelog), partition assignment,
rebalancing, recovery, table routing and the web server; the catalog is a table every worker reads
in full itself (``catalog.py``). ``listening-events`` bypasses faust's per-message Stream machinery:
each fetched batch goes to :class:`~streams.pipeline.processor.FeatureProcessor` in one call (see
``consumer.py``), and ``streams.pipeline.checkpoint`` makes its effects durable before faust commits
its offsets. Every private faust name this takes is in ``faust_compat.py``.
"""
