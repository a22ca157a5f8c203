"""The audit log writer lives in shared/audit.py (workers audit their own changes); re-exported here."""

from shared.audit import Actor, record, scrub

__all__ = ["Actor", "record", "scrub"]
