"""The read-back marks a commit carries (streams.stories.readback, PartitionOffsets.marks_at)."""

from streams.kafka.marks import decode_marks, earliest, encode_marks
from streams.stories.offsets import PartitionOffsets


def test_marks_survive_the_commit_metadata_and_foreign_metadata_is_ignored() -> None:
    assert decode_marks(encode_marks({1: 40, 0: 7})) == {0: 7, 1: 40}
    assert decode_marks(None) is None
    assert decode_marks("") is None
    assert decode_marks("written by another tool") is None
    assert decode_marks("[1, 2]") is None


def test_a_read_back_starts_at_the_lowest_mark_of_every_partition() -> None:
    assert earliest([{0: 5, 1: 9}, {0: 3, 1: 12, 2: 1}]) == {0: 3, 1: 9, 2: 1}


def test_a_commit_marks_where_the_first_uncommitted_request_arrived() -> None:
    part = PartitionOffsets()
    end = {0: 10, 1: 20}
    part.receive(5, end)
    end = {0: 11, 1: 20}  # the story of request 5... or of another: the known end moved
    part.receive(6, end)
    part.open.discard(6)
    part.finished.append(6)  # 6 is done and published, 5 is still in flight: nothing to commit
    assert part.commit_point() is None
    part.open.discard(5)
    part.finished.append(5)
    point = part.commit_point()
    assert point == 7
    assert part.marks_at(point, {0: 12, 1: 21}) == {0: 12, 1: 21}  # nothing past 7 arrived: now
    part.receive(9, {0: 12, 1: 21})  # offsets need not be contiguous
    assert part.marks_at(7, {0: 13, 1: 22}) == {0: 12, 1: 21}
    assert part.marks == {9: {0: 12, 1: 21}}
