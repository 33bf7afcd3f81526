"""Service evidence: photos and files, stored by content hash behind ``EvidenceStorage``."""

from reliefsvc.evidence.storage import (
    EvidenceNotFound,
    EvidenceStorage,
    EvidenceStorageError,
    EvidenceTooLarge,
    InvalidDigest,
    LocalEvidenceStorage,
    StoredFile,
    get_storage,
    validate_digest,
)

__all__ = [
    "EvidenceNotFound",
    "EvidenceStorage",
    "EvidenceStorageError",
    "EvidenceTooLarge",
    "InvalidDigest",
    "LocalEvidenceStorage",
    "StoredFile",
    "get_storage",
    "validate_digest",
]
