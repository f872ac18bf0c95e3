"""Storage: local disk, and the S3 protocol against moto's real S3 server over HTTP on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from domain.documents.storage import (
    LocalStorage,
    S3Storage,
    Storage,
    StorageConfigError,
    check_key,
    key_for,
    storage_for,
)
from domain.settings import StorageSettings, load_settings

MiB = 1024 * 1024


def storage_from_env(env: dict[str, str], *, local_root: Path | None = None) -> Storage:
    """The storage a process with this environment builds: its settings read once, then ``storage_for``."""
    settings = load_settings(env).storage
    return storage_for(dataclasses.replace(settings, local_dir=local_root) if local_root else settings)


def keyed(data: bytes) -> str:
    return key_for(hashlib.sha256(data).hexdigest())


BAD_KEYS = [
    "../../etc/passwd",
    "/etc/passwd",
    "ab/../../../etc/passwd",
    "ab",
    "",
    "ab/" + "a" * 64,  # prefix does not match the hash
    "AB/" + "ab" + "C" * 62,  # upper case
    "ab/ab" + "0" * 61,  # too short
    "ab/ab" + "0" * 62 + "/x",
    "ab\\ab" + "0" * 62,
    "ab/ab" + "0" * 61 + "g",
    "ab/ab" + "0" * 62 + "\n",
]


def roundtrip(storage: Storage, tmp_path: Path) -> None:
    data = b"giay to " * 5000
    key = keyed(data)
    assert not storage.exists(key)
    storage.put(key, data, "application/pdf")
    assert storage.exists(key) and storage.size(key) == len(data)
    with storage.open(key) as fh:
        assert fh.read() == data
    assert b"".join(storage.iter_chunks(key, 4096)) == data
    assert all(len(c) <= 4096 for c in storage.iter_chunks(key, 4096))
    storage.put(key, data, "application/pdf")  # same content again: a no-op
    assert storage.size(key) == len(data)

    path = tmp_path / "from-file.bin"
    path.write_bytes(os.urandom(300_000))
    file_key = keyed(path.read_bytes())
    storage.put(file_key, path, "image/jpeg")
    assert b"".join(storage.iter_chunks(file_key)) == path.read_bytes()

    with pytest.raises(ValueError, match="does not match"):
        storage.put(keyed(b"other"), data, "image/png")
    assert not storage.exists(keyed(b"other"))

    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # already gone: fine
    missing = keyed(b"never stored")
    readers: list[Callable[[str], Any]] = [storage.size, storage.open, storage.iter_chunks]
    for read in readers:
        with pytest.raises(FileNotFoundError):
            read(missing)
    for bad in BAD_KEYS:
        for call in [*readers, storage.exists, storage.delete]:
            with pytest.raises(ValueError):
                call(bad)
        with pytest.raises(ValueError):
            storage.put(bad, data, "image/png")


def test_keys() -> None:
    digest = hashlib.sha256(b"x").hexdigest()
    assert key_for(digest) == f"{digest[:2]}/{digest}" == check_key(f"{digest[:2]}/{digest}")
    for bad in BAD_KEYS:
        with pytest.raises(ValueError):
            check_key(bad)


# --- local disk ---------------------------------------------------------------------------------


def test_local_roundtrip(tmp_path: Path) -> None:
    root = tmp_path / "files"
    roundtrip(LocalStorage(root), tmp_path)
    leftovers = [p for p in root.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_local_layout_and_idempotence(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    data = b"%PDF-1.7 ..."
    key = keyed(data)
    storage.put(key, data, "application/pdf")
    target = tmp_path / key[:2] / key[3:]
    assert target.read_bytes() == data and oct(target.stat().st_mode & 0o777) == "0o640"
    mtime = target.stat().st_mtime_ns
    storage.put(key, data, "application/pdf")
    assert target.stat().st_mtime_ns == mtime  # not rewritten
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted([key[:2], key[3:]])


def test_local_traversal_never_touches_the_disk(tmp_path: Path) -> None:
    root = tmp_path / "files"
    storage = LocalStorage(root)
    (tmp_path / "secret").write_text("do not read")
    for bad in ("../secret", "../../secret", str(tmp_path / "secret")):
        with pytest.raises(ValueError):
            storage.open(bad)
        with pytest.raises(ValueError):
            storage.delete(bad)
    assert (tmp_path / "secret").exists() and not root.exists()


def test_local_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path)
    data = b"x" * 1000
    key = keyed(data)

    def boom(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        storage.put(key, data, "image/png")
    assert not storage.exists(key)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


# --- configuration ------------------------------------------------------------------------------


def test_storage_from_env(tmp_path: Path) -> None:
    local = storage_from_env({"MOTCUA_STORAGE_DIR": str(tmp_path / "x")})
    assert isinstance(local, LocalStorage) and local.root == (tmp_path / "x").resolve()
    by_var = storage_from_env({"MOTCUA_VAR_DIR": str(tmp_path)})
    assert isinstance(by_var, LocalStorage) and by_var.root == (tmp_path / "files").resolve()
    given = storage_from_env({"MOTCUA_STORAGE": "local"}, local_root=tmp_path / "y")
    assert isinstance(given, LocalStorage) and given.root == tmp_path / "y"
    s3 = storage_from_env({"MOTCUA_STORAGE": "S3", "MOTCUA_S3_BUCKET": "hoso",
                           "MOTCUA_S3_ENDPOINT": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "k",
                           "AWS_SECRET_ACCESS_KEY": "s"})
    assert isinstance(s3, S3Storage) and s3.bucket == "hoso"
    with pytest.raises(StorageConfigError, match="MOTCUA_S3_BUCKET"):
        storage_from_env({"MOTCUA_STORAGE": "s3"})
    with pytest.raises(StorageConfigError, match="MOTCUA_S3_ENDPOINT"):
        storage_from_env({"MOTCUA_STORAGE": "s3", "MOTCUA_S3_BUCKET": "b", "MOTCUA_S3_ENDPOINT": "minio:9000"})
    with pytest.raises(StorageConfigError, match="local or s3"):
        storage_from_env({"MOTCUA_STORAGE": "ftp"})


def test_storage_for_builds_what_the_settings_name(tmp_path: Path) -> None:
    local = storage_for(StorageSettings(local_dir=tmp_path / "z"))
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "z"
    s3 = storage_for(StorageSettings(kind="s3", s3_bucket="hoso", s3_endpoint="http://127.0.0.1:9",
                                     s3_access_key="k", s3_secret_key="s"))
    assert isinstance(s3, S3Storage) and s3.bucket == "hoso"


# --- S3 against a real S3-protocol server -------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint: str, request: pytest.FixtureRequest) -> S3Storage:
    bucket = "motcua-" + hashlib.sha256(request.node.name.encode()).hexdigest()[:12]
    storage = S3Storage(bucket, s3_endpoint, "us-east-1", "testing", "testing")
    storage.ensure_bucket()
    storage.ensure_bucket()  # twice: fine
    return storage


def test_s3_roundtrip(s3: S3Storage, tmp_path: Path) -> None:
    roundtrip(s3, tmp_path)


def test_s3_keeps_content_type_and_big_files_go_multipart(s3: S3Storage, tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    with path.open("wb") as fh:
        for _ in range(12):
            fh.write(os.urandom(MiB))
    key = keyed(path.read_bytes())
    calls: list[str] = []
    s3.client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    s3.put(key, path, "image/jpeg")
    assert "CreateMultipartUpload" in calls and calls.count("UploadPart") == 2 and "PutObject" not in calls
    head = s3.client.head_object(Bucket=s3.bucket, Key=key)
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == 12 * MiB
    assert s3.size(key) == 12 * MiB
    digest = hashlib.sha256()
    for chunk in s3.iter_chunks(key, 256 * 1024):
        assert len(chunk) <= 256 * 1024
        digest.update(chunk)
    assert digest.hexdigest() == key[3:]
    calls.clear()
    s3.put(key, path, "image/jpeg")  # already there: only a HEAD
    assert calls == ["HeadObject"]


def test_s3_from_env_talks_to_the_server(s3_endpoint: str) -> None:
    storage = storage_from_env({"MOTCUA_STORAGE": "s3", "MOTCUA_S3_BUCKET": "from-env",
                                "MOTCUA_S3_ENDPOINT": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                                "AWS_SECRET_ACCESS_KEY": "testing"})
    assert isinstance(storage, S3Storage)
    storage.ensure_bucket()
    data = b"hello"
    storage.put(keyed(data), data, "text/plain")
    assert storage.exists(keyed(data))
