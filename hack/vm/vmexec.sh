#!/usr/bin/env bash
# A `go test -exec` wrapper: runs the test binary that go test built on the host
# inside the VM, in the same directory and environment, with EVPN_IN_VM=1 so that
# tests needing a VRF-capable kernel run instead of skipping.
#   go test -p 1 -exec hack/vm/vmexec.sh ./nodeplumber/...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d /tmp/evpnvm.XXXXXX)
trap 'rm -rf "$out"' EXIT
{
  echo '#!/bin/bash'
  export -p | grep -v -E '^declare -x (PATH|HOME|PWD|OLDPWD|SHLVL|TERM|GOCACHE|GOMODCACHE)='
  printf 'export PATH=%q EVPN_IN_VM=1\n' "$PATH"
  printf 'cd %q || exit 97\n' "$PWD"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} > "$out/run.sh"
chmod +x "$out/run.sh"
rc=0
"$here/boot.sh" "$out/run.sh" "$out" || rc=$?
exit $rc
