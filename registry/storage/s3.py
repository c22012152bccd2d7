"""Blobs in S3-compatible storage (AWS S3, MinIO, Ceph, R2...) for many stateless app servers.

How an upload travels
---------------------
An upload streams into one S3 multipart upload ("MPU"), opened on the first full part, in
parts of PART_SIZE bytes (larger when BERTH_MAX_LAYER_SIZE would need more than 9,000 parts):
a worker holds at most one part (plus the small tail below) in memory and never writes to
local disk, whatever the blob's size. A 1 GiB push through gunicorn grows a worker's peak
RSS by about 30 MiB (tests/storage/test_s3_servers.py).

S3 refuses parts under 5 MiB (MIN_PART) except the last, and a PATCH may end anywhere. So a
PATCH's leftover bytes that don't make a part are stored as their own small object (a
"pending" object). The next PATCH reads those back (under 5 MiB in all, once each) and sends
them in front of its own bytes as the next part; at the end they become the last part. Many
tiny PATCHes thus cost one small PutObject each and one read-back per 5 MiB, never a
quadratic re-read, and memory stays bounded by PART_SIZE + MIN_PART.

The upload's state lives in the database (Upload.storage_state, JSON), so the next PATCH may
land on any worker of any app server:
    {"mpu": {"key", "id", "parts": [[number, etag, size], ...]} | None,
     "pending": [[key, size], ...],   # bytes after the parts, in order, < MIN_PART in all
     "garbage": [key, ...],           # objects to delete once the upload ends
     "writer": "<id of the PATCH that saved this state>"}
Bytes of the upload, in order = the MPU's parts, then the pending objects.

The running hash
----------------
This store never hashes. The upload service streams each body through one hasher whose
midstate it saves in the same row (Upload.hash_state, see registry.oci.midstate), so the next
PATCH on any worker continues the hash without reading a byte back. Only a state this process
can't load (written on another platform or by another library, or none when libcrypto is
missing) makes the service call read_upload(): parts of an open MPU can't be read, so the MPU
is completed into a readable object, that object and the pending objects are read once, and
with reopen a new MPU continues from it with UploadPartCopy (server-side; nothing passes
through the worker). That fallback is the only path that reads an upload back or copies it.

Finishing without copying
-------------------------
S3 can't rename an object and an MPU's key is fixed when it starts, before the digest is
known. So instead of copying the finished blob to a `sha256/<hex>` key, the object keeps its
upload-time key (`blobs/<random>`) and the Blob row, unique per digest, records it
(Blob.storage_key). Each digest is still stored exactly once: when the digest already has a
blob, the new object is deleted (services.blobs.blob_record). Finishing is then:
  * blob < 5 MiB, one pending object: that object *is* the blob, nothing is copied;
  * larger: UploadPartCopy of the pending tail (< 5 MiB, server-side) and
    CompleteMultipartUpload. The blob is never re-read or copied whole.
The finished object is tagged `digest=sha256:...` so the bucket stays understandable
without the database.

Concurrency: two PATCHes racing on one upload may both write part N; the loser's database
update fails (services.uploads: the offset is the guard, and the hash state is saved in the
same UPDATE), and CompleteMultipartUpload checks each part's ETag, so a part overwritten by the
loser fails the upload instead of producing a wrong blob. Each saved state carries the id of
the PATCH that wrote it ("writer").

The client
----------
django-storages' S3Storage owns the configuration (credentials, endpoint, region, addressing
style, AWS_S3_CLIENT_CONFIG with adaptive retries and timeouts, AWS_LOCATION) and answers
presigned URLs, sizes and single deletes; `s3_bucket` takes the boto3 client it configured for
the multipart calls, batch deletes, listings and streamed reads it doesn't offer.

Downloads answer 307 to a presigned GET URL valid AWS_QUERYSTRING_EXPIRE seconds when
BERTH_BLOB_REDIRECT is on, and stream from S3 otherwise. Abandoned uploads are aborted when
they expire (services.uploads) and by `manage.py gc` (sweep()).
"""

import copy
import uuid

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from registry.storage.base import CHUNK_SIZE, BlobStore, StoredItem, StoreUnreachable, UploadWriter
from registry.storage.s3_bucket import Bucket, code

MIN_PART = 5 * 1024 * 1024  # S3's smallest part, except the last
PART_SIZE = 8 * 1024 * 1024  # parts this worker sends while streaming
MAX_COPY_PART = 4 * 1024**3  # UploadPartCopy copies at most 5 GiB per part
MAX_PARTS = 9000  # of S3's 10,000, leaving room for the parts a rehash adds


class S3BlobStore(BlobStore):
    """Blobs as objects in one bucket, named at upload time and recorded on the Blob row."""

    def __init__(self):
        self.bucket = Bucket()

    def key_for(self, digest: str, key: str = "") -> str:
        """Return the object key of a stored blob (from its Blob row when the caller lacks it)."""
        if key:
            return key
        from registry.models import Blob

        found = Blob.objects.filter(digest=digest).values_list("storage_key", flat=True).first()
        if not found:
            raise FileNotFoundError(f"blob {digest} has no object in bucket {self.bucket.name}")
        return found

    def check(self):
        endpoint = settings.AWS_S3_ENDPOINT_URL
        where = f"bucket {self.bucket.name!r}" + (f" at {endpoint}" if endpoint else "")
        try:
            self.bucket.client.head_bucket(Bucket=self.bucket.name)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code(error) in ("404", "NoSuchBucket"):
                hint = "it does not exist; create it or fix AWS_STORAGE_BUCKET_NAME"
            elif code(error) in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                hint = "access was refused; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and the bucket policy"
            else:
                hint = f"S3 answered {status} {code(error)}"
            failure = StoreUnreachable if isinstance(status, int) and status >= 500 else ImproperlyConfigured
            raise failure(f"BERTH_STORAGE=s3 can't use {where}: {hint}.") from None
        except BotoCoreError as error:
            raise StoreUnreachable(
                f"BERTH_STORAGE=s3 can't reach {where}: {error}. Check AWS_S3_ENDPOINT_URL and the network."
            ) from None

    # Uploads

    def writer(self, upload_id, offset, state):
        # The state is updated in place as parts land, so a failed PATCH can be cleaned up;
        # services persist the returned state only when the whole PATCH succeeded.
        _normalize(state)
        return _PartWriter(self.bucket, state)

    def read_upload(self, upload_id, offset, state, *, reopen):
        """Yield the upload's first offset bytes (the fallback for a hash state that can't be loaded).

        Completes the open MPU so its bytes can be read; with reopen (or when pending bytes
        must follow it), a new MPU continues from the completed object by server-side copy.
        """
        _normalize(state)
        if not offset:
            return
        mpu, sources = state["mpu"], []
        if mpu and mpu["parts"]:
            self.bucket.complete(mpu)
            sealed, sealed_size = mpu["key"], sum(size for _, _, size in mpu["parts"])
            sources.append(sealed)
            if reopen or state["pending"]:
                fresh = self.bucket.start()
                # Equal ranges, so none falls under S3's 5 MiB minimum part.
                count = -(-sealed_size // MAX_COPY_PART)
                bounds = [sealed_size * i // count for i in range(count + 1)]
                for start, end in zip(bounds, bounds[1:], strict=False):
                    self.bucket.copy_part(fresh, sealed, (start, end - 1))
                state["mpu"] = fresh
                state["garbage"].append(sealed)
            # Otherwise the completed object holds every byte: complete() completes the MPU
            # again, which Bucket.complete() accepts, and keeps the object as the blob.
        sources += [key for key, _ in state["pending"]]
        for key in sources:
            with self.bucket.open(key) as body:
                while data := body.read(CHUNK_SIZE):
                    yield data

    def complete(self, upload_id, size, state, digest):
        _normalize(state)
        self._merge_pending(state)
        mpu = state["mpu"]
        if mpu and mpu["parts"]:
            if state["pending"]:
                tail, _ = state["pending"].pop()
                self.bucket.copy_part(mpu, tail)  # under 5 MiB, and it may be the last part
                state["garbage"].append(tail)
            self.bucket.complete(mpu)
            key = mpu["key"]
        else:
            if mpu:
                self.bucket.abort(mpu)  # opened by a PATCH that failed before its first part
            if state["pending"]:
                key, _ = state["pending"].pop()  # a small blob: its one pending object is the blob
            else:
                key = self.bucket.new_key()
                self.bucket.put(key, b"")
        state["mpu"] = None
        self.bucket.delete(state["garbage"] + [k for k, _ in state["pending"]])
        state["garbage"], state["pending"] = [], []
        try:
            self.bucket.tag(key, digest=str(digest))
        except ClientError:
            pass  # a convenience for people browsing the bucket, not needed by Berth
        return key

    def abort(self, upload_id, state):
        if not state:
            return
        _normalize(state)
        if state["mpu"]:
            self.bucket.abort(state["mpu"])
            state["garbage"].append(state["mpu"]["key"])  # in case a fallback read had completed it
        self.bucket.delete(state["garbage"] + [k for k, _ in state["pending"]])
        state.update(mpu=None, pending=[], garbage=[])

    def upload_refs(self, state):
        state = copy.deepcopy(state or {})
        _normalize(state)
        keys = {key for key, _ in state["pending"]} | set(state["garbage"])
        if state["mpu"]:
            keys.add(state["mpu"]["key"])
        return keys, ({state["mpu"]["id"]} if state["mpu"] else set())

    def _merge_pending(self, state):
        """Turn several pending objects (under MIN_PART in all) into one."""
        if len(state["pending"]) < 2:
            return
        data = b"".join(self.bucket.read(key) for key, _ in state["pending"])
        key = self.bucket.new_key()
        self.bucket.put(key, data)
        state["garbage"] += [k for k, _ in state["pending"]]
        state["pending"] = [[key, len(data)]]

    # Blobs

    def open(self, digest, *, key="", offset=0):
        return self.bucket.open(self.key_for(digest, key), offset)

    def exists(self, digest, *, key=""):
        try:
            return self.bucket.size(self.key_for(digest, key)) is not None
        except FileNotFoundError:
            return False

    def delete(self, digest, *, key=""):
        try:
            self.bucket.delete_one(self.key_for(digest, key))
        except FileNotFoundError:
            pass

    def redirect_url(self, digest, *, key=""):
        if not settings.BERTH_BLOB_REDIRECT:
            return None
        return self.bucket.presigned_get(self.key_for(digest, key))

    def sweep(self, *, keep_keys, keep_digests, keep_uploads, before, dry_run):
        found = []
        for mpu in self.bucket.multipart_uploads():
            if mpu["UploadId"] in keep_uploads or mpu["Initiated"] >= before:
                continue
            # A PATCH still streaming (its state not saved yet) keeps adding parts.
            size, newest = self.bucket.parts_summary(mpu["Key"], mpu["UploadId"])
            if newest is None or newest < before:
                found.append(StoredItem("unfinished multipart upload", mpu["Key"], size))
                if not dry_run:
                    self.bucket.abort({"key": mpu["Key"], "id": mpu["UploadId"]})
        stale = [item for item in self.bucket.objects()
                 if item["Key"] not in keep_keys and item["LastModified"] < before]
        found += [StoredItem("object", item["Key"], item["Size"]) for item in stale]
        if not dry_run:
            self.bucket.delete(item["Key"] for item in stale)
        return found


class _PartWriter(UploadWriter):
    """A write-only file that sends an upload's bytes to S3 as parts, holding one part at most."""

    def __init__(self, bucket: Bucket, state: dict):
        self.bucket, self.state = bucket, state
        self.buffer = bytearray()
        # S3 allows 10,000 parts: keep the largest blob allowed well within that.
        self.part_size = max(PART_SIZE, -(-settings.BERTH_MAX_LAYER_SIZE // MAX_PARTS))

    def pending_size(self) -> int:
        return sum(size for _, size in self.state["pending"])

    def write(self, data) -> None:
        self.buffer += data
        while self.pending_size() + len(self.buffer) >= self.part_size:
            self._send_part(self.part_size - self.pending_size())

    def close(self) -> dict:
        if self.pending_size() + len(self.buffer) >= MIN_PART:
            self._send_part(len(self.buffer))
        elif self.buffer:
            key = self.bucket.new_key()
            self.bucket.put(key, bytes(self.buffer))
            self.state["pending"].append([key, len(self.buffer)])
            self.buffer = bytearray()
        self.state["writer"] = uuid.uuid4().hex
        return self.state

    def _send_part(self, take: int) -> None:
        if self.state["mpu"] is None:
            self.state["mpu"] = self.bucket.start()
        pending = self.state["pending"]
        head = b"".join(self.bucket.read(key) for key, _ in pending)
        body = head + bytes(self.buffer[:take])
        del self.buffer[:take]
        self.bucket.upload_part(self.state["mpu"], body)
        # The database state still names the pending objects until this PATCH is saved.
        self.state["garbage"] += [key for key, _ in pending]
        self.state["pending"] = []


def _normalize(state: dict) -> None:
    state.setdefault("mpu", None)
    state.setdefault("pending", [])
    state.setdefault("garbage", [])
    state.setdefault("writer", "")

