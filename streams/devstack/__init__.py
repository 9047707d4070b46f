"""Dev-only tooling: the local stack and the local schema registry service.

Never imported by the runtime (a test checks the import graph).
"""
