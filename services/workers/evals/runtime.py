"""What eval jobs need from the worker process: the edge client and the key cipher."""

from __future__ import annotations

from dataclasses import dataclass

from services.workers.evals.edge_client import EdgeClient
from shared.crypto import FieldCipher

__all__ = ["EvalsRuntime"]


@dataclass(frozen=True, slots=True)
class EvalsRuntime:
    client: EdgeClient
    cipher: FieldCipher | None  # None when STORAGE_ENCRYPTION_KEY is unset: runs fail with that reason
