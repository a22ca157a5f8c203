#!/usr/bin/env bash
# The whole test suite: install, make sure Postgres and Redis run, lint, type-check, test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
scripts/services.sh
.venv/bin/ruff check shared services tests bench
.venv/bin/ruff format --check shared services tests bench
.venv/bin/mypy
exec .venv/bin/pytest "$@"
