#!/usr/bin/env bash
# The lab as a real cluster, first step: a control plane on this machine
# (hack/cluster/control-plane.sh), node1 in the qemu guest with containerd and a
# kubelet (hack/cluster/node.sh), our images imported, and the project installed
# with its Helm chart, as a user would. Checks that the kubelet runs every pod of
# ours, that the plumber builds the router's netns from an Underlay and the router
# pod's FRR takes its configuration, and prints the figures.
# Env: LAB_KEEP=1 keeps the logs folder (always kept when a check fails).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
t0=$(date +%s)
k8s=$(hack/build-k8s.sh)
nodebin=$(hack/build-k8s.sh node)
helm=${HELM:-$root/.cache/tools/helm-$(sed -n 's/^HELM_VERSION ?= //p' Makefile)}
[[ -x $helm ]] || make -s "$helm" >/dev/null
images=$(hack/build-images.sh 2>/dev/null)
hack/vm/setup.sh >/dev/null
work=$(mktemp -d /tmp/evpncluster.XXXXXX)
export PATH="$k8s:$PATH" KUBECONFIG=$work/run/admin.kubeconfig
# The pod sandbox image: our own pause, under the name containerd asks for.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/pause" ./hack/cluster/pause
go run ./cmd/mkimage build -o "$work/pause.oci.tar" -ref registry.k8s.io/pause:3.10 \
  -file "$work/pause=/pause:755" -entrypoint /pause -user 65535:65535 2>/dev/null
built=$(date +%s)

ok=0
bootpid=
cleanup() {
  touch "$work/out/done" 2>/dev/null || true
  [[ -n $bootpid ]] && { timeout 120 tail --pid=$bootpid -f /dev/null || kill $bootpid 2>/dev/null; } || true
  hack/cluster/control-plane.sh down "$work/run" || true
  if [[ $ok == 1 && -z ${LAB_KEEP:-} ]]; then rm -rf "$work"; else echo "cluster logs: $work" >&2; fi
}
trap cleanup EXIT
fig() { printf '%-58s %s\n' "$1" "$2" | tee -a "$work/figures.txt"; }
check() { # seconds what command...
  local limit=$1 what=$2 s
  shift 2
  s=$(date +%s.%N)
  for _ in $(seq "$limit"); do
    if "$@" >/dev/null 2>&1; then
      printf '\e[32m✔\e[0m %s (%.1f s)\n' "$what" "$(echo "$(date +%s.%N) - $s" | bc)"
      return 0
    fi
    sleep 1
  done
  printf '\e[31m✘\e[0m %s (gave up after %s s)\n' "$what" "$limit"
  "$@" || true
  kubectl get pods -A -o wide || true
  kubectl get events -A --sort-by=.lastTimestamp | tail -30 || true
  exit 1
}

guest() { # SCRIPT: runs it in node1's host netns (guest.sh), prints its output, returns its code
  # A name of its own: callers run it in subshells too ($(guest ...)).
  local f
  f=$(mktemp -u "$work/out/cmd/XXXXXXXXXX")
  printf '%s\n' "$1" >"$f.tmp" && mv "$f.tmp" "$f.sh"
  for _ in $(seq 1200); do
    if [[ -e $f.rc ]]; then
      cat "$f.out"
      return "$(cat "$f.rc")"
    fi
    sleep 0.5
  done
  echo "the guest did not run: $1"
  return 1
}
# The node's own network, as a user would compare it before and after: addresses
# and routes of the host netns (the CNI's bridge and pod veths left out: they come
# with any pod) and the named netns.
host_network() {
  guest "ip -br addr | grep -v -E '^(cni0|veth)' | sort; ip route | grep -v cni0 | sort; echo netns: \$(ip netns list | grep -v '^leaf' | tr '\n' ' ')"
}
# A ping every 100 ms from node1's host netns, across a lifecycle event.
ping_start() { # target
  guest "mkdir -p /tmp/pings; (ping -n -i 0.1 -W 1 $1 >/tmp/pings/current 2>&1 &)"
}
ping_stop() { # prints "lost/sent" and fails when any was lost
  local r
  r=$(guest "pkill -INT -x ping; sleep 1; sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' /tmp/pings/current")
  read -r sent got <<<"$r"
  echo "$((sent - got))/$sent"
  [[ -n $sent && $sent -gt 0 && $sent == "$got" ]]
}

hack/cluster/control-plane.sh up "$work/run" >/dev/null
up=$(date +%s)
mkdir -p "$work/out"
{
  echo '#!/bin/bash'
  printf 'export ROOT=%q RUN=%q NODE_BIN=%q OUT=%q\n' "$root" "$work/run" "$nodebin" "$work/out"
  printf 'export NODE_IMAGES=%q\n' "$work/pause.oci.tar $images/controller.oci.tar $images/nodeplumber.oci.tar $images/router.oci.tar"
  printf 'exec %q\n' "$root/e2e/cluster/guest.sh"
} >"$work/guest-run.sh"
chmod +x "$work/guest-run.sh"
NET=user HOSTFWD=tcp:127.0.0.1:20250-10.0.2.15:10250 MEM=${MEM:-3072} TIMEOUT=3600 \
  hack/vm/boot.sh "$work/guest-run.sh" "$work/out" >"$work/guest.out" 2>&1 &
bootpid=$!
boot=$(date +%s)

echo "== node1 joins the cluster"
node_ready() { [[ $(kubectl get node node1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
check 600 "node1 is Ready (containerd, kubelet, kube-proxy in the VM)" node_ready
ready=$(date +%s)
check 300 "node1 has made its fabric NIC" test -e "$work/out/node-started"

before=$(host_network)
echo "== helm install"
# FRR-K8s's namespace, where the chart grants the controller its FRRConfigurations
# (FRR-K8s itself is not installed yet: the controller says so on each L3VNI).
kubectl create namespace frr-k8s-system >/dev/null
kubectl create namespace frr-k8s-evpn-system >/dev/null
kubectl label namespace frr-k8s-evpn-system pod-security.kubernetes.io/enforce=privileged >/dev/null
echo "\$ helm install frr-k8s-evpn charts/frr-k8s-evpn -n frr-k8s-evpn-system"
"$helm" install frr-k8s-evpn charts/frr-k8s-evpn -n frr-k8s-evpn-system --kubeconfig "$KUBECONFIG" | sed 's/^/  /'
installed=$(date +%s)
check 600 "the controller is available" kubectl -n frr-k8s-evpn-system rollout status deploy/frr-k8s-evpn-controller --timeout=1s
check 600 "the plumber runs on node1" kubectl -n frr-k8s-evpn-system rollout status ds/frr-k8s-evpn-nodeplumber --timeout=1s
running=$(date +%s)

echo "== an Underlay: the plumber builds the router's netns, the router pod starts FRR in it"
kubectl apply -f config/samples/underlay.yaml | sed 's/^/  /'
applied=$(date +%s)
check 600 "the router pod is ready on node1" kubectl -n frr-k8s-evpn-system rollout status ds/frr-k8s-evpn-router --timeout=1s
reload_ok() { [[ $(kubectl -n frr-k8s-evpn-system get routernodestatus node1 -o jsonpath='{.status.lastReload.result}') == success ]]; }
check 600 "RouterNodeStatus node1: the router's FRR took its configuration" reload_ok
routed=$(date +%s)
kubectl get pods -A -o wide
echo "\$ kubectl -n frr-k8s-evpn-system logs ds/frr-k8s-evpn-nodeplumber --tail=5"
kubectl -n frr-k8s-evpn-system logs ds/frr-k8s-evpn-nodeplumber --tail=5 | cut -c1-200 | sed 's/^/  /'
check 60 "kubectl exec into the router: FRR 10.7.1 in evpnrouter" sh -c \
  "kubectl -n frr-k8s-evpn-system exec ds/frr-k8s-evpn-router -c frr -- vtysh -c 'show version' | grep -q 'FRRouting 10.7.1'"
kubectl -n frr-k8s-evpn-system get routernodestatus
echo "== an L3VNI: its VRF, bridge, VXLAN and veth on node1 (FRR-K8s's CRDs only: its FRRConfiguration waits for FRR-K8s)"
kubectl apply -f config/samples/l3vni.yaml | sed 's/^/  /'
router_leg() { guest "ip -n evpnrouter -4 -o addr | awk '\$4 ~ /^192\\.169\\.10\\./ { sub(/\\/.*/, \"\", \$4); print \$4 }'"; }
leg=
router_leg_up() { leg=$(router_leg | head -1); [[ -n $leg ]]; }
check 600 "the router's leg of L3VNI red is up in evpnrouter" router_leg_up
check 60 "node1 reaches the router's leg of L3VNI red ($leg) through the veth" guest "ping -c1 -W1 $leg"
vrf_configured() { kubectl -n frr-k8s-evpn-system exec ds/frr-k8s-evpn-router -c frr -- vtysh -c 'show running-config' | grep -q '^router bgp 64512 vrf red'; }
check 600 "the router's FRR runs the configuration of L3VNI red" vrf_configured

# A restart the kubelet made is a bug of ours (a probe too impatient for a slow
# node killed the plumber and FRR before the chart's probes were fixed).
restarts() { kubectl -n frr-k8s-evpn-system get pods -o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.name}={.restartCount} {end}{end}'; }
check 1 "no container of ours was restarted by the kubelet: $(restarts)" sh -c "! kubectl -n frr-k8s-evpn-system get pods -o jsonpath='{.items[*].status.containerStatuses[*].restartCount}' | grep -q '[1-9]'"

echo "== lifecycle: what a kubelet does to our pods, and what it must not change"
ns=frr-k8s-evpn-system
last_reload() { kubectl -n $ns get routernodestatus node1 -o jsonpath='{.status.lastReload.time}'; }

echo "-- the plumber's DaemonSet rolled to a new image (the same bits under a new tag)"
reload0=$(last_reload)
guest "ctr -n k8s.io images tag quay.io/frr-k8s-evpn/nodeplumber:$(cat VERSION) quay.io/frr-k8s-evpn/nodeplumber:$(cat VERSION)-next >/dev/null"
ping_start "$leg"
t=$(date +%s)
kubectl -n $ns set image ds/frr-k8s-evpn-nodeplumber nodeplumber=quay.io/frr-k8s-evpn/nodeplumber:$(cat VERSION)-next | sed 's/^/  /'
check 600 "the plumber rolled out" kubectl -n $ns rollout status ds/frr-k8s-evpn-nodeplumber --timeout=1s
new_reconciled() { kubectl -n $ns logs ds/frr-k8s-evpn-nodeplumber | grep -m1 '"reconciled"'; }
check 300 "the new plumber reconciled" new_reconciled
rolled=$(date +%s)
line=$(new_reconciled)
writes=$(sed -n 's/.*"netlinkWrites":\([0-9]*\).*/\1/p' <<<"$line")
reloaded=$(sed -n 's/.*"reloaded":\([a-z]*\).*/\1/p' <<<"$line")
loss=$(ping_stop) || { echo "  lost pings while the plumber rolled: $loss"; exit 1; }
check 1 "the new plumber: $writes netlink writes, reloaded $reloaded, ping loss $loss, FRR's last reload unchanged" \
  test "$writes/$reloaded/$(last_reload)" == "0/false/$reload0"
fig "plumber rolled to a new image: writes, reload, pings lost" "$writes, $reloaded, $loss ($((rolled - t)) s)"

echo "-- the router pod deleted: its DaemonSet makes a new one, which restores FRR's configuration"
router_pod() { kubectl -n $ns get pods -l app.kubernetes.io/component=router -o jsonpath='{.items[0].metadata.name}'; }
old_router=$(router_pod)
ping_start "$leg"
t=$(date +%s)
kubectl -n $ns delete pod "$old_router" --wait=false | sed 's/^/  /'
new_router_ready() {
  [[ $(kubectl -n $ns get pods -l app.kubernetes.io/component=router -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}') =~ ^frr-k8s-evpn-router-[a-z0-9]+\ True$ ]] &&
    [[ $(router_pod) != "$old_router" ]]
}
check 600 "a new router pod is ready" new_router_ready
check 300 "the new router's FRR runs the configuration of L3VNI red" vrf_configured
recreated=$(date +%s)
loss=$(ping_stop) || { echo "  lost pings while the router pod was recreated: $loss"; exit 1; }
fig "router pod deleted -> new pod ready, FRR configured (pings lost)" "$((recreated - t)) s ($loss)"

echo "-- zebra and watchfrr killed in the router: nothing restarts them, the liveness probe notices"
ping_start "$leg"
t=$(date +%s)
kubectl -n $ns exec ds/frr-k8s-evpn-router -c frr -- sh -c 'kill -9 $(cat /var/run/frr/watchfrr.pid /var/run/frr/zebra.pid)'
frr_restarted() { [[ $(kubectl -n $ns get pods -l app.kubernetes.io/component=router -o jsonpath='{.items[0].status.containerStatuses[?(@.name=="frr")].restartCount}') -ge 1 ]]; }
check 600 "the kubelet restarted the frr container" frr_restarted
check 600 "the router pod is ready again" kubectl -n $ns rollout status ds/frr-k8s-evpn-router --timeout=1s
check 300 "the restarted FRR runs the configuration of L3VNI red" vrf_configured
revived=$(date +%s)
kubectl -n $ns get events --field-selector reason=Unhealthy -o custom-columns=MESSAGE:.message --no-headers | grep -i liveness | sort -u | head -3 | sed 's/^/  event: /'
loss=$(ping_stop) || echo "  (the kernel's path to the router's leg lost pings: $loss)"
fig "zebra+watchfrr killed -> container restarted, FRR configured (pings lost)" "$((revived - t)) s ($loss)"

echo "-- node1 drained and uncordoned: the DaemonSets' pods stay, the controller waits"
uids() { kubectl -n $ns get pods -l 'app.kubernetes.io/component in (router,nodeplumber)' -o jsonpath='{.items[*].metadata.uid}'; }
pods0=$(uids)
ping_start "$leg"
kubectl drain node1 --ignore-daemonsets --delete-emptydir-data --timeout=300s 2>&1 | grep -v '^WARNING' | sed 's/^/  /'
controller_waits() { [[ $(kubectl -n $ns get pods -l app.kubernetes.io/component=controller -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | sort -u) == Pending ]]; }
check 120 "the controller is evicted and waits for a node" controller_waits
kubectl uncordon node1 | sed 's/^/  /'
check 600 "the controller is available again" kubectl -n $ns rollout status deploy/frr-k8s-evpn-controller --timeout=1s
loss=$(ping_stop) || { echo "  lost pings while node1 was drained: $loss"; exit 1; }
check 1 "the router and plumber pods are the same ones (ping loss $loss)" test "$(uids)" == "$pods0"
fig "drain and uncordon: DaemonSet pods kept, pings lost" "$loss"
only_liveness_restart() { [[ $(restarts | tr ' ' '\n' | grep -v -e '=0$' -e '^$' | tr '\n' ' ') == "frr=1 " ]]; }
check 1 "the kubelet restarted only the frr container, once, for the liveness step: $(restarts)" only_liveness_restart

echo "== helm uninstall: the plumber gives node1 its NIC back"
t=$(date +%s)
"$helm" uninstall frr-k8s-evpn -n $ns --wait --timeout 10m --kubeconfig "$KUBECONFIG" | sed 's/^/  /'
no_pods() { [[ -z $(kubectl -n $ns get pods -o name) ]]; }
check 600 "every pod of ours is gone" no_pods
uninstalled=$(date +%s)
after=$(host_network)
if [[ $after != "$before" ]]; then
  diff <(echo "$before") <(echo "$after") | sed 's/^/  /'
  check 1 "node1's host network is as before the install" false
fi
check 1 "node1's host network is as before the install (eth1 back with its address, no evpnrouter)" true
check 30 "node1 reaches the leaf over eth1 again" guest "ping -c1 -W1 192.168.11.2"
fig "helm uninstall -> pods gone, node1's network as before" "$((uninstalled - t)) s"

echo "== figures"
fig "build (images, pause, binaries; warm cache)" "$((built - t0)) s"
fig "control plane up" "$((up - built)) s"
fig "VM boot -> node1 Ready" "$((ready - boot)) s"
fig "helm install -> controller and plumber running" "$((running - installed)) s"
fig "Underlay applied -> router ready, FRR configured" "$((routed - applied)) s"
fig "whole run" "$(($(date +%s) - t0)) s"
ok=1
