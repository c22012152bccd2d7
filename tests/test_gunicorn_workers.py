"""config/workers.py: a worker with every thread busy leaves new connections to the others."""

import collections
import os
import socket
import time

import pytest

from tests.helpers import start_berth
from tests.servers import BerthServer, wait_until

pytestmark = pytest.mark.e2e


def worker_pids(server: BerthServer) -> list[int]:
    pid = server.process.pid
    return [int(child) for child in open(f"/proc/{pid}/task/{pid}/children").read().split()]


def holders(server: BerthServer) -> collections.Counter:
    """Count, per worker, the established connections to the server's port it holds."""
    inodes = {}
    for pid in worker_pids(server):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes[int(link[8:-1])] = pid
    held = collections.Counter()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        port, state, inode = int(fields[1].split(":")[1], 16), fields[3], int(fields[9])
        if port == server.port and state == "01" and inode in inodes:
            held[inodes[inode]] += 1
    return held


def test_a_burst_of_connections_is_spread_over_the_workers(tmp_path_factory):
    server = start_berth(tmp_path_factory, workers=2, threads=2)
    clients = []
    try:
        wait_until(lambda: len(worker_pids(server)) == 2, timeout=30, what="two workers")
        # Connections that send nothing yet keep a thread waiting for their request: after two,
        # a worker's threads are all busy, and the next two must go to the other worker.
        for _ in range(4):
            clients.append(socket.create_connection(("127.0.0.1", server.port)))
            time.sleep(0.2)
        wait_until(lambda: sum(holders(server).values()) == 4, timeout=10, what="four accepted connections")
        assert sorted(holders(server).values()) == [2, 2]
        # Both workers still answer, each on the connections it holds.
        for client in clients:
            client.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode())
            assert client.recv(100).startswith(b"HTTP/1.1 401")
    finally:
        for client in clients:
            client.close()
        server.stop()


def answer(responses) -> bytes:
    """Read one response (with a Content-Length body) off responses, a socket file; return its status line."""
    status = responses.readline()
    length = 0
    while (line := responses.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    responses.read(length)
    return status


def test_one_thread_serves_back_to_back_and_later_requests_on_keep_alive_connections(tmp_path_factory):
    # One thread: while it lingers on a connection it has just answered, a request on another
    # connection must still be answered, and a request sent after the linger (the connection back
    # on gthread's poller) too.
    server = start_berth(tmp_path_factory, workers=1, threads=1)
    request = f"GET /v2/ HTTP/1.1\r\nHost: {server.host}\r\n\r\n".encode()
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as one, \
                socket.create_connection(("127.0.0.1", server.port)) as two:
            first, second = one.makefile("rb"), two.makefile("rb")
            for _ in range(3):
                one.sendall(request)
                assert answer(first).startswith(b"HTTP/1.1 401")
            two.sendall(request)
            assert answer(second).startswith(b"HTTP/1.1 401")
            time.sleep(0.1)
            one.sendall(request + request)  # pipelined
            assert answer(first).startswith(b"HTTP/1.1 401")
            assert answer(first).startswith(b"HTTP/1.1 401")
            two.sendall(request)
            assert answer(second).startswith(b"HTTP/1.1 401")
    finally:
        server.stop()
