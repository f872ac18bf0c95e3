"""Where checked files live: one small interface, local disk (default) or an S3-protocol bucket.

Keys are made by the server from the content: ``sha256[:2]/sha256`` (see :func:`key_for`). Any
other key is refused before it touches a path or a request, so no client text can ever reach the
file system or the bucket. Putting the same content twice is a no-op; ``put`` checks that the
content really hashes to its key. Because identical files share one object, deleting must be
reference-counted by the caller (e.g. only when no document row points at the key any more).

The interface is synchronous (file and socket I/O): call it from a worker thread in async code.
A missing key raises :class:`FileNotFoundError` on both backends.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from domain.settings import StorageConfigError as StorageConfigError  # raised here too (S3 without a bucket)
from domain.settings import StorageSettings

CHUNK = 64 * 1024
MULTIPART_THRESHOLD = 8 * 1024 * 1024
KEY = re.compile(r"([0-9a-f]{2})/([0-9a-f]{64})")




def key_for(sha256: str) -> str:
    return check_key(f"{sha256[:2]}/{sha256}")


def check_key(key: str) -> str:
    """Return ``key`` if it is a server-made content key, else raise ValueError."""
    m = KEY.fullmatch(key) if isinstance(key, str) else None
    if m is None or not m.group(2).startswith(m.group(1)):
        raise ValueError("storage keys are sha256[:2]/sha256 (lower-case hex)")
    return key


def _digest_of(source: Path | bytes) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    h = hashlib.sha256()
    with source.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            h.update(block)
    return h.hexdigest()


def _check_content(key: str, source: Path | bytes) -> None:
    if _digest_of(source) != key[3:]:
        raise ValueError("content does not match its key (keys are the sha256 of the content)")


class Storage(Protocol):
    def put(self, key: str, source: Path | bytes, content_type: str) -> None:
        """Store ``source`` (a file or bytes) under ``key``; a no-op when the key exists."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the stored content; close it after use."""
        ...

    def iter_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """The stored content in chunks of at most ``chunk_size`` bytes (for streaming responses)."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the content; no error when it is already gone."""
        ...

    def size(self, key: str) -> int: ...


class LocalStorage:
    """Files under ``root``: ``root/ab/abcdef…`` (two hex characters fan out the directories).

    Writes are atomic: a temporary file in the target directory, fsync, ``os.replace``, fsync of the
    directory. A crash leaves either nothing or the whole file (plus, at worst, a ``.tmp-*`` file).
    The content type is not kept here (the database row has it).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key[3:]

    def put(self, key: str, source: Path | bytes, content_type: str) -> None:
        target = self._path(key)
        if target.exists():
            return
        _check_content(key, source)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(source, bytes):
                    out.write(source)
                else:
                    with source.open("rb") as src:
                        shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def iter_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        fh = self._path(key).open("rb")  # a missing key fails now, not at the first next()
        return _file_chunks(fh, chunk_size)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size


def _file_chunks(fh: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    with fh:
        while block := fh.read(chunk_size):
            yield block


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3Storage:
    """Objects in an S3-protocol bucket (AWS S3, MinIO, Ceph RGW, …), keys as on disk.

    Uploads go through boto3's managed transfer: files over 8 MiB are sent as a multipart upload in
    8 MiB parts, so memory stays bounded. Downloads stream the response body.
    """

    def __init__(self, bucket: str, endpoint_url: str | None = None, region: str | None = None,
                 access_key: str | None = None, secret_key: str | None = None,
                 client: Any = None) -> None:
        if not bucket:
            raise StorageConfigError("S3Storage needs a bucket name")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        if client is None:
            import boto3  # noqa: PLC0415  (boto3 loads only when S3 storage is used)
            from botocore.config import Config  # noqa: PLC0415  (boto3 loads only when S3 storage is used)

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or "us-east-1",
                aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None,
                config=Config(
                    signature_version="s3v4",
                    # path-style works with every S3-protocol server; AWS itself accepts both
                    s3={"addressing_style": "path" if endpoint_url else "auto"},
                    retries={"max_attempts": 5, "mode": "standard"},
                    connect_timeout=5,
                    read_timeout=60,
                ),
            )
        self.client = client

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (development and tests; production has one)."""
        if not self._head_bucket():
            self.client.create_bucket(Bucket=self.bucket)

    def _head_bucket(self) -> bool:
        from botocore.exceptions import ClientError  # noqa: PLC0415  (boto3 loads only when S3 storage is used)

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError  # noqa: PLC0415  (boto3 loads only when S3 storage is used)

        try:
            return cast(dict[str, Any], self.client.head_object(Bucket=self.bucket, Key=check_key(key)))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def put(self, key: str, source: Path | bytes, content_type: str) -> None:
        from boto3.s3.transfer import TransferConfig  # noqa: PLC0415  (boto3 loads only when S3 storage is used)

        if self._head(key) is not None:
            return
        _check_content(key, source)
        config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD,
                                multipart_chunksize=MULTIPART_THRESHOLD, max_concurrency=4)
        extra = {"ContentType": content_type}
        if isinstance(source, bytes):
            self.client.upload_fileobj(io.BytesIO(source), self.bucket, key, ExtraArgs=extra, Config=config)
        else:
            with source.open("rb") as fh:
                self.client.upload_fileobj(fh, self.bucket, key, ExtraArgs=extra, Config=config)

    def _get_body(self, key: str) -> Any:
        from botocore.exceptions import ClientError  # noqa: PLC0415  (boto3 loads only when S3 storage is used)

        try:
            return self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from None
            raise

    def open(self, key: str) -> BinaryIO:
        return cast(BinaryIO, self._get_body(key))

    def iter_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        body = self._get_body(key)  # a missing key fails now, not at the first next()
        return _body_chunks(body, chunk_size)

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(key)
        return int(head["ContentLength"])


def _body_chunks(body: Any, chunk_size: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def _missing(exc: Any) -> bool:
    err = exc.response.get("Error", {}) if hasattr(exc, "response") else {}
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") if hasattr(exc, "response") else None
    return str(err.get("Code")) in ("404", "NoSuchKey", "NotFound", "NoSuchBucket") or status == 404


def storage_for(settings: StorageSettings) -> Storage:
    """The storage the settings name: built once by a composition root (the app, the CLI, the worker)."""
    if settings.kind == "s3":
        return S3Storage(settings.s3_bucket, endpoint_url=settings.s3_endpoint, region=settings.s3_region,
                         access_key=settings.s3_access_key, secret_key=settings.s3_secret_key)
    return LocalStorage(settings.local_dir)
