"""The partition of a listener's key, as every producer of the project (and Java's) computes it."""

import pytest

from streams.ingest.published import partition_of


@pytest.mark.parametrize(
    ("key", "java_murmur2"),  # Kafka's own test vectors (UtilsTest.testMurmur2), signed as Java has them
    [(b"21", -973932308), (b"foobar", -790332482), (b"a-little-bit-long-string", -985981536), (b"abc", 479470107)],
)
def test_partition_of_is_javas_murmur2_partitioner(key: bytes, java_murmur2: int) -> None:
    for partitions in (1, 3, 6, 16):
        assert partition_of(key, partitions) == (java_murmur2 & 0x7FFFFFFF) % partitions
