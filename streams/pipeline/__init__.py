"""The shared feature pipeline: the processor, the stored state format, the flush publishers and the
flush/commit protocol (``checkpoint.py``).

The feature worker and replay both run the processor and the publishers, so a backfill computes
exactly what live traffic does.
"""
