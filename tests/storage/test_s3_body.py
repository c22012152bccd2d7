"""registry.storage.s3_bucket.Body: a download that fails at its start fails in the view, where it can be a 503."""

import io

import pytest
from botocore.exceptions import IncompleteReadError

from registry.api.errors import unavailable
from registry.storage.s3_bucket import Body


class Failing:
    def read(self, size=None):
        raise IncompleteReadError(actual_bytes=0, expected_bytes=2048)


def test_a_failure_on_the_first_block_is_raised_when_the_body_is_opened():
    with pytest.raises(IncompleteReadError) as raised:
        Body(Failing())
    assert unavailable(raised.value) is not None  # and it is an outage: 503 UNAVAILABLE


@pytest.mark.parametrize("size", [Body.HEAD - 1, Body.HEAD, Body.HEAD + 1, 3 * Body.HEAD + 7])
def test_reads_give_every_byte_once_in_order(size):
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    body = Body(io.BytesIO(data))
    out, buffer = bytearray(), bytearray(1000)
    while n := body.readinto(buffer):
        out += buffer[:n]
    assert bytes(out) == data
    assert Body(io.BytesIO(data)).read() == data
    pieces = Body(io.BytesIO(data))
    assert pieces.read(10) + pieces.read(-1) == data
