"""The shared feature pipeline: the processor, the stored state format and the flush publishers.

The feature worker and replay both run it, so a backfill computes exactly what live traffic does.
"""
