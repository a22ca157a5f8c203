"""The guarded outbound session lives in shared/ (the workers use it too); re-exported here."""

from shared.outbound_session import Outbound, outbound_session

__all__ = ["Outbound", "outbound_session"]
