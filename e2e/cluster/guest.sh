#!/bin/bash
# Runs in the qemu guest for e2e/cluster/run.sh: node1 of the lab cluster, with a
# NIC for the fabric (eth1, cabled to the leaf of e2e/fabric.sh, HOST1 behind it), then
# runs what the host asks of it (e2e/cluster/run.sh's guest) until the host is done.
set -u
. "$ROOT/hack/cluster/node.sh"
# shellcheck source=e2e/fabric.sh
. "$ROOT/e2e/fabric.sh"
fabric_up 192.168.11.1 "$OUT/fabric"
touch "$OUT/node-started"
# The host's way to look at and act on the node's own network (run.sh's guest):
# each $OUT/cmd/N.sh runs once, in the node's host netns, as root; its output goes
# to N.out and its exit code to N.rc, written last.
mkdir -p "$OUT/cmd"
end=$((SECONDS + ${GUEST_HOLD:-3600}))
while [[ ! -e $OUT/done && $SECONDS -lt $end ]]; do
  for c in "$OUT"/cmd/*.sh; do
    [[ -e $c && ! -e ${c%.sh}.rc ]] || continue
    bash "$c" >"${c%.sh}.out" 2>&1
    echo $? >"${c%.sh}.rc.tmp" && mv "${c%.sh}.rc.tmp" "${c%.sh}.rc"
  done
  sleep 0.3
done
{
  echo "--- free -m"; free -m
  echo "--- RSS (MiB)"; ps -eo rss,comm --sort=-rss | awk 'NR>1 && NR<16 {printf "%6.0f %s\n", $1/1024, $2}'
  echo "--- netns"; ip netns list
  echo "--- links in evpnrouter"; ip -n evpnrouter -br link 2>&1
} >"$OUT/guest-report.txt" 2>&1
