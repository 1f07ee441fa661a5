#!/usr/bin/env bash
# Installs the Debian packages the tests need, when missing: FRR (vtysh --dryrun
# checks every golden config; zebra and bgpd run in the reloader tests),
# frr-pythontools (frr-reload.py), iproute2 and ping (netns tests). Needs root, as
# on the project's machines.
set -euo pipefail
need=()
command -v vtysh >/dev/null || need+=(frr)
[[ -x /usr/lib/frr/frr-reload.py ]] || need+=(frr-pythontools)
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
  # The package may start FRR as a service; the tests run their own daemons.
  if command -v systemctl >/dev/null && systemctl is-active --quiet frr 2>/dev/null; then systemctl stop frr || true; fi
fi
