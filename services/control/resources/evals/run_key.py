"""The API key a run calls the edge with: minted per run, least privilege, short-lived.

Scope `inference` only, allowed models exactly the run's model and judge model (when they hold no
glob characters), expiring after `KEY_LIFETIME`. The raw key exists in the run row only encrypted
(AES-GCM, bound to the run id) for the worker, which clears it when the run ends; its hash reaches
the edges in the snapshot like any key's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.control import audit
from services.control.db.types import Conn
from services.control.resources.keys import queries as key_queries
from shared.crypto import FieldCipher, generate_api_key, hash_api_key, mask_secret
from shared.evals.jobs import KEY_PURPOSE
from shared.ids import new_id

__all__ = ["KEY_LIFETIME", "mint_run_key"]

KEY_LIFETIME = timedelta(hours=24)
_GLOB = frozenset("*?[")


async def mint_run_key(
    conn: Conn, actor: audit.Actor, master_key: str, run_id: str, models: list[str]
) -> tuple[str, bytes]:
    """(key id, the raw key encrypted for the worker); the key's creation is audited."""
    raw = generate_api_key()
    ident = new_id()
    allowed = [] if any(_GLOB & set(model) for model in models) else sorted(set(models))
    values = {
        "name": f"eval run {run_id}",
        "scopes": ["inference"],
        "allowed_models": allowed,
        "max_requests_per_minute": None,
        "max_requests_per_day": None,
        "max_tokens_per_minute": None,
        "expires_at": datetime.now(UTC) + KEY_LIFETIME,
    }
    await key_queries.insert(conn, ident, hash_api_key(raw), mask_secret(raw) or "", values)
    await audit.record(
        conn,
        actor,
        "key.created",
        "api_key",
        ident,
        None,
        {"name": values["name"], "scopes": ["inference"], "allowedModels": allowed, "evalRunId": run_id},
    )
    return ident, FieldCipher(master_key, KEY_PURPOSE).encrypt_text(raw, run_id)
