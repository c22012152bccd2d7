"""The one HTTP client both registries are measured with.

Request bodies go out with sendfile() from a file and responses are read into one reused
1 MiB buffer, so the client spends almost no CPU of its own and is never the bottleneck.
"""

import hashlib
import http.client
import os
import time
from urllib.parse import urljoin, urlsplit

BUFFER = 1024 * 1024
OCTET = "application/octet-stream"


class BenchError(RuntimeError):
    pass


class Registry:
    """A registry at base_url; headers() returns what each request sends (Authorization for Berth)."""

    def __init__(self, label: str, base_url: str, headers=None):
        self.label = label
        self.base_url = base_url
        self.host = urlsplit(base_url).netloc
        self._headers = headers or (lambda: {})

    def headers(self) -> dict[str, str]:
        return self._headers()

    def connect(self, url: str | None = None) -> http.client.HTTPConnection:
        parts = urlsplit(url or self.base_url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=900, blocksize=BUFFER)
        conn.connect()
        return conn


def request(conn, method: str, path: str, headers: dict[str, str], body=None, offset: int = 0,
            count: int = 0, chunked: bool = False) -> tuple[http.client.HTTPResponse, bytes]:
    """Send one request, the body (if any) with sendfile(); return the response and its (small) body.

    With chunked, the body's bytes are already in chunked transfer encoding (see frame_chunked).
    """
    conn.putrequest(method, path, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    if body is not None:
        conn.putheader("Content-Type", OCTET)
        conn.putheader(*(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(count))))
    elif method in ("POST", "PUT", "PATCH"):
        conn.putheader("Content-Length", "0")
    conn.endheaders()
    if body is not None and count:
        sent = conn.sock.sendfile(body, offset, count)
        if sent != count:
            raise BenchError(f"sent {sent} of {count} bytes")
    response = conn.getresponse()
    return response, response.read()


def frame_chunked(path: str, piece: int) -> str:
    """Write path's bytes in chunked transfer encoding, chunks of piece bytes, to a file beside it.

    Sent with one sendfile(), the framed body costs the client no more than a Content-Length one:
    framing each chunk while sending took more CPU than the server spent receiving it.
    """
    framed = f"{path}.chunked"
    size = os.path.getsize(path)
    with open(path, "rb") as source, open(framed, "wb") as out:
        offset = 0
        while offset < size:
            n = min(piece, size - offset)
            out.write(b"%x\r\n" % n)
            out.flush()
            copied = 0
            while copied < n:
                copied += os.copy_file_range(source.fileno(), out.fileno(), n - copied, offset + copied)
            out.write(b"\r\n")
            offset += n
        out.write(b"0\r\n\r\n")
    return framed


def expect(response, data: bytes, status: int, what: str) -> None:
    if response.status != status:
        raise BenchError(f"{what}: expected {status}, got {response.status}: {data[:500]!r}")


def location_path(base: str, response) -> str:
    parts = urlsplit(urljoin(base, response.getheader("Location")))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def with_digest(path: str, digest: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}digest={digest}"


def file_digest(path: str) -> str:
    with open(path, "rb") as f:
        return "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()


def push_monolithic(registry: Registry, name: str, path: str, digest: str) -> float:
    """POST an upload, PUT the whole blob; return the seconds it took."""
    size = os.path.getsize(path)
    headers = registry.headers()
    conn = registry.connect()
    with open(path, "rb") as body:
        start = time.perf_counter()
        response, data = request(conn, "POST", f"/v2/{name}/blobs/uploads/", headers)
        expect(response, data, 202, "POST upload")
        location = location_path(registry.base_url, response)
        response, data = request(conn, "PUT", with_digest(location, digest), headers, body, 0, size)
        expect(response, data, 201, "PUT blob")
        elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def push_stream(registry: Registry, name: str, path: str, digest: str, piece: int) -> float:
    """POST an upload, send the whole blob in one chunked-encoding PATCH (as the docker CLI does),
    PUT the digest; return the seconds it took."""
    framed = frame_chunked(path, piece)
    size = os.path.getsize(framed)
    headers = registry.headers()
    conn = registry.connect()
    with open(framed, "rb") as body:
        os.unlink(framed)
        start = time.perf_counter()
        response, data = request(conn, "POST", f"/v2/{name}/blobs/uploads/", headers)
        expect(response, data, 202, "POST upload")
        location = location_path(registry.base_url, response)
        response, data = request(conn, "PATCH", location, headers, body, 0, size, chunked=True)
        expect(response, data, 202, "chunked PATCH")
        location = location_path(registry.base_url, response)
        response, data = request(conn, "PUT", with_digest(location, digest), headers)
        expect(response, data, 201, "PUT digest")
        elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def push_chunked(registry: Registry, name: str, path: str, digest: str, chunk: int,
                 reconnect: bool = False) -> float:
    """POST an upload, PATCH it in chunks of `chunk` bytes, PUT the digest; return the seconds it took.

    With reconnect, every PATCH (and the PUT) goes on a new connection, so behind a proxy or
    on several workers consecutive PATCHes of one upload land on different processes.
    """
    size = os.path.getsize(path)
    headers = registry.headers()
    conn = registry.connect()
    with open(path, "rb") as body:
        start = time.perf_counter()
        response, data = request(conn, "POST", f"/v2/{name}/blobs/uploads/", headers)
        expect(response, data, 202, "POST upload")
        location = location_path(registry.base_url, response)
        offset = 0
        while offset < size:
            count = min(chunk, size - offset)
            if reconnect:
                conn.close()
                conn = registry.connect()
            response, data = request(conn, "PATCH", location,
                                     {**headers, "Content-Range": f"{offset}-{offset + count - 1}"},
                                     body, offset, count)
            expect(response, data, 202, f"PATCH at {offset}")
            location = location_path(registry.base_url, response)
            offset += count
        if reconnect:
            conn.close()
            conn = registry.connect()
        response, data = request(conn, "PUT", with_digest(location, digest), headers)
        expect(response, data, 201, "PUT digest")
        elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def pull(registry: Registry, name: str, digest: str, size: int) -> float:
    """GET a blob (following a redirect to storage) into a reused buffer; return the seconds it took."""
    buffer = memoryview(bytearray(BUFFER))
    url, headers = f"{registry.base_url}/v2/{name}/blobs/{digest}", registry.headers()
    start = time.perf_counter()
    for _ in range(3):
        conn = registry.connect(url)
        parts = urlsplit(url)
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        response = conn.getresponse()
        if response.status in (301, 302, 303, 307, 308):
            url, headers = urljoin(url, response.getheader("Location")), {}
            response.read()
            conn.close()
            continue
        if response.status != 200:
            raise BenchError(f"GET blob: {response.status} {response.read()[:500]!r}")
        received = 0
        while True:
            n = response.readinto(buffer)
            if not n:
                break
            received += n
        conn.close()
        if received != size:
            raise BenchError(f"GET blob: received {received} of {size} bytes")
        return time.perf_counter() - start
    raise BenchError("GET blob: too many redirects")


def put_blob_bytes(registry: Registry, name: str, data: bytes) -> str:
    """Push a small blob (a config or tiny layer) monolithically; return its digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    headers = registry.headers()
    conn = registry.connect()
    response, body = request(conn, "POST", f"/v2/{name}/blobs/uploads/", headers)
    expect(response, body, 202, "POST upload")
    location = location_path(registry.base_url, response)
    conn.putrequest("PUT", with_digest(location, digest), skip_accept_encoding=True)
    for header, value in {**headers, "Content-Type": OCTET, "Content-Length": str(len(data))}.items():
        conn.putheader(header, value)
    conn.endheaders(data)
    response = conn.getresponse()
    expect(response, response.read(), 201, "PUT small blob")
    conn.close()
    return digest


def put_manifest(registry: Registry, name: str, tag: str, raw: bytes, media_type: str) -> None:
    conn = registry.connect()
    conn.request("PUT", f"/v2/{name}/manifests/{tag}", body=raw,
                 headers={**registry.headers(), "Content-Type": media_type})
    response = conn.getresponse()
    expect(response, response.read(), 201, "PUT manifest")
    conn.close()
