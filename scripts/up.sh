#!/usr/bin/env bash
# Everything on this machine: install, make sure Postgres and Redis run, then `omniroute up`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
scripts/services.sh
exec .venv/bin/omniroute up
