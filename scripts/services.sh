#!/usr/bin/env bash
# Make sure Postgres and Redis answer on 127.0.0.1 (5432, 6379); start them if they do not.
# Uses the machine's own packages (Debian: postgresql, redis-server); installs them if absent.
set -euo pipefail

pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q >/dev/null 2>&1; }
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

wait_for() {
  local what=$1 check=$2
  for _ in $(seq 1 60); do
    if $check; then return 0; fi
    sleep 0.5
  done
  echo "services.sh: $what did not come up on 127.0.0.1" >&2
  return 1
}

install_packages() {
  if command -v apt-get >/dev/null 2>&1; then
    echo "services.sh: installing $* with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
  else
    echo "services.sh: $* missing and no apt-get to install them; start Postgres and Redis yourself" >&2
    return 1
  fi
}

if ! pg_ready; then
  command -v pg_ctlcluster >/dev/null 2>&1 || install_packages postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "services.sh: starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_ready
fi

if ! redis_ready; then
  command -v redis-server >/dev/null 2>&1 || install_packages redis-server
  echo "services.sh: starting Redis" >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis_ready
fi
