"""The S3 calls the S3 blob store makes on its bucket, with the error handling it needs.

django-storages' S3Storage is configured from the AWS_* settings (credentials, endpoint,
region, AWS_S3_CLIENT_CONFIG, AWS_LOCATION, AWS_QUERYSTRING_EXPIRE) and answers presigned URLs,
sizes and single deletes. The multipart calls, batch deletes, listings and streamed reads it
doesn't offer go through the boto3 client it configured (S3File would download a whole blob
to a spooled file before its first byte). Kept apart from the upload logic in `s3` so that
module reads as the design it implements.
"""

import io
import threading
import uuid
from datetime import datetime

from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage

from registry.oci.errors import BlobUploadInvalid

NOT_FOUND = ("404", "NoSuchKey", "NotFound")


class BlobStorage(S3Storage):
    """django-storages' S3Storage with one connection per process instead of one per thread.

    Each connection is a boto3 session of its own: about 13 MB and up to a second on a thread's
    first S3 request, times every gunicorn thread. boto3 clients are thread-safe; of the resource
    around it, S3Storage only makes a fresh Object per call (size, delete), from a Bucket resource
    it already shares between threads itself.
    """

    _connect_lock = threading.Lock()

    @property
    def connection(self):
        shared = self.__dict__.get("_shared_connection")
        if shared is None:
            with self._connect_lock:
                shared = self.__dict__.get("_shared_connection")
                if shared is None:
                    shared = self.__dict__["_shared_connection"] = super().connection
        return shared

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_shared_connection", None)
        return state


class Bucket:
    """One bucket (AWS_STORAGE_BUCKET_NAME) under an optional key prefix (AWS_LOCATION)."""

    def __init__(self):
        self.storage = BlobStorage()
        self.name = self.storage.bucket_name
        location = self.storage.location.strip("/")
        self.prefix = f"{location}/" if location else ""

    @property
    def client(self):
        """The boto3 client django-storages configured."""
        return self.storage.connection.meta.client

    def _name(self, key: str) -> str:
        # django-storages names are relative to AWS_LOCATION; our keys include it.
        return key[len(self.prefix):] if self.prefix and key.startswith(self.prefix) else key

    def new_key(self) -> str:
        """Return a fresh object key under blobs/ (where sweep() looks)."""
        return f"{self.prefix}blobs/{uuid.uuid4().hex}"

    # Objects

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def open(self, key: str, offset: int = 0) -> "Body":
        """Return a readable file over an object from offset on; FileNotFoundError if it is missing."""
        extra = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            return Body(self.client.get_object(Bucket=self.name, Key=key, **extra)["Body"])
        except ClientError as error:
            if code(error) in NOT_FOUND:
                raise FileNotFoundError(f"object {key} is missing from bucket {self.name}") from None
            raise

    def size(self, key: str) -> int | None:
        """Return an object's size, None if it doesn't exist."""
        try:
            return self.storage.size(self._name(key))
        except FileNotFoundError:
            return None

    def delete_one(self, key: str) -> None:
        self.storage.delete(self._name(key))

    def delete(self, keys) -> None:
        keys = [k for k in dict.fromkeys(keys) if k]
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            self.client.delete_objects(Bucket=self.name,
                                       Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})

    def tag(self, key: str, **tags: str) -> None:
        self.client.put_object_tagging(Bucket=self.name, Key=key,
                                       Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})

    def presigned_get(self, key: str) -> str:
        """Return a presigned GET URL valid AWS_QUERYSTRING_EXPIRE seconds."""
        return self.storage.url(self._name(key))

    # Multipart uploads: {"key", "id", "parts": [[number, etag, size], ...]} (JSON, kept in the database)

    def start(self) -> dict:
        key = self.new_key()
        answer = self.client.create_multipart_upload(Bucket=self.name, Key=key,
                                                     ContentType="application/octet-stream")
        return {"key": key, "id": answer["UploadId"], "parts": []}

    def upload_part(self, mpu: dict, data: bytes) -> None:
        number = len(mpu["parts"]) + 1
        answer = self.client.upload_part(Bucket=self.name, Key=mpu["key"], UploadId=mpu["id"],
                                         PartNumber=number, Body=data)
        mpu["parts"].append([number, answer["ETag"], len(data)])

    def copy_part(self, mpu: dict, source_key: str, byte_range: tuple[int, int] | None = None) -> None:
        """Add an object (or the inclusive byte_range of it) as the next part, copied inside S3."""
        number = len(mpu["parts"]) + 1
        extra = {}
        if byte_range is not None:
            extra["CopySourceRange"] = f"bytes={byte_range[0]}-{byte_range[1]}"
            size = byte_range[1] - byte_range[0] + 1
        else:
            size = self.size(source_key)
        answer = self.client.upload_part_copy(Bucket=self.name, Key=mpu["key"], UploadId=mpu["id"],
                                              PartNumber=number,
                                              CopySource={"Bucket": self.name, "Key": source_key}, **extra)
        mpu["parts"].append([number, answer["CopyPartResult"]["ETag"], size])

    def complete(self, mpu: dict) -> None:
        """Complete a multipart upload; one completed earlier passes if its object is whole."""
        parts = [{"PartNumber": n, "ETag": etag} for n, etag, _ in mpu["parts"]]
        try:
            self.client.complete_multipart_upload(Bucket=self.name, Key=mpu["key"], UploadId=mpu["id"],
                                                  MultipartUpload={"Parts": parts})
        except ClientError as error:
            if code(error) in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall"):
                raise BlobUploadInvalid("the upload's parts were changed by a concurrent request; "
                                        "start a new upload") from None
            if code(error) != "NoSuchUpload":
                raise
            # Completed by a rehash whose PATCH then failed, so the database still names it.
            if self.size(mpu["key"]) != sum(size for _, _, size in mpu["parts"]):
                raise BlobUploadInvalid("the upload's storage is gone or incomplete; start a new upload") from None

    def abort(self, mpu: dict) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.name, Key=mpu["key"], UploadId=mpu["id"])
        except ClientError as error:
            if code(error) != "NoSuchUpload":
                raise

    def multipart_uploads(self):
        """Yield the bucket's unfinished multipart uploads under blobs/ (as list_multipart_uploads has them)."""
        for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.name,
                                                                                 Prefix=f"{self.prefix}blobs/"):
            yield from page.get("Uploads", [])

    def parts_summary(self, key: str, upload_id: str) -> tuple[int, datetime | None]:
        """Return the bytes a multipart upload holds so far and when its newest part arrived."""
        try:
            pages = self.client.get_paginator("list_parts").paginate(Bucket=self.name, Key=key, UploadId=upload_id)
            parts = [part for page in pages for part in page.get("Parts", [])]
        except ClientError:
            return 0, None
        return sum(p["Size"] for p in parts), max((p["LastModified"] for p in parts), default=None)

    def objects(self):
        """Yield the bucket's objects under blobs/ (as list_objects_v2 has them)."""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name,
                                                                          Prefix=f"{self.prefix}blobs/"):
            yield from page.get("Contents", [])


class Body(io.RawIOBase):
    """A readable file over a boto3 streaming body (FileResponse reads it in blocks).

    The first block is read at once, so S3 failing at the start of a download is an error in the
    view (a 503 with Retry-After) rather than in gunicorn's loop over the body, which can only
    answer 500 or drop the connection.
    """

    HEAD = 64 * 1024

    def __init__(self, body):
        self.body = body
        self.head = memoryview(body.read(self.HEAD))

    def readable(self):
        return True

    def read(self, size=-1):
        if self.head:
            if size is None or size < 0:
                data, self.head = bytes(self.head) + self.body.read(), memoryview(b"")
                return data
            data, self.head = bytes(self.head[:size]), self.head[size:]
            return data
        return self.body.read(None if size is None or size < 0 else size)

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self):
        self.body.close()
        super().close()


def code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
