"""The demo that makes a first request work with no internet: a provider on the fake upstream and a key.

Done through the management API itself (login with the admin password, then plain /api calls),
so the demo exercises the same path an operator would.
"""

from __future__ import annotations

import os
from pathlib import Path

from services.cli.http import get_status, request_json
from shared.settings import Settings

__all__ = ["DEMO_KEY_FILE", "DemoSeeder"]

DEMO_KEY_FILE = "demo-api-key"
_DEMO_CONNECTION = "demo"


class DemoSeeder:
    def __init__(self, settings: Settings, control_url: str, edge_url: str) -> None:
        self._settings = settings
        self._control = control_url
        self._edge = edge_url
        self._cookie = ""
        self._csrf = ""

    def _login(self) -> None:
        answer = request_json(
            "POST", f"{self._control}/api/auth/login", {"password": self._settings.initial_password or ""}
        )
        if answer.status != 200:
            raise RuntimeError(
                "could not log in to the control plane with INITIAL_PASSWORD "
                "(was the admin password changed? the demo needs it once)"
            )
        self._cookie = "; ".join(answer.cookies)
        # cookie-authenticated writes echo the session's CSRF token, as the dashboard does
        self._csrf = str(answer.body.get("csrfToken", "")) if isinstance(answer.body, dict) else ""

    def _api(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        headers = {"cookie": self._cookie, "x-csrf-token": self._csrf}
        answer = request_json(method, f"{self._control}{path}", body, headers)
        return answer.status, answer.body

    def _ensure_provider(self) -> None:
        status, body = self._api("GET", "/api/providers?provider=demo")
        if (
            status == 200
            and isinstance(body, dict)
            and any(p.get("name") == _DEMO_CONNECTION for p in body.get("providers", []))
        ):
            return
        status, body = self._api(
            "POST",
            "/api/providers",
            {
                "provider": "demo",
                "name": _DEMO_CONNECTION,
                "baseUrl": f"http://127.0.0.1:{self._settings.fake_upstream_port}/v1",
                "priority": 100,
            },
        )
        if status not in (201, 409):
            raise RuntimeError(f"could not create the demo provider (HTTP {status}): {body}")

    def _key_works(self, key_path: Path) -> bool:
        if not key_path.exists():
            return False
        key = key_path.read_text().strip()
        return get_status(f"{self._edge}/v1/models", timeout=5, headers={"authorization": f"Bearer {key}"}) == 200

    def _create_key(self, key_path: Path) -> None:
        status, body = self._api("POST", "/api/keys", {"name": "demo", "scopes": ["inference"]})
        if status != 201 or not isinstance(body, dict):
            raise RuntimeError(f"could not create the demo API key (HTTP {status})")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(str(body["key"]) + "\n")

    def ensure_demo(self, key_path: Path) -> str:
        """Create what is missing; returns the model to use in the first request."""
        self._login()
        self._ensure_provider()
        if not self._key_works(key_path):
            self._create_key(key_path)
        return "demo/gpt-4o-mini"
