"""Count the bytes a store reads back, from outside the app servers' processes.

Filesystem: the kernel's count of bytes each gunicorn worker read through read()/pread()
(/proc/<pid>/io, rchar). Sockets are read with recv(), which it leaves out, so in a worker that
has already imported what a request needs, rchar grows only with file reads: the upload file.

S3: a TCP proxy between the app servers and the S3 server counting every byte S3 sends back
(object bodies, and a few hundred bytes of headers and XML per request).
"""

import socket
import threading
from pathlib import Path


def worker_pids(server) -> list[int]:
    """Return the pids of a BerthServer's gunicorn workers."""
    pid = server.process.pid
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def rchar(pids) -> int:
    """Return the bytes the processes pids read with read() and pread() so far, summed."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("rchar:"):
                total += int(line.split()[1])
    return total


class CountingProxy:
    """127.0.0.1:<port> forwarding to target_port; `received` is the bytes the target sent back."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.received = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        buffer = bytearray(256 * 1024)
        try:
            while n := source.recv_into(buffer):
                sink.sendall(memoryview(buffer)[:n])
                if count:
                    with self._lock:
                        self.received += n
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self._closed = True
        self.listener.close()
        for sock in self._sockets:
            sock.close()
