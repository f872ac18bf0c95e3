"""Documents from the camera: sniff, check and clean uploads, stream them to disk, store them.

Pure Python, no web framework: the skins feed request bodies in and map :class:`UploadRejected`
(a :class:`domain.errors.InvalidInput`) to a page or to problem details.
"""

from __future__ import annotations

from domain.documents.processing import (
    MAX_BYTES,
    MAX_PIXELS,
    MAX_SIDE,
    ProcessedFile,
    UploadRejected,
    process_upload,
    safe_display_name,
    sniff,
)
from domain.documents.storage import (
    LocalStorage,
    S3Storage,
    Storage,
    StorageConfigError,
    key_for,
    storage_for,
)
from domain.documents.streaming import (
    MultipartForm,
    SavedFile,
    boundary_from_content_type,
    parse_multipart_stream,
    save_upload_file,
    stream_to_file,
)

__all__ = [
    "MAX_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "LocalStorage",
    "MultipartForm",
    "ProcessedFile",
    "S3Storage",
    "SavedFile",
    "Storage",
    "StorageConfigError",
    "UploadRejected",
    "boundary_from_content_type",
    "key_for",
    "parse_multipart_stream",
    "process_upload",
    "safe_display_name",
    "save_upload_file",
    "sniff",
    "storage_for",
    "stream_to_file",
]
