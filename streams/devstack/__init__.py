"""Dev-only tooling: the local stack, the local schema registry service, the native build.

Never imported by the runtime (a test checks the import graph).
"""
