#!/usr/bin/env bash
# Installs the system packages the sandbox and the tests run for real: PostgreSQL server and client tools,
# Redis, OpenSSL (the sandbox's TLS certificate) and kubectl's peers. As root it installs what is missing with
# apt-get; otherwise it names the packages to install and fails.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
if [ "${PACHBACKUP_BENCH_DEPS:-}" = 1 ]; then
  command -v rclone >/dev/null 2>&1 || missing+=(rclone)
  [ -x /usr/bin/aws ] || missing+=(awscli)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "pachbackup needs these system packages: ${missing[*]}" >&2
  echo "Install them, e.g.: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
