"""Blobs in S3-compatible storage (AWS S3, MinIO, Ceph, R2...) for many stateless app servers.

How an upload travels
---------------------
An upload streams into one S3 multipart upload ("MPU"), opened on the first full part, in
parts of PART_SIZE bytes: a worker holds at most one part (plus the small tail below) in
memory and never writes to local disk, whatever the blob's size.

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
     "garbage": [key, ...]}           # objects to delete once the upload ends
Bytes of the upload, in order = the MPU's parts, then the pending objects.

The running SHA-256
-------------------
hashlib state can't be saved, and `rehash` refuses OpenSSL 3. The worker that wrote a PATCH
keeps its hasher in the per-worker HashCache, tagged with the offset it covers. When a PATCH
(or the final PUT) lands on a worker without it, the hash is re-derived from storage: parts
of an open MPU can't be read, so the MPU is completed into a readable object, that object
and the pending objects are read once to rebuild the hash, and a new MPU continues from it
with UploadPartCopy (a server-side copy; nothing passes through the worker). That is the
uncommon case and the only one that copies; the digest is always computed over the bytes
actually stored.

Finishing without copying
-------------------------
S3 can't rename an object and an MPU's key is fixed when it starts, before the digest is
known. So instead of copying the finished blob to a `sha256/<hex>` key, the object keeps its
upload-time key (`blobs/<random>`) and the Blob row, unique per digest, records it
(Blob.storage_key). Each digest is still stored exactly once: when the digest already has a
blob, the new object is deleted (see services.uploads). Finishing is then, in the common case
(one PATCH, or PATCHes on one worker):
  * blob < 5 MiB, one pending object: that object *is* the blob, no request at all;
  * larger: UploadPartCopy of the pending tail (< 5 MiB, server-side) and
    CompleteMultipartUpload. The blob is never re-read or copied whole.
The finished object is tagged `digest=sha256:...` so the bucket stays understandable
without the database.

Concurrency: two PATCHes racing on one upload may both write part N; the loser's database
update fails (services.uploads), and CompleteMultipartUpload checks each part's ETag, so a
part overwritten by the loser fails the upload instead of producing a wrong blob.

Downloads answer 307 to a presigned GET URL valid AWS_QUERYSTRING_EXPIRE seconds when
BERTH_BLOB_REDIRECT is on, and stream from S3 otherwise. Abandoned uploads are aborted when
they expire (services.uploads) and by `manage.py gc` (sweep()).
"""

import copy
import io
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from registry.oci.digests import new_hasher
from registry.oci.errors import BlobUploadInvalid
from registry.storage.base import CHUNK_SIZE, BlobStore, StoredItem, copy_stream

MIN_PART = 5 * 1024 * 1024  # S3's smallest part, except the last
PART_SIZE = 8 * 1024 * 1024  # parts this worker sends while streaming
MAX_COPY_PART = 4 * 1024**3  # UploadPartCopy copies at most 5 GiB per part


class S3BlobStore(BlobStore):
    """Blobs as objects in one bucket, named at upload time and recorded on the Blob row."""

    def __init__(self):
        self.bucket = settings.AWS_STORAGE_BUCKET_NAME
        self.prefix = settings.AWS_LOCATION.strip("/") + "/" if settings.AWS_LOCATION.strip("/") else ""
        endpoint = settings.AWS_S3_ENDPOINT_URL or None
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": settings.AWS_S3_ADDRESSING_STYLE or ("path" if endpoint else "auto")},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        self.client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=settings.AWS_S3_REGION_NAME or None,
            aws_access_key_id=settings.AWS_ACCESS_KEY_ID or None,
            aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY or None,
            config=config,
        )

    # Names

    def new_key(self) -> str:
        return f"{self.prefix}blobs/{uuid.uuid4().hex}"

    def key_for(self, digest: str, key: str = "") -> str:
        """Return the object key of a stored blob (from its Blob row when the caller lacks it)."""
        if key:
            return key
        from registry.models import Blob

        found = Blob.objects.filter(digest=digest).values_list("storage_key", flat=True).first()
        if not found:
            raise FileNotFoundError(f"blob {digest} has no object in bucket {self.bucket}")
        return found

    # Start-up

    def check(self):
        where = f"bucket {self.bucket!r}" + (f" at {settings.AWS_S3_ENDPOINT_URL}" if settings.AWS_S3_ENDPOINT_URL
                                             else "")
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("404", "NoSuchBucket"):
                hint = "it does not exist; create it or fix AWS_STORAGE_BUCKET_NAME"
            elif code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                hint = "access was refused; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and the bucket policy"
            else:
                hint = f"S3 answered {status} {code}"
            raise ImproperlyConfigured(f"BERTH_STORAGE=s3 can't use {where}: {hint}.") from None
        except BotoCoreError as error:
            raise ImproperlyConfigured(
                f"BERTH_STORAGE=s3 can't reach {where}: {error}. Check AWS_S3_ENDPOINT_URL and the network."
            ) from None

    # Uploads

    def append(self, upload_id, offset, state, stream, *, length):
        # The state is updated in place as parts land, so store() can clean up after a failure;
        # services persist the returned state only when the whole PATCH succeeded.
        _normalize(state)
        hasher = self._hasher_at(upload_id, offset, state, "sha256")
        room = settings.BERTH_MAX_LAYER_SIZE - offset
        writer = _PartWriter(self, state)
        copied = copy_stream(stream, writer, hasher, length=length, room=room)
        writer.close()
        self.hashes.put(f"{upload_id}:sha256", offset + copied, hasher)
        return offset + copied, state

    def finish(self, upload_id, offset, state, digest):
        _normalize(state)
        hasher = self.hashes.take(f"{upload_id}:{digest.algorithm}", offset)
        if hasher is None:
            hasher = self._rehash(offset, state, digest.algorithm, reopen=False)
        self.check_digest(hasher, digest)
        self._merge_pending(state)
        mpu = state["mpu"]
        if mpu and mpu["parts"]:
            if state["pending"]:
                pending_key, _ = state["pending"].pop()
                self._copy_part(mpu, pending_key, None)
                state["garbage"].append(pending_key)
            self._complete(mpu)
            key = mpu["key"]
        elif state["pending"]:
            key, _ = state["pending"].pop()
            if mpu:
                self._abort(mpu)
        else:
            key = self.new_key()
            self.client.put_object(Bucket=self.bucket, Key=key, Body=b"")
            if mpu:
                self._abort(mpu)
        state["mpu"] = None
        self._delete_keys(state["garbage"] + [k for k, _ in state["pending"]])
        state["garbage"], state["pending"] = [], []
        try:
            self.client.put_object_tagging(Bucket=self.bucket, Key=key,
                                           Tagging={"TagSet": [{"Key": "digest", "Value": str(digest)}]})
        except ClientError:
            pass  # a convenience for people browsing the bucket, not needed by Berth
        return key

    def discard(self, upload_id, state):
        self.hashes.drop(f"{upload_id}:sha256")
        if not state:
            return
        _normalize(state)
        if state["mpu"]:
            self._abort(state["mpu"])
            state["garbage"].append(state["mpu"]["key"])  # in case a rehash had completed it
        self._delete_keys(state["garbage"] + [k for k, _ in state["pending"]])
        state.update(mpu=None, pending=[], garbage=[])

    def upload_refs(self, state):
        state = copy.deepcopy(state or {})
        _normalize(state)
        keys = {key for key, _ in state["pending"]} | set(state["garbage"])
        if state["mpu"]:
            keys.add(state["mpu"]["key"])
        return keys, ({state["mpu"]["id"]} if state["mpu"] else set())

    def _hasher_at(self, upload_id, offset, state, algorithm):
        hasher = self.hashes.take(f"{upload_id}:{algorithm}", offset)
        if hasher is not None:
            return hasher
        return self._rehash(offset, state, algorithm, reopen=True)

    def _rehash(self, offset, state, algorithm, *, reopen):
        """Rebuild the hash of the upload's first offset bytes from storage.

        Completes the open MPU so its bytes can be read; with reopen, a new MPU continues
        from the completed object by server-side copy.
        """
        hasher = new_hasher(algorithm)
        if not offset:
            return hasher
        mpu = state["mpu"]
        sources = []
        if mpu and mpu["parts"]:
            self._complete(mpu)
            sealed = mpu["key"]
            sealed_size = sum(size for _, _, size in mpu["parts"])
            sources.append(sealed)
            if reopen or state["pending"]:
                fresh = self._start()
                for start in range(0, sealed_size, MAX_COPY_PART):
                    self._copy_part(fresh, sealed, (start, min(start + MAX_COPY_PART, sealed_size) - 1))
                state["mpu"] = fresh
                state["garbage"].append(sealed)
            else:
                # The completed object holds every byte: finish() will find it as an MPU with
                # parts and complete it again, which _complete() accepts.
                pass
        elif mpu:
            self._abort(mpu)
            state["mpu"] = None
        sources += [key for key, _ in state["pending"]]
        total = 0
        for key in sources:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            while data := body.read(CHUNK_SIZE):
                hasher.update(data)
                total += len(data)
        if total != offset:
            raise BlobUploadInvalid(
                f"the upload's stored bytes ({total}) don't match its offset ({offset}); start a new upload"
            )
        return hasher

    def _merge_pending(self, state):
        """Turn several pending objects (under MIN_PART in all) into one."""
        if len(state["pending"]) < 2:
            return
        data = b"".join(self._read(key) for key, _ in state["pending"])
        key = self.new_key()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        state["garbage"] += [k for k, _ in state["pending"]]
        state["pending"] = [[key, len(data)]]

    # Multipart helpers

    def _start(self) -> dict:
        key = self.new_key()
        answer = self.client.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                     ContentType="application/octet-stream")
        return {"key": key, "id": answer["UploadId"], "parts": []}

    def _upload_part(self, mpu, data) -> None:
        number = len(mpu["parts"]) + 1
        answer = self.client.upload_part(Bucket=self.bucket, Key=mpu["key"], UploadId=mpu["id"],
                                         PartNumber=number, Body=data)
        mpu["parts"].append([number, answer["ETag"], len(data)])

    def _copy_part(self, mpu, source_key, byte_range) -> None:
        number = len(mpu["parts"]) + 1
        extra = {}
        if byte_range is not None:
            extra["CopySourceRange"] = f"bytes={byte_range[0]}-{byte_range[1]}"
            size = byte_range[1] - byte_range[0] + 1
        else:
            size = self.client.head_object(Bucket=self.bucket, Key=source_key)["ContentLength"]
        answer = self.client.upload_part_copy(Bucket=self.bucket, Key=mpu["key"], UploadId=mpu["id"],
                                              PartNumber=number,
                                              CopySource={"Bucket": self.bucket, "Key": source_key}, **extra)
        mpu["parts"].append([number, answer["CopyPartResult"]["ETag"], size])

    def _complete(self, mpu) -> None:
        parts = [{"PartNumber": n, "ETag": etag} for n, etag, _ in mpu["parts"]]
        try:
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=mpu["key"], UploadId=mpu["id"],
                                                  MultipartUpload={"Parts": parts})
        except ClientError as error:
            if _code(error) != "NoSuchUpload":
                if _code(error) in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall"):
                    raise BlobUploadInvalid("the upload's parts were changed by a concurrent request; "
                                            "start a new upload") from None
                raise
            # Completed earlier (a rehash whose PATCH then failed): fine if the object is whole.
            expected = sum(size for _, _, size in mpu["parts"])
            if self._size(mpu["key"]) != expected:
                raise BlobUploadInvalid("the upload's storage is gone or incomplete; start a new upload") from None

    def _abort(self, mpu) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=mpu["key"], UploadId=mpu["id"])
        except ClientError as error:
            if _code(error) != "NoSuchUpload":
                raise

    def _delete_keys(self, keys) -> None:
        keys = [k for k in dict.fromkeys(keys) if k]
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            self.client.delete_objects(Bucket=self.bucket,
                                       Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})

    def _read(self, key) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def _size(self, key) -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as error:
            if _code(error) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    # Blobs

    def open(self, digest, *, key="", offset=0):
        extra = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key_for(digest, key), **extra)
        except ClientError as error:
            if _code(error) in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"blob {digest} is missing from bucket {self.bucket}") from None
            raise
        return _Body(answer["Body"])

    def exists(self, digest, *, key=""):
        try:
            return self._size(self.key_for(digest, key)) is not None
        except FileNotFoundError:
            return False

    def delete(self, digest, *, key=""):
        try:
            self._delete_keys([self.key_for(digest, key)])
        except FileNotFoundError:
            pass

    def redirect_url(self, digest, *, key=""):
        if not settings.BERTH_BLOB_REDIRECT:
            return None
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.key_for(digest, key)},
            ExpiresIn=settings.AWS_QUERYSTRING_EXPIRE,
        )

    def sweep(self, *, keep_keys, keep_digests, keep_uploads, before, dry_run):
        found = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}blobs/"):
            for mpu in page.get("Uploads", []):
                if mpu["UploadId"] not in keep_uploads and mpu["Initiated"] < before:
                    found.append(StoredItem("unfinished multipart upload", mpu["Key"], self._mpu_size(mpu)))
                    if not dry_run:
                        self._abort({"key": mpu["Key"], "id": mpu["UploadId"]})
        stale = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                          Prefix=f"{self.prefix}blobs/"):
            for item in page.get("Contents", []):
                if item["Key"] not in keep_keys and item["LastModified"] < before:
                    found.append(StoredItem("object", item["Key"], item["Size"]))
                    stale.append(item["Key"])
        if not dry_run:
            self._delete_keys(stale)
        return found

    def _mpu_size(self, mpu) -> int:
        try:
            pages = self.client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=mpu["Key"],
                                                                     UploadId=mpu["UploadId"])
            return sum(part["Size"] for page in pages for part in page.get("Parts", []))
        except ClientError:
            return 0


class _PartWriter:
    """A write-only file that sends an upload's bytes to S3 as parts, holding one part at most."""

    def __init__(self, store: S3BlobStore, state: dict):
        self.store, self.state = store, state
        self.buffer = bytearray()

    def pending_size(self) -> int:
        return sum(size for _, size in self.state["pending"])

    def write(self, data) -> None:
        self.buffer += data
        while self.pending_size() + len(self.buffer) >= PART_SIZE:
            self._send_part(PART_SIZE - self.pending_size())

    def close(self) -> None:
        if self.pending_size() + len(self.buffer) >= MIN_PART:
            self._send_part(len(self.buffer))
        elif self.buffer:
            key = self.store.new_key()
            self.store.client.put_object(Bucket=self.store.bucket, Key=key, Body=bytes(self.buffer))
            self.state["pending"].append([key, len(self.buffer)])
            self.buffer = bytearray()

    def _send_part(self, take: int) -> None:
        if self.state["mpu"] is None:
            self.state["mpu"] = self.store._start()
        pending = self.state["pending"]
        head = b"".join(self.store._read(key) for key, _ in pending)
        body = head + bytes(self.buffer[:take])
        del self.buffer[:take]
        self.store._upload_part(self.state["mpu"], body)
        # The database state still names the pending objects until this PATCH is saved.
        self.state["garbage"] += [key for key, _ in pending]
        self.state["pending"] = []


class _Body(io.RawIOBase):
    """A readable file over a boto3 streaming body (FileResponse reads it in blocks)."""

    def __init__(self, body):
        self.body = body

    def readable(self):
        return True

    def read(self, size=-1):
        return self.body.read(None if size is None or size < 0 else size)

    def readinto(self, buffer):
        data = self.body.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self):
        self.body.close()
        super().close()


def _normalize(state: dict) -> None:
    state.setdefault("mpu", None)
    state.setdefault("pending", [])
    state.setdefault("garbage", [])


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")

