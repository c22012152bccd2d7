"""registry.oci.midstate: SHA-256/512 whose state is saved as bytes and continued elsewhere."""

import hashlib
import time

import pytest

from registry.oci import midstate

DATA = bytes(range(256)) * 40  # 10,240 bytes

pytestmark = pytest.mark.skipif(not midstate.savable(), reason="needs libcrypto's SHA functions")


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
@pytest.mark.parametrize("split", [0, 1, 63, 64, 65, 111, 112, 127, 128, 129, 1000, len(DATA)])
def test_a_saved_state_continues_the_hash(algorithm, split):
    first = midstate.new_hasher(algorithm)
    first.update(DATA[:split])
    state = first.state()
    assert state.startswith(f"openssl-{algorithm}-v1:".encode())
    assert first.hexdigest() == hashlib.new(algorithm, DATA[:split]).hexdigest()
    continued = midstate.restore(state, algorithm)
    continued.update(DATA[split:])
    assert continued.hexdigest() == hashlib.new(algorithm, DATA).hexdigest()


def test_hexdigest_leaves_the_hash_going():
    hasher = midstate.new_hasher()
    hasher.update(b"abc")
    assert hasher.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    hasher.update(b"def")
    assert hasher.hexdigest() == hashlib.sha256(b"abcdef").hexdigest()


def test_update_takes_any_buffer():
    buffer = bytearray(DATA)
    hasher = midstate.new_hasher()
    hasher.update(memoryview(buffer)[:100])  # a writable slice, as the socket reader hands out
    hasher.update(memoryview(DATA)[100:200])  # read-only
    hasher.update(buffer[200:300])
    hasher.update(DATA[300:])
    hasher.update(b"")
    assert hasher.hexdigest() == hashlib.sha256(DATA).hexdigest()


@pytest.mark.parametrize("change", [
    lambda s: s.replace(b"x86_64", b"s390x").replace(b"aarch64", b"s390x").replace(b"-little", b"-big"),
    lambda s: s.replace(b"-v1:", b"-v9:"),
    lambda s: s.replace(b"openssl-", b"rehash-"),
    lambda s: s[:-1],
    lambda s: b"",
], ids=["another machine", "another format version", "another library", "truncated", "none saved"])
def test_a_state_this_process_cannot_load_is_refused(change):
    hasher = midstate.new_hasher()
    hasher.update(DATA)
    assert midstate.restore(change(hasher.state())) is None


def test_a_sha256_state_does_not_load_as_sha512():
    assert midstate.restore(midstate.new_hasher("sha256").state(), "sha512") is None


def test_without_libcrypto_hashes_are_hashlib_and_save_nothing(monkeypatch):
    monkeypatch.setattr(midstate.ctypes.util, "find_library", lambda name: None)
    assert midstate._load() is None
    monkeypatch.setattr(midstate, "_openssl", None)
    hasher = midstate.new_hasher()
    hasher.update(DATA)
    assert hasher.hexdigest() == hashlib.sha256(DATA).hexdigest()
    assert hasher.state() is None
    assert midstate.restore(b"openssl-sha256-v1:" + bytes(200)) is None


def test_a_libcrypto_whose_struct_is_larger_than_expected_is_not_used(monkeypatch):
    """The known vector catches a build whose state doesn't fit the bytes we would save."""
    monkeypatch.setitem(midstate.CTX_SIZES, "sha256", midstate.CTX_SIZES["sha256"] - 8)
    assert midstate._load() is None


def test_speed_matches_hashlib():
    """ctypes' update runs OpenSSL's code at hashlib's speed (figures in registry/oci/midstate.py)."""
    block = bytearray(1024 * 1024)
    view = memoryview(block)
    best = {}
    for _ in range(3):
        for name, hasher in (("midstate", midstate.new_hasher()), ("hashlib", hashlib.sha256())):
            started = time.perf_counter()
            for _ in range(64):
                hasher.update(view)
            rate = 64 / (time.perf_counter() - started)
            best[name] = max(best.get(name, 0), rate)
    print(f"\nSHA-256 over 1 MiB blocks: midstate {best['midstate']:.0f} MB/s, hashlib {best['hashlib']:.0f} MB/s")
    assert best["midstate"] > 0.5 * best["hashlib"], best  # lenient: two cores shared by many tests


def test_a_state_with_a_header_but_broken_fields_is_refused():
    """A num field past the block would make OpenSSL write out of bounds: such a state never loads."""
    hasher = midstate.new_hasher()
    hasher.update(DATA[:10])
    state = bytearray(hasher.state())
    state[-8:-4] = (200).to_bytes(4, "little")
    assert midstate.restore(bytes(state)) is None
