#!/usr/bin/env bash
# The lab as a real cluster: a control plane on this machine
# (hack/cluster/control-plane.sh), node1 in the qemu guest with containerd and a
# kubelet (hack/cluster/node.sh), the images imported, and everything installed with
# its own Helm chart, as a user would: FRR-K8s and MetalLB (images built here by
# hack/build-lab-images.sh), then ours. Checks that the kubelet runs every pod, that
# the plumber builds the router's netns and the router's FRR takes its configuration,
# that FRR-K8s peers with the router and brings it MetalLB's Service IP, then what a
# kubelet does to our pods (rollout, pod deleted, liveness, drain, uninstall), and
# prints the figures. With LAB_NODES=2, node2 joins the running cluster after
# node1's lifecycle steps (one node's steps run at one node's speed), then the
# steps across nodes run: BIRD on node2, pods across nodes, a second L3VNI, node2
# deleted and booted again.
# Env: LAB_KEEP=1 keeps the logs folder (always kept when a check fails);
# HELM_ARGS, more flags for helm install (--set nodeplumber.cleanupOnUninstall=false
# shows the uninstall check fail); LAB_NODES=2 adds node2, a second guest whose host
# speaker is BIRD (make test-lab2; README, "Two nodes").
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
t0=$(date +%s)
nodes=${LAB_NODES:-1}
k8s=$(hack/build-k8s.sh)
nodebin=$(hack/build-k8s.sh node)
helm=${HELM:-$root/.cache/tools/helm-$(sed -n 's/^HELM_VERSION ?= //p' Makefile)}
[[ -x $helm ]] || make -s "$helm" >/dev/null
images=$(hack/build-images.sh 2>/dev/null)
# FRR-K8s and MetalLB, installed from their own charts with their images built here.
labimages=$(hack/build-lab-images.sh 2>/dev/null)
lab=$(hack/build-lab.sh)
# shellcheck source=/dev/null
. "$lab/versions"
frrk8s_chart=$(cd hack/labtools/frrk8s && go list -m -f '{{.Dir}}' github.com/metallb/frr-k8s)/charts/frr-k8s
metallb_chart=$(cd hack/labtools/metallb && go list -m -f '{{.Dir}}' go.universe.tf/metallb)/charts/metallb
hack/vm/setup.sh >/dev/null
work=$(mktemp -d /tmp/evpncluster.XXXXXX)
export PATH="$k8s:$PATH" KUBECONFIG=$work/run/admin.kubeconfig
# The pod sandbox image: our own pause, under the name containerd asks for.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/pause" ./hack/cluster/pause
go run ./cmd/mkimage build -o "$work/pause.oci.tar" -ref registry.k8s.io/pause:3.10 \
  -file "$work/pause=/pause:755" -entrypoint /pause -user 65535:65535 2>/dev/null
# The Service's workload: answers HTTP with its pod's name (HOST1 asks it).
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/hello" ./hack/cluster/hello
go run ./cmd/mkimage build -o "$work/hello.oci.tar" -ref localhost/hello:lab \
  -file "$work/hello=/hello:755" -entrypoint /hello -user 65535:65535 2>/dev/null
# Our kubectl plugin, found by kubectl on PATH as a user's would be.
mkdir -p "$work/bin" && go build -trimpath -o "$work/bin/kubectl-evpn" ./cmd/kubectl-evpn
export PATH="$work/bin:$PATH"
# The plumber's image, and the same bits under the tag the lifecycle step rolls to.
plumber_image=quay.io/frr-k8s-evpn/nodeplumber:$(cat VERSION)
built=$(date +%s)

ok=0
bootpid= bootpid2=
# speed LOG: the node's timings of a fixed piece of CPU work (guest.sh), summed up.
speed() {
  sort -n -k2 "$1" | awk '{ v[NR] = $2 } END {
    if (NR) printf "median %d ms, 90th percentile %d ms, max %d ms (%d samples, 30 s apart)", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR], NR }'
}
cleanup() {
  touch "$work/out/done" "$work/out2/done" 2>/dev/null || true
  for p in $bootpid $bootpid2; do
    timeout 120 tail --pid=$p -f /dev/null || kill $p 2>/dev/null || true
  done
  for n in 1 2; do
    local out=$work/out${n#1}
    [ -s "$out/speed.log" ] && fig "node$n: a fixed CPU task took" "$(speed "$out/speed.log")"
  done
  hack/cluster/control-plane.sh down "$work/run" || true
  if [[ $ok == 1 && -z ${LAB_KEEP:-} ]]; then rm -rf "$work"; else echo "cluster logs: $work" >&2; fi
}
trap cleanup EXIT
fig() { printf '%-58s %s\n' "$1" "$2" | tee -a "$work/figures.txt"; }
# A try that took long (a vtysh in a pod on a starved node) waits twice as long
# before the next: the lab must not be what starves the node it waits for.
# Commands whose output is only shown end in `|| true`: on a starved guest, a curl
# shown after its check had passed timed out and ended a two-node run (set -e).
check() { # seconds what command...
  local limit=$1 what=$2 s deadline try
  shift 2
  s=$(date +%s.%N)
  deadline=$((SECONDS + limit)) # seconds, however long each try takes
  while :; do
    try=$SECONDS
    if "$@" >/dev/null 2>&1; then
      printf '\e[32m✔\e[0m %s (%.1f s)\n' "$what" "$(echo "$(date +%s.%N) - $s" | bc)"
      return 0
    fi
    ((SECONDS < deadline)) || break
    try=$((2 * (SECONDS - try)))
    sleep $((try > 1 ? try : 1))
  done
  printf '\e[31m✘\e[0m %s (gave up after %s s)\n' "$what" "$limit"
  "$@" || true
  kubectl get pods -A -o wide || true
  kubectl get events -A --sort-by=.lastTimestamp | tail -30 || true
  router_logs
  exit 1
}
# A pod of ours on node1: on1 router, on1 nodeplumber (node2 runs its own).
on1() { kubectl -n frr-k8s-evpn-system get pods -l app.kubernetes.io/component=$1 --field-selector spec.nodeName=node1 -o name | head -1; }
# The router's containers' logs, the previous frr container's too, into the work
# folder (kept when the run fails).
router_logs() {
  local c n p
  local pl
  for n in node1 node2; do
    pl=$(kubectl -n frr-k8s-evpn-system get pods -l app.kubernetes.io/component=nodeplumber --field-selector spec.nodeName=$n -o name | head -1)
    kubectl -n frr-k8s-evpn-system logs "$pl" >"$work/plumber-$n.log" 2>&1 || true
    # The one before a liveness restart too (a starved node restarted it once).
    kubectl -n frr-k8s-evpn-system logs "$pl" --previous >"$work/plumber-$n-previous.log" 2>&1 || true
  done
  kubectl -n frr-k8s-evpn-system get routernodestatus -o yaml >"$work/routernodestatus.yaml" 2>&1 || true
  # Each controller replica, and the one before a restart (a loaded run saw one
  # exit by itself, with nothing left to say why).
  for p in $(kubectl -n frr-k8s-evpn-system get pods -l app.kubernetes.io/component=controller -o name 2>/dev/null); do
    kubectl -n frr-k8s-evpn-system logs "$p" >"$work/controller-${p#pod/}.log" 2>&1 || true
    kubectl -n frr-k8s-evpn-system logs "$p" --previous >"$work/controller-${p#pod/}-previous.log" 2>&1 || true
  done
  # FRR-K8s's pods too: each container, and the one before a restart (a crash loop
  # of its controller on a starved two-node run left nothing to read).
  for p in $(kubectl -n frr-k8s-system get pods -o name 2>/dev/null); do
    kubectl -n frr-k8s-system logs "$p" --all-containers --prefix >"$work/frrk8s-${p#pod/}.log" 2>&1 || true
    kubectl -n frr-k8s-system logs "$p" --all-containers --prefix --previous >"$work/frrk8s-${p#pod/}-previous.log" 2>&1 || true
  done
  for c in frr reloader; do
    kubectl -n frr-k8s-evpn-system logs "$(on1 router)" -c $c >"$work/router-$c.log" 2>&1 || true
    kubectl -n frr-k8s-evpn-system logs "$(on1 router)" -c $c --previous >"$work/router-$c-previous.log" 2>&1 || true
  done
}

guest() { # SCRIPT: runs it in node1's host netns (guest.sh), prints its output, returns its code
  guest_in "$work/out" "$1"
}
guest2() { # SCRIPT: the same on node2
  guest_in "$work/out2" "$1"
}
guest_in() { # OUT-DIR SCRIPT
  # A name of its own: callers run it in subshells too ($(guest ...)).
  local f
  f=$(mktemp -u "$1/cmd/XXXXXXXXXX")
  shift
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
# and routes of the host netns and the named netns (the CNI's bridge, pod veths
# and pod netns left out: they come with any pod, and the web pod stays).
host_network() {
  guest "ip -br addr | grep -v -E '^(cni0|veth)' | sort; ip route | grep -v cni0 | sort; echo netns: \$(ip netns list | grep -v -E '^(leaf|cni-)' | tr '\n' ' ')"
}
# A ping every 100 ms from node1's host netns across a lifecycle event, and with a
# second target, one from HOST1 over the fabric (to the web pod, through VXLAN and
# the router): the first is asserted, the second is a figure (overlay_loss).
ping_start() { # target [overlay-target]
  guest "mkdir -p /tmp/pings; rm -f /tmp/pings/*; (ping -n -i 0.1 -W 1 $1 >/tmp/pings/current 2>&1 &)
    [ -z '${2:-}' ] || (ip netns exec host1 ping -D -O -n -i 0.1 -W 1 ${2:-} >/tmp/pings/overlay 2>&1 &)"
}
ping_counts() { # file: "sent received"
  guest "sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' /tmp/pings/$1"
}
ping_stop() { # prints "lost/sent" and fails when any was lost
  local r
  r=$(guest "pkill -INT -x ping; sleep 1") && r=$(ping_counts current)
  read -r sent got <<<"$r"
  echo "$((sent - got))/$sent"
  [[ -n $sent && $sent -gt 0 && $sent == "$got" ]]
}
overlay_loss() { # after ping_stop: "HOST1->pod lost/sent", and when it was down (pinggaps.awk)
  local sent got
  read -r sent got <<<"$(ping_counts overlay)"
  echo "HOST1->pod $((sent - got))/$sent"
  ((sent == got)) || echo "  HOST1->pod: $(guest "awk -f $root/e2e/cluster/pinggaps.awk /tmp/pings/overlay")" >&2
}

hack/cluster/control-plane.sh up "$work/run" >/dev/null
up=$(date +%s)
mkdir -p "$work/out" "$work/out2"
guest_run() { # NODE [LABELS]: the guest's script, its kubelet registering the Node with LABELS
  {
    echo '#!/bin/bash'
    local out=$work/out
    [[ $1 == node1 ]] || out=$work/out2
    printf 'export NODE=%q ROOT=%q RUN=%q NODE_BIN=%q OUT=%q NODE_LABELS=%q\n' "$1" "$root" "$work/run" "$nodebin" "$out" "${2:-}"
    # Each node only the images its pods use: importing them is most of a boot
    # under TCG. FRR-K8s and MetalLB's controller run where FRR-K8s speaks (node1),
    # BIRD on node2; MetalLB's speaker everywhere (its chart allows no nodeSelector
    # without memberlist; on node2 its FRRConfiguration has no FRR-K8s to read it).
    local imgs="$work/pause.oci.tar $work/hello.oci.tar $images/controller.oci.tar $images/nodeplumber.oci.tar $images/router.oci.tar $labimages/metallb-speaker.oci.tar"
    if [[ $1 == node1 ]]; then
      imgs+=" $labimages/frr.oci.tar $labimages/frr-k8s.oci.tar $labimages/metallb-controller.oci.tar"
    else
      imgs+=" $labimages/bird.oci.tar"
    fi
    printf 'export NODE_IMAGES=%q\n' "$imgs"
    # The plumber's image under the tag the lifecycle step rolls to: the same bits.
    printf 'export NODE_IMAGE_TAGS=%q\n' "$plumber_image=$plumber_image-next"
    printf 'exec %q\n' "$root/e2e/cluster/guest.sh"
  } >"$work/guest-run-$1.sh"
  chmod +x "$work/guest-run-$1.sh"
}
# node2's fabric NIC is a cable (qemu's socket link) to a NIC of node1's guest, which
# the leaf takes; node1's guest listens on it, so it boots first.
link_port=${LAB_LINK_PORT:-20260}
guest_run node1
LINK=$( ((nodes > 1)) && echo "listen:$link_port") NET=user HOSTFWD=tcp:127.0.0.1:20250-10.0.2.15:10250 MEM=${MEM:-3072} TIMEOUT=3600 \
  hack/vm/boot.sh "$work/guest-run-node1.sh" "$work/out" >"$work/guest.out" 2>&1 &
bootpid=$!
# node2's labels come from its kubelet: they are back when its Node object is
# deleted and registered again (BIRD speaks for its L3VNIs; it is in blue).
boot_node2() {
  guest_run node2 speaker=bird,evpn.example/blue=true
  LINK=connect:$link_port LINK_MAC=52:54:00:12:34:62 NET=user HOSTFWD=tcp:127.0.0.1:20251-10.0.2.16:10250 MEM=${MEM:-3072} TIMEOUT=3600 \
    hack/vm/boot.sh "$work/guest-run-node2.sh" "$work/out2" >>"$work/guest2.out" 2>&1 &
  bootpid2=$!
}
boot=$(date +%s)

echo "== node1 joins the cluster"
node_ready() { [[ $(kubectl get node "${1:-node1}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
check 600 "node1 is Ready (containerd, kubelet, kube-proxy in the VM)" node_ready
ready=$(date +%s)
check 300 "node1 has made its fabric NIC" test -e "$work/out/node-started"
# Which BGP speaker each node runs on the host: FRR-K8s on node1, BIRD on node2
# (docs/speakers.md). FRR-K8s's and MetalLB's charts and the L3VNI select by it.
# node1 is labelled by hand, node2 by its kubelet (boot_node2).
kubectl label node node1 speaker=frr-k8s >/dev/null

echo "== FRR-K8s $FRRK8S_VERSION from its own chart, our prerequisite"
# Its images are built here (hack/build-lab-images.sh), its FRR is ours (Debian's
# $(cat build/frr/version)). Values a user of ours sets too: bgpd accepts the router's connections
# (a graceful-restart helper waits for the restarted router to connect). Lab-only:
# its webhook cannot be reached from this API server (the node is behind qemu's
# NAT), so a failed call is ignored; its probes and status poll fit a slow node
# (its frr container's liveness probe has a 1 s timeout the chart does not expose:
# on a guest whose load reached 20-30 it failed ten times in a row and the kubelet
# restarted FRR-K8s's FRR in two runs, so 60 failures, 10 minutes, are allowed).
kubectl create namespace frr-k8s-system >/dev/null
kubectl label namespace frr-k8s-system pod-security.kubernetes.io/enforce=privileged >/dev/null
frrk8s_values=(--set frrk8s.image.repository=localhost/frr-k8s --set "frrk8s.image.tag=$FRRK8S_VERSION"
  --set frrk8s.frr.image.repository=localhost/frr --set "frrk8s.frr.image.tag=$(cat build/frr/version)"
  --set frrk8s.frr.tiniPath=/usr/bin/tini --set frrk8s.frr.acceptIncomingBGPConnections=true
  --set crds.validationFailurePolicy=Ignore --set frrk8s.frrStatus.pollInterval=5s
  --set frrk8s.livenessProbe.timeoutSeconds=5 --set frrk8s.readinessProbe.timeoutSeconds=5
  --set frrk8s.livenessProbe.failureThreshold=60 --set frrk8s.startupProbe.failureThreshold=120
  --set frrk8s.nodeSelector.speaker=frr-k8s)
echo "\$ helm install frr-k8s $frrk8s_chart -n frr-k8s-system ${frrk8s_values[*]}"
"$helm" install frr-k8s "$frrk8s_chart" -n frr-k8s-system --kubeconfig "$KUBECONFIG" "${frrk8s_values[@]}" | sed 's/^/  /'
# Its status cleaner is a Deployment the chart gives no nodeSelector: it goes where
# FRR-K8s runs too (node2 has no FRR-K8s image: BIRD speaks there). Recreate: it
# takes host ports, so with one such node a rolling update's new pod never fits
# beside the old one (run 34-4: Pending for the whole run).
kubectl -n frr-k8s-system patch deploy frr-k8s-statuscleaner --type merge \
  -p '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null},"template":{"spec":{"nodeSelector":{"speaker":"frr-k8s"}}}}}' | sed 's/^/  /'
frrk8s_installed=$(date +%s)
check 600 "FRR-K8s runs on node1" kubectl -n frr-k8s-system rollout status ds/frr-k8s --timeout=1s
frrk8s_running=$(date +%s)
check 120 "FRR-K8s's FRR answers in its pod: FRRouting $(cat build/frr/version)" sh -c \
  "kubectl -n frr-k8s-system exec ds/frr-k8s -c frr -- vtysh -c 'show version' | grep -q 'FRRouting $(cat build/frr/version)'"

before=$(host_network)
echo "== helm install"
kubectl create namespace frr-k8s-evpn-system >/dev/null
kubectl label namespace frr-k8s-evpn-system pod-security.kubernetes.io/enforce=privileged >/dev/null
echo "\$ helm install frr-k8s-evpn charts/frr-k8s-evpn -n frr-k8s-evpn-system"
# shellcheck disable=SC2086 # HELM_ARGS: more flags, split as a shell would
# The live state every 10 s (the chart's default is 30 s): the story waits less.
# The plumbers' metrics on :9102 (off by default): the story scrapes them.
"$helm" install frr-k8s-evpn charts/frr-k8s-evpn -n frr-k8s-evpn-system --kubeconfig "$KUBECONFIG" \
  --set nodeplumber.liveStatusInterval=10s --set nodeplumber.metricsBindAddress=:9102 ${HELM_ARGS:-} | sed 's/^/  /'
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
echo "\$ kubectl -n frr-k8s-evpn-system logs $(on1 nodeplumber) --tail=5"
kubectl -n frr-k8s-evpn-system logs "$(on1 nodeplumber)" --tail=5 | cut -c1-200 | sed 's/^/  /' || true
check 60 "kubectl exec into the router: FRR 10.7.1 in evpnrouter" sh -c \
  "kubectl -n frr-k8s-evpn-system exec "$(on1 router)" -c frr -- vtysh -c 'show version' | grep -q 'FRRouting 10.7.1'"
kubectl -n frr-k8s-evpn-system get routernodestatus
echo "== an L3VNI: its VRF, bridge, VXLAN and veth on node1, FRR-K8s's session to the router"
echo "\$ kubectl evpn status   # before: no L3VNI, nothing to be ready (exit 1)"
kubectl evpn status | sed 's/^/  /' || true
kubectl apply -f config/samples/l3vni.yaml | sed 's/^/  /'
# FRR-K8s speaks for red where it runs; node2's BIRD does there (docs/speakers.md).
echo "\$ kubectl -n frr-k8s-evpn-system patch l3vni red --type merge -p '{\"spec\":{\"frrK8s\":{\"nodeSelector\":{\"matchLabels\":{\"speaker\":\"frr-k8s\"}}}}}'"
kubectl -n frr-k8s-evpn-system patch l3vni red --type merge -p '{"spec":{"frrK8s":{"nodeSelector":{"matchLabels":{"speaker":"frr-k8s"}}}}}' | sed 's/^/  /'
l3vni_applied=$(date +%s)
router_leg() { guest "ip -n evpnrouter -4 -o addr | awk '\$4 ~ /^192\\.169\\.10\\./ { sub(/\\/.*/, \"\", \$4); print \$4 }'"; }
leg=
router_leg_up() { leg=$(router_leg | head -1); [[ -n $leg ]]; }
check 600 "the router's leg of L3VNI red is up in evpnrouter" router_leg_up
vrf_configured() { kubectl -n frr-k8s-evpn-system exec "$(on1 router)" -c frr -- vtysh -c 'show running-config' | grep -q '^router bgp 64512 vrf red'; }
check 600 "the router's FRR runs the configuration of L3VNI red" vrf_configured
# The plumber brings the VRF up once FRR runs its configuration (Kernel.Finish):
# only then does the router's leg answer.
check 60 "node1 reaches the router's leg of L3VNI red ($leg) through the veth" guest "ping -c1 -W1 $leg"
host_session() { # FRR-K8s's own report of its session to the router's leg
  kubectl get bgpsessionstates -n frr-k8s-system -o jsonpath='{range .items[*]}{.status.peer} {.status.bgpStatus}{"\n"}{end}' | grep -qx "$leg Established"
}
check 600 "BGPSessionState: FRR-K8s's session to the router's leg $leg is Established" host_session
# After a restart, FRR-K8s's status may still say Established from before: ask its
# FRR whether the session came up again after a given time.
host_session_since() { # epoch
  local j up
  j=$(kubectl -n frr-k8s-system exec ds/frr-k8s -c frr -- vtysh -c "show bgp neighbors $leg json")
  grep -q '"bgpState":"Established"' <<<"$j" || return 1
  up=$(grep -o '"bgpTimerUpMsec":[0-9]*' <<<"$j" | head -1 | cut -d: -f2)
  [[ -n $up ]] && (($(date +%s) - up / 1000 >= $1))
}
session_up=$(date +%s)
kubectl get bgpsessionstates -n frr-k8s-system -o custom-columns=NODE:.status.node,PEER:.status.peer,VRF:.status.vrf,BGP:.status.bgpStatus | sed 's/^/  /' || true
frrnodestate_ok() {
  [[ $(kubectl get frrnodestate node1 -o jsonpath='{.status.lastConversionResult} {.status.lastReloadResult}') == "success success" ]] &&
    kubectl get frrnodestate node1 -o jsonpath='{.status.runningConfig}' | grep -q "neighbor $leg remote-as 64512"
}
check 300 "FRRNodeState node1: conversion and reload succeeded, neighbor $leg configured" frrnodestate_ok
check 300 "L3VNI red is Ready on 1/1 nodes" sh -c "kubectl -n frr-k8s-evpn-system get l3vni red -o jsonpath='{.status.ready}' | grep -qx 1/1"
applied_event() { kubectl -n frr-k8s-evpn-system get events --field-selector involvedObject.name=node1,involvedObject.kind=RouterNodeStatus,reason=Applied -o name | grep -q .; }
check 60 "an Event on RouterNodeStatus node1 says the node applied what selects it" applied_event
kubectl -n frr-k8s-evpn-system get l3vni -o wide | sed 's/^/  /' || true
check 120 "kubectl evpn status: every node x L3VNI ready (exit 0)" kubectl evpn status
echo "\$ kubectl evpn status -o wide"
kubectl evpn status -o wide | sed 's/^/  /' || true

echo "== MetalLB $METALLB_VERSION from its own chart, announcing a LoadBalancer IP through FRR-K8s"
# FRR-K8s mode (its speaker runs no FRR of its own), no memberlist (the speaker runs
# on every node). Lab-only, as for FRR-K8s: its webhook is unreachable and off; its
# CRDs are build-lab.sh's (the BGPPeer's, patched for kube-apiserver >= 1.36).
# Its probes, as FRR-K8s's: the chart's liveness gives a container 40 s to serve
# (10 s delay, 3 failures 10 s apart, 1 s timeout); on the guest loaded by a build
# beside it, the controller and speaker took longer and the kubelet killed them
# in a loop (CrashLoopBackOff for 10 min).
kubectl create namespace metallb-system >/dev/null
kubectl label namespace metallb-system pod-security.kubernetes.io/enforce=privileged >/dev/null
kubectl apply --server-side -f "$lab/crds/" >/dev/null
metallb_values=(--set crds.enabled=false --set crds.validationFailurePolicy=Ignore --set controller.webhookMode=disabled
  --set speaker.frr.enabled=false --set frrk8s.external=true --set frrk8s.namespace=frr-k8s-system
  --set speaker.memberlist.enabled=false
  --set controller.nodeSelector.speaker=frr-k8s
  --set controller.image.repository=localhost/metallb-controller --set "controller.image.tag=$METALLB_VERSION"
  --set speaker.image.repository=localhost/metallb-speaker --set "speaker.image.tag=$METALLB_VERSION"
  --set controller.livenessProbe.timeoutSeconds=5 --set controller.readinessProbe.timeoutSeconds=5
  --set speaker.livenessProbe.timeoutSeconds=5 --set speaker.readinessProbe.timeoutSeconds=5
  --set controller.livenessProbe.failureThreshold=30 --set speaker.livenessProbe.failureThreshold=30)
echo "\$ helm install metallb $metallb_chart -n metallb-system ${metallb_values[*]}"
"$helm" install metallb "$metallb_chart" -n metallb-system --kubeconfig "$KUBECONFIG" "${metallb_values[@]}" | sed 's/^/  /'
metallb_installed=$(date +%s)
check 600 "MetalLB's controller is available" kubectl -n metallb-system rollout status deploy/metallb-controller --timeout=1s
check 600 "MetalLB's speaker runs on node1" kubectl -n metallb-system rollout status ds/metallb-speaker --timeout=1s
echo "\$ kubectl apply -f e2e/lab/manifests/metallb.yaml -f e2e/cluster/manifests/web.yaml"
kubectl apply -f e2e/lab/manifests/metallb.yaml -f e2e/cluster/manifests/web.yaml | sed 's/^/  /'
SVC=172.30.0.10
check 600 "MetalLB assigns $SVC to Service web" \
  sh -c "kubectl get svc web -o jsonpath='{.status.loadBalancer.ingress[0].ip}' | grep -qx $SVC"
check 600 "MetalLB's FRRConfiguration metallb-node1 advertises $SVC/32" \
  sh -c "kubectl get frrconfiguration -n frr-k8s-system metallb-node1 -o jsonpath='{.spec.bgp.routers[0].prefixes}' | grep -q $SVC/32"
kubectl get frrconfigurations -n frr-k8s-system | sed 's/^/  /' || true
# FRR-K8s merges MetalLB's and ours into one session; the router learns both
# prefixes from the host leg.
router_learned() { # prefix
  kubectl -n frr-k8s-evpn-system exec "$(on1 router)" -c frr -- vtysh -c "show bgp vrf red ipv4 unicast $1 json" | grep -q '"bestpath"'
}
check 600 "the router's VRF red learned $SVC/32 from FRR-K8s" router_learned $SVC/32
check 60 "the router's VRF red learned the pod CIDR 10.244.0.0/24 from FRR-K8s" router_learned 10.244.0.0/24
announced=$(date +%s)
echo "\$ kubectl -n frr-k8s-evpn-system exec $(on1 router) -c frr -- vtysh -c 'show bgp vrf red ipv4 unicast'"
kubectl -n frr-k8s-evpn-system exec "$(on1 router)" -c frr -- vtysh -c 'show bgp vrf red ipv4 unicast' | grep -E '^ *[*>]|Network' | sed 's/^/  /' || true

echo "== the fabric: the leaf learns node1's routes as EVPN type-5, HOST1 reaches the pod and the Service"
VTEP=$(kubectl -n frr-k8s-evpn-system get routernodestatus node1 -o jsonpath='{.status.vtepIP}') # from node1's index
leaf_vtysh="${EVPN_FRR:-$root/.cache/frr/$(cat build/frr/version)}/bin/vtysh -N leaf"
leaf_type5() { # prefix length [vtep]: the leaf holds [5]...[prefix] with that VTEP (node1's) as next hop
  guest "$leaf_vtysh -c 'show bgp l2vpn evpn route type prefix' | grep -A1 -F '[5]:[0]:[$2]:[$1]' | grep -q -w ${3:-$VTEP}"
}
check 300 "leaf: type-5 route 10.244.0.0/24, next hop node1's VTEP $VTEP" leaf_type5 10.244.0.0 24
check 300 "leaf: type-5 route $SVC/32 via node1's VTEP" leaf_type5 $SVC 32
check 300 "node1 learned HOST1's network 192.168.10.0/24 from the router" \
  guest "ip route show 192.168.10.0/24 | grep -q 'via 192.169.10.1'"
POD=$(kubectl get pods -l app=web -o jsonpath='{.items[0].status.podIP}')
web_pod=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
check 300 "HOST1 pings the web pod $POD through VXLAN" guest "ip netns exec host1 ping -c1 -W1 $POD"
host1_gets_web() { guest "ip netns exec host1 curl -s -m 3 http://$SVC/" | grep -q "hello from ${1:-web-}"; }
check 300 "HOST1 gets the web pod's answer from the Service IP $SVC (MetalLB, the router, kube-proxy)" host1_gets_web "$web_pod"
fabric_up=$(date +%s)
echo "\$ ip netns exec host1 curl -s http://$SVC/   # on HOST1, behind the leaf"
guest "ip netns exec host1 curl -s -m 3 http://$SVC/" | sed 's/^/  /' || true

echo "-- the fabric as the node's status shows it: read from the router's FRR by the plumber"
rns() { kubectl -n frr-k8s-evpn-system get routernodestatus node1 -o jsonpath="$1"; }
live_red() { # the fabric session up; red's VNI up, the leaf's VTEP, HOST1's network in, the pod CIDR, the Service IP and node1's host leg out
  [[ $(rns '{.status.fabricSessions}') == 1/1 ]] &&
    [[ $(rns '{.status.l3vnis[?(@.name=="red")].evpn.vniState}') == Up ]] &&
    rns '{.status.l3vnis[?(@.name=="red")].evpn.remoteVTEPs}' | grep -q -F '"100.64.0.1"' &&
    [[ $(rns '{.status.l3vnis[?(@.name=="red")].evpn.type5Received}') -ge 1 ]] &&
    [[ $(rns '{.status.l3vnis[?(@.name=="red")].evpn.type5Advertised}') == 3 ]] &&
    [[ $(rns '{.status.l3vnis[?(@.name=="red")].evpn.hostSessions[0].state}') == Established ]]
}
check 120 "RouterNodeStatus node1: fabric 1/1, VNI 100 Up, remote VTEP 100.64.0.1, type-5 in >= 1 and out 3 (pods, Service IP, host leg)" live_red
echo "\$ kubectl -n frr-k8s-evpn-system get routernodestatus"
kubectl -n frr-k8s-evpn-system get routernodestatus | sed 's/^/  /' || true
echo "\$ kubectl evpn status"
kubectl evpn status | sed 's/^/  /' || true
echo "\$ kubectl evpn describe node node1"
kubectl evpn describe node node1 | sed 's/^/  /' || true
# Idempotence of the live state: the plumber reads FRR every 10 s and writes only
# a change, so a quiet node's status keeps its resourceVersion. A node is not
# always quiet: on a starved guest FRR-K8s's probes restarted its FRR during the
# window (the host session's state changed, and was written). So a window whose
# status changed says what changed, and another is tried; a plumber that wrote on
# every read would fail them all.
quiet_window() { # WINDOW: 60 s of node1's status; says what changed if it was written
  local y0 y1 rv0 rv1
  y0=$(kubectl -n frr-k8s-evpn-system get routernodestatus node1 -o yaml)
  sleep 60
  y1=$(kubectl -n frr-k8s-evpn-system get routernodestatus node1 -o yaml)
  rv0=$(rv_of <<<"$y0") rv1=$(rv_of <<<"$y1")
  [[ -n $rv0 && $rv0 == "$rv1" ]] && return 0 # none read is not quiet
  echo "  window $1: resourceVersion $rv0 -> $rv1; the status changed:"
  diff <(sed -n '/^status:/,$p' <<<"$y0") <(sed -n '/^status:/,$p' <<<"$y1") | grep '^[<>]' | head -12 | sed 's/^/    /'
  return 1
}
rv_of() { sed -n 's/^  resourceVersion: "\(.*\)"$/\1/p'; } # an object's, from its YAML
quiet=0
for w in 1 2 3; do
  if quiet_window $w; then quiet=$w; break; fi
done
check 1 "a quiet node makes no status writes: RouterNodeStatus node1 kept its resourceVersion over 60 s (6 reads of FRR; the quiet window: $quiet of 3)" test "$quiet" != 0
fig "quiet node: RouterNodeStatus writes in 60 s (6 live reads)" "0 (window $quiet of 3)"

echo "-- metrics: every metric the Grafana dashboard queries is served by the running programs"
# Both controller replicas (the leader decides) and node1's plumber (host network).
# Each replica from its own node: pods reach the other node's pods only through the
# EVPN routes that node2's speaker brings later (a leader on node2 was missed).
ctrl_pods=$(kubectl -n frr-k8s-evpn-system get pods -l app.kubernetes.io/component=controller -o jsonpath='{range .items[*]}{.spec.nodeName}={.status.podIP}{" "}{end}')
scrape_all() {
  local p
  guest "curl -s -m 10 http://127.0.0.1:9102/metrics" || true
  for p in $ctrl_pods; do
    case ${p%%=*} in
      node2) guest2 "curl -s -m 10 http://${p#*=}:8080/metrics" || true ;;
      *) guest "curl -s -m 10 http://${p#*=}:8080/metrics" || true ;;
    esac
  done
}
scrape_all >"$work/metrics.txt"
missing=$(grep -o 'frr_k8s_evpn_[a-z0-9_]*\|controller_runtime_[a-z0-9_]*' config/prometheus/grafana-dashboard.json | sort -u |
  while read -r m; do grep -q "^$m[{ ]" "$work/metrics.txt" || echo "$m"; done | tr '\n' ' ')
check 1 "the dashboard's $(grep -o 'frr_k8s_evpn_[a-z0-9_]*\|controller_runtime_[a-z0-9_]*' config/prometheus/grafana-dashboard.json | sort -u | wc -l) metrics are all served${missing:+; missing: $missing}" test -z "$missing"
grep -E '^frr_k8s_evpn_(router_(bgp_session_up|type5_routes|remote_vteps|vni_up)|plumber_reloads_total|objects\{kind="L3VNI")' "$work/metrics.txt" | sed 's/^/  /'

echo "\$ kubectl get pods -A -o wide"
kubectl get pods -A -o wide | sed 's/^/  /' || true


# A restart the kubelet made is a bug of ours (a probe too impatient for a slow
# node killed the plumber and FRR before the chart's probes were fixed).
restarts() { kubectl -n frr-k8s-evpn-system get pods -o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.name}={.restartCount} {end}{end}'; }
check 1 "no container of ours was restarted by the kubelet: $(restarts)" sh -c "! kubectl -n frr-k8s-evpn-system get pods -o jsonpath='{.items[*].status.containerStatuses[*].restartCount}' | grep -q '[1-9]'"

echo "== bad input is refused where the user looks, and breaks nothing that works"
echo "-- an L3VNI reusing VNI 100 is rejected; red is untouched"
rv=$(kubectl get frrconfiguration -n frr-k8s-system evpn-frr-k8s-evpn-system-red -o jsonpath='{.metadata.resourceVersion}')
echo "\$ kubectl apply -f e2e/lab/manifests/l3vni-conflict.yaml"
kubectl apply -f e2e/lab/manifests/l3vni-conflict.yaml | sed 's/^/  /'
check 300 "L3VNI green is not Accepted" kubectl -n frr-k8s-evpn-system wait --for=condition=Accepted=false l3vni/green --timeout=5s
echo "  message: $(kubectl -n frr-k8s-evpn-system get l3vni green -o jsonpath='{.status.conditions[?(@.type=="Accepted")].message}')"
check 1 "red's FRRConfiguration is untouched" test "$(kubectl get frrconfiguration -n frr-k8s-system evpn-frr-k8s-evpn-system-red -o jsonpath='{.metadata.resourceVersion}')" == "$rv"
check 30 "HOST1 still gets the web pod's answer from $SVC" host1_gets_web
kubectl delete -f e2e/lab/manifests/l3vni-conflict.yaml | sed 's/^/  /'
echo "-- an FRRConfiguration FRR-K8s cannot merge with ours shows on red's status"
echo "\$ kubectl apply -f e2e/lab/manifests/frrconfiguration-conflict.yaml"
kubectl apply -f e2e/lab/manifests/frrconfiguration-conflict.yaml | sed 's/^/  /'
cond() { kubectl -n frr-k8s-evpn-system get l3vni red -o jsonpath="{.status.conditions[?(@.type==\"FRRConfigurationReady\")].$1}"; }
cond_is() { [[ $(cond "$1") == "$2" ]]; }
check 300 "red's FRRConfigurationReady is False with FRR-K8s's error" cond_is reason FRRK8sFailed
echo "  message: $(cond message)"
evpn_status_names_frrk8s() { ! kubectl evpn status >"$work/evpn-status.txt" && grep -q '^node1 .*FRR-K8s failed: ' "$work/evpn-status.txt"; }
check 120 "kubectl evpn status: exit 1, node1's row names FRR-K8s's failure" evpn_status_names_frrk8s
sed 's/^/  /' "$work/evpn-status.txt"
check 30 "FRR-K8s keeps its last good configuration: HOST1 still gets the answer from $SVC" host1_gets_web
kubectl delete -f e2e/lab/manifests/frrconfiguration-conflict.yaml | sed 's/^/  /'
check 300 "red's FRRConfigurationReady is True again" cond_is status True
recovered_event() { kubectl -n frr-k8s-evpn-system get events --field-selector involvedObject.name=red,reason=Recovered -o name | grep -q .; }
check 60 "an Event on L3VNI red says it recovered" recovered_event
kubectl -n frr-k8s-evpn-system get events --field-selector involvedObject.name=red -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message | sed 's/^/  /' || true

echo "== lifecycle: what a kubelet does to our pods, and what it must not change"
ns=frr-k8s-evpn-system
last_reload() { kubectl -n $ns get routernodestatus node1 -o jsonpath='{.status.lastReload.time}'; }

echo "-- the plumber's DaemonSet rolled to a new image (the same bits under a new tag)"
reload0=$(last_reload)
# Every node has the image under its new tag from boot (guest_run): the
# DaemonSet rolls node2's plumber too.
ping_start "$leg" "$POD"
t=$(date +%s)
kubectl -n $ns set image ds/frr-k8s-evpn-nodeplumber nodeplumber=$plumber_image-next | sed 's/^/  /'
check 600 "the plumber rolled out" kubectl -n $ns rollout status ds/frr-k8s-evpn-nodeplumber --timeout=1s
new_reconciled() { kubectl -n $ns logs "$(on1 nodeplumber)" | grep -m1 '"reconciled"'; }
check 300 "the new plumber reconciled" new_reconciled
rolled=$(date +%s)
line=$(new_reconciled)
writes=$(sed -n 's/.*"netlinkWrites":\([0-9]*\).*/\1/p' <<<"$line")
reloaded=$(sed -n 's/.*"reloaded":\([a-z]*\).*/\1/p' <<<"$line")
loss=$(ping_stop) || { echo "  lost pings while the plumber rolled: $loss"; exit 1; }
check 1 "the new plumber: $writes netlink writes, reloaded $reloaded, ping loss $loss, FRR's last reload unchanged" \
  test "$writes/$reloaded/$(last_reload)" == "0/false/$reload0"
fig "plumber rolled to a new image: writes, reload, pings lost" "$writes, $reloaded, $loss, $(overlay_loss) ($((rolled - t)) s)"

# EVPN as the router's FRR, the router's kernel and the leaf see it.
evpn_state() {
  local c
  for c in 'show evpn vni detail' 'show evpn rmac vni all' 'show evpn next-hops vni all' \
    'show bgp l2vpn evpn route type prefix' 'show bgp vrf red ipv4 unicast' 'show ip route vrf red' 'show zebra client summary'; do
    echo "## router: $c"
    kubectl -n $ns exec "$(on1 router)" -c frr -- vtysh -c "$c"
  done
  echo "## router kernel"
  guest "ip -n evpnrouter -d link show vx100; bridge -n evpnrouter fdb show dev vx100; ip -n evpnrouter neigh show dev br100; ip -n evpnrouter route show vrf red"
  for c in 'show evpn vni detail' 'show bgp l2vpn evpn route type prefix' 'show ip route vrf red'; do
    echo "## leaf: $c"
    guest "$leaf_vtysh -c '$c'"
  done
}
echo "-- the router pod deleted: its DaemonSet makes a new one, which restores FRR's configuration"
router_pod() { kubectl -n $ns get pods -l app.kubernetes.io/component=router --field-selector spec.nodeName=node1 -o jsonpath='{.items[0].metadata.name}'; }
old_router=$(router_pod)
ping_start "$leg" "$POD"
t=$(date +%s)
kubectl -n $ns delete pod "$old_router" --wait=false | sed 's/^/  /'
new_router_ready() {
  [[ $(kubectl -n $ns get pods -l app.kubernetes.io/component=router --field-selector spec.nodeName=node1 -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}') =~ ^frr-k8s-evpn-router-[a-z0-9]+\ True$ ]] &&
    [[ $(router_pod) != "$old_router" ]]
}
check 600 "a new router pod is ready" new_router_ready
check 300 "the new router's FRR runs the configuration of L3VNI red" vrf_configured
check 300 "FRR-K8s's session to the new router's leg came up again" host_session_since "$t"
check 300 "the new router learned MetalLB's $SVC/32 again" router_learned $SVC/32
if ! host1_gets_web; then # what holds the overlay back, for the figure's windows below
  evpn_state >"$work/router-recreated-evpn.txt" 2>&1
  echo "  HOST1 gets no answer yet: router and leaf state in $work/router-recreated-evpn.txt"
fi
check 300 "HOST1 gets the web pod's answer from $SVC again" host1_gets_web
recreated=$(date +%s)
loss=$(ping_stop) || { echo "  lost pings while the router pod was recreated: $loss"; exit 1; }
fig "router pod deleted -> new pod ready, FRR configured (pings lost)" "$((recreated - t)) s ($loss, $(overlay_loss))"

echo "-- bgpd killed in the router: watchfrr restarts all of FRR (frr-restart), the reloader gives it its configuration back"
# Not bgpd alone: FRR 10.7's zebra deletes every EVPN entry from the kernel when
# bgpd dies, and did not always build them again for a new bgpd (the overlay
# stayed down; docs/restarts.md, "What FRR 10.7.1 does", 1).
daemon_pid() { kubectl -n $ns exec "$(on1 router)" -c frr -- cat /var/run/frr/$1.pid; }
old_bgpd=$(daemon_pid bgpd) old_zebra=$(daemon_pid zebra)
ping_start "$leg" "$POD"
t=$(date +%s)
kubectl -n $ns exec "$(on1 router)" -c frr -- sh -c 'kill -9 $(cat /var/run/frr/bgpd.pid)'
restarted() { local p; p=$(daemon_pid "$1") && [[ -n $p && $p != "$2" ]]; }
check 300 "watchfrr restarted bgpd" restarted bgpd "$old_bgpd"
echo "\$ kubectl evpn status   # during the restart: what the plumber read last"
kubectl evpn status | sed 's/^/  /' || true
check 300 "and zebra: all of FRR restarted" restarted zebra "$old_zebra"
check 300 "the restarted FRR runs the configuration of L3VNI red" vrf_configured
check 300 "FRR-K8s's session to the restarted bgpd came up again" host_session_since "$t"
check 300 "the restarted bgpd learned MetalLB's $SVC/32 again" router_learned $SVC/32
bgpd_back=$(date +%s) bgpd_wait=$((SECONDS + 180))
overlay_back=
until ((SECONDS > bgpd_wait)); do
  if host1_gets_web; then overlay_back=$(($(date +%s) - bgpd_back)); break; fi
  sleep 1
done
if [[ -z $overlay_back ]]; then
  # What FRR and the kernel hold when the overlay stays down: the evidence a
  # report upstream needs.
  evpn_state >"$work/bgpd-killed-evpn.txt" 2>&1
  check 1 "HOST1 gets the web pod's answer from $SVC again (router and leaf state in $work/bgpd-killed-evpn.txt)" false
fi
check 1 "HOST1 gets the web pod's answer from $SVC again, $overlay_back s after the routes" true
loss=$(ping_stop) || echo "  (the kernel's path to the router's leg lost pings: $loss)"
check 1 "the kubelet restarted nothing: $(restarts)" sh -c "! kubectl -n $ns get pods -o jsonpath='{..restartCount}' | grep -q '[1-9]'"
fig "bgpd killed -> all of FRR restarted, routes back (pings lost)" "$((bgpd_back - t)) s ($loss, $(overlay_loss))"
fig "bgpd killed -> HOST1 gets the Service's answer again" "$((bgpd_back - t + overlay_back)) s"

echo "-- zebra and watchfrr killed in the router: nothing restarts them, the liveness probe notices"
ping_start "$leg" "$POD"
t=$(date +%s)
kubectl -n $ns exec "$(on1 router)" -c frr -- sh -c 'kill -9 $(cat /var/run/frr/watchfrr.pid /var/run/frr/zebra.pid)'
frr_restarted() { [[ $(kubectl -n $ns get pods -l app.kubernetes.io/component=router --field-selector spec.nodeName=node1 -o jsonpath='{.items[0].status.containerStatuses[?(@.name=="frr")].restartCount}') -ge 1 ]]; }
check 600 "the kubelet restarted the frr container" frr_restarted
# node1's router pod, the one this step is about (rollout status waits for every node's).
router_ready1() { [[ $(kubectl -n $ns get pods -l app.kubernetes.io/component=router --field-selector spec.nodeName=node1 -o jsonpath='{.items[0].status.conditions[?(@.type=="Ready")].status}') == True ]]; }
check 600 "the router pod is ready again" router_ready1
check 300 "the restarted FRR runs the configuration of L3VNI red" vrf_configured
check 300 "FRR-K8s's session to the restarted FRR came up again" host_session_since "$t"
check 300 "the restarted FRR learned MetalLB's $SVC/32 again" router_learned $SVC/32
check 300 "HOST1 gets the web pod's answer from $SVC again" host1_gets_web
revived=$(date +%s)
router_logs
kubectl -n $ns get events --field-selector reason=Unhealthy -o custom-columns=MESSAGE:.message --no-headers | grep -i liveness | sort -u | head -3 | sed 's/^/  event: /'
loss=$(ping_stop) || echo "  (the kernel's path to the router's leg lost pings: $loss)"
fig "zebra+watchfrr killed -> container restarted, FRR configured (pings lost)" "$((revived - t)) s ($loss, $(overlay_loss))"

# FRR-K8s's and MetalLB's own restarts, before the drain replaces its Deployment's pod: a figure,
# not a check (its chart's probes are not ours to tune beyond its values).
others_restarts() { for n in frr-k8s-system metallb-system; do kubectl -n $n get pods -o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.name}={.restartCount}{.lastState.terminated.reason} {end}{end}'; done; }
frrk8s_restarts=$(others_restarts)

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
# The drain evicted the web pod; it runs on node1 again, under a new address.
check 300 "the web pod runs again" kubectl rollout status deploy/web --timeout=1s
POD=$(kubectl get pods -l app=web --field-selector status.phase=Running -o jsonpath='{.items[0].status.podIP}')
only_liveness_restart() { [[ $(restarts | tr ' ' '\n' | grep -v -e '=0$' -e '^$' | tr '\n' ' ') == "frr=1 " ]]; }
check 1 "the kubelet restarted only the frr container, once, for the liveness step: $(restarts)" only_liveness_restart

if ((nodes > 1)); then
  echo "== node2 joins the running cluster: a second VM, its own kernel, cabled to the leaf"
  # A node added to a cluster that runs everything already: the DaemonSets, the
  # controller's node index and L3VNI red reach it as they would a new machine.
  for _ in $(seq 100); do ss -ltn | grep -q ":$link_port " && break; sleep 0.2; done
  node2_boot=$(date +%s)
  boot_node2
  check 600 "node2 is Ready" node_ready node2
  node2_up=$(date +%s)
  check 300 "node2 is up" test -e "$work/out2/node-started"
  check 60 "node2 reaches the leaf over its eth1 (the cable to node1's guest)" guest2 "ping -c1 -W1 192.168.11.2"
  check 300 "L3VNI red is Ready on 2/2 nodes: node2's router runs it" sh -c "kubectl -n frr-k8s-evpn-system get l3vni red -o jsonpath='{.status.ready}' | grep -qx 2/2"
  fig "node2: VM boot -> Ready" "$((node2_up - node2_boot)) s"

  echo "== node2: BIRD speaks for VRF red on the host, pods reach each other across nodes over VXLAN"
  echo "\$ kubectl apply -f e2e/cluster/manifests/bird.yaml -f e2e/cluster/manifests/web2.yaml"
  kubectl apply -f e2e/cluster/manifests/bird.yaml -f e2e/cluster/manifests/web2.yaml | sed 's/^/  /'
  t=$(date +%s)
  check 300 "the router's leg of L3VNI red is up on node2 too" guest2 "ip -n evpnrouter -4 -o addr | grep -q ' $leg/'"
  check 60 "our FRRConfiguration selects node1 only (speaker=frr-k8s)" \
    sh -c "kubectl get frrconfiguration -n frr-k8s-system evpn-frr-k8s-evpn-system-red -o jsonpath='{.spec.nodeSelector.matchLabels.speaker}' | grep -qx frr-k8s"
  bird_up() { kubectl -n bird exec ds/bird -- birdc -s /run/bird.ctl show protocols red | grep -q Established; }
  check 300 "BIRD on node2: its session to the router's leg $leg is Established" bird_up
  kubectl -n bird exec ds/bird -- birdc -s /run/bird.ctl show protocols | sed 's/^/  /' || true
  VTEP2=$(kubectl -n frr-k8s-evpn-system get routernodestatus node2 -o jsonpath='{.status.vtepIP}')
  check 300 "leaf: type-5 route 10.244.1.0/24 (BIRD's), next hop node2's VTEP $VTEP2" leaf_type5 10.244.1.0 24 "$VTEP2"
  check 300 "node1 learned node2's pods 10.244.1.0/24 through FRR-K8s" guest "ip route show 10.244.1.0/24 | grep -q 'via 192.169.10.1'"
  check 300 "node2 learned node1's pods 10.244.0.0/24 and HOST1's network through BIRD" \
    guest2 "ip route show 10.244.0.0/24 | grep -q 'via 192.169.10.1' && ip route show 192.168.10.0/24 | grep -q 'via 192.169.10.1'"
  check 300 "the web2 pod on node2 is ready" kubectl rollout status deploy/web2 --timeout=1s
  POD2=$(kubectl get pods -l app=web2 -o jsonpath='{.items[0].status.podIP}')
  # A pod's own network namespace, found by its address (the CNI names it cni-...).
  pod_netns='for n in $(ip netns list | grep -o "^cni-[^ ]*"); do ip -n $n -4 -o addr | grep -q " $1/" && echo $n; done'
  from_pod() { # guest-function pod-ip command...: runs the command in the pod's netns
    local g=$1 ip=$2
    shift 2
    $g "set -- $ip; ns=\$($pod_netns); [ -n \"\$ns\" ] && ip netns exec \$ns $*"
  }
  vx_tx() { guest "ip -n evpnrouter -s -j link show vx100" | grep -o '"tx":{"bytes":[0-9]*,"packets":[0-9]*' | grep -o '[0-9]*$'; }
  tx0=$(vx_tx)
  # Capture node1's VXLAN packets to node2 on the leaf's port to node2 while web pings web2.
  guest "(ip netns exec leaf timeout 120 tcpdump -l -nn -c 3 -i swp3 'udp port 4789 and src host $VTEP and dst host $VTEP2' >/tmp/vxlan.txt 2>&1 &) ; sleep 1"
  check 300 "node1's web pod $POD pings node2's web2 pod $POD2 (pod to pod across nodes)" from_pod guest "$POD" ping -c1 -W1 "$POD2"
  cross=$(date +%s)
  check 60 "and node2's web2 pod pings node1's web pod" from_pod guest2 "$POD2" ping -c1 -W1 "$POD"
  check 60 "the leaf saw them as VXLAN from node1's VTEP $VTEP to node2's $VTEP2 (tcpdump on its port to node2)" \
    guest "grep -q 'VXLAN, flags \[I\] (0x08), vni 100' /tmp/vxlan.txt"
  guest "head -3 /tmp/vxlan.txt" | sed 's/^/  /' || true
  tx1=$(vx_tx)
  check 1 "node1's router sent them through vx100 (tx packets $tx0 -> $tx1)" test "$tx1" -gt "$tx0"
  check 300 "HOST1 pings node2's web2 pod $POD2 through VXLAN" guest "ip netns exec host1 ping -c1 -W1 $POD2"
  host1_gets_web2() { guest "ip netns exec host1 curl -s -m 3 http://$POD2:8080/" | grep -q "hello from web2-"; }
  check 60 "HOST1 gets web2's answer from its pod IP (TCP across the fabric to node2)" host1_gets_web2
  # What node1's host itself sends to node2's pods leaves from its host leg, an
  # address of a subnet every node holds on-link: the reply comes back only on the
  # host route node1's router announces for its leg.
  hostleg1=$(guest "ip -4 -o addr show hs100" | awk '{print $4}' | cut -d/ -f1)
  check 300 "node2 learned node1's host leg $hostleg1/32 through BIRD (node1's router announces it)" \
    guest2 "ip route show $hostleg1/32 | grep -q 'via $leg'"
  host_gets_web2() { guest "curl -s -m 3 http://$POD2:8080/" | grep -q "hello from web2-"; }
  check 60 "node1's host gets web2's answer from its host leg $hostleg1 (a host-network client across nodes)" host_gets_web2
  echo "\$ kubectl apply -f e2e/cluster/manifests/web2-service.yaml"
  kubectl apply -f e2e/cluster/manifests/web2-service.yaml | sed 's/^/  /'
  svc2_ip() { SVC2=$(kubectl get svc web2 -o jsonpath='{.status.loadBalancer.ingress[0].ip}'); [[ -n $SVC2 ]]; }
  check 300 "MetalLB assigns Service web2 an IP" svc2_ip
  check 300 "leaf: type-5 route $SVC2/32 via node1's VTEP (MetalLB announces it from node1; its endpoint is on node2)" leaf_type5 "$SVC2" 32
  host1_gets_svc2() { guest "ip netns exec host1 curl -s -m 3 http://$SVC2/" | grep -q "hello from web2-"; }
  check 120 "HOST1 gets web2's answer from $SVC2 (node1's kube-proxy sends it on to node2 from node1's host leg)" host1_gets_svc2
  fig "node2: BIRD applied -> node1's pod pings node2's pod" "$((cross - t)) s"

  echo "== a second L3VNI only on node2 (blue, VNI 200); node1 relabelled into it, red's traffic untouched"
  echo "\$ kubectl apply -f e2e/cluster/manifests/l3vni-blue.yaml"
  kubectl apply -f e2e/cluster/manifests/l3vni-blue.yaml | sed 's/^/  /'
  blue_on() { $1 "ip -n evpnrouter link show blue && ip link show hs200" >/dev/null; }
  check 300 "blue's VRF and host leg are up on node2" blue_on guest2
  bird_blue_up() { kubectl -n bird exec ds/bird -- birdc -s /run/bird.ctl show protocols blue | grep -q Established; }
  check 300 "BIRD on node2: its session to blue's router leg is Established" bird_blue_up
  check 300 "L3VNI blue is Ready on 1/1 nodes" sh -c "kubectl -n frr-k8s-evpn-system get l3vni blue -o jsonpath='{.status.ready}' | grep -qx 1/1"
  blue_off1() { ! blue_on guest; }
  check 1 "blue is not on node1: no VRF blue, no hs200" blue_off1
  ping_start "$leg" "$POD"
  t=$(date +%s)
  echo "\$ kubectl label node node1 evpn.example/blue=true"
  kubectl label node node1 evpn.example/blue=true | sed 's/^/  /'
  check 300 "blue's VRF and host leg are up on node1" blue_on guest
  blue_session() { kubectl get bgpsessionstates -n frr-k8s-system -o jsonpath='{range .items[*]}{.status.peer} {.status.bgpStatus}{"\n"}{end}' | grep -qx "192.169.20.1 Established"; }
  check 300 "BGPSessionState: FRR-K8s's session to blue's router leg on node1 is Established" blue_session
  check 300 "L3VNI blue is Ready on 2/2 nodes" sh -c "kubectl -n frr-k8s-evpn-system get l3vni blue -o jsonpath='{.status.ready}' | grep -qx 2/2"
  joined=$(date +%s)
  loss=$(ping_stop) || { echo "  red lost pings on node1 while node1 joined blue: $loss"; exit 1; }
  read -r sent got <<<"$(ping_counts overlay)"
  check 1 "red's traffic was untouched: node1->router leg $loss, $(overlay_loss)" test "$sent" -gt 0 -a "$sent" == "$got"
  fig "node1 relabelled into blue -> Ready 2/2 (red's pings lost)" "$((joined - t)) s ($loss, $(overlay_loss))"
  red_session_kept() { # Established, and since before the relabel
    local j up
    j=$(kubectl -n frr-k8s-system exec ds/frr-k8s -c frr -- vtysh -c "show bgp neighbors $leg json")
    grep -q '"bgpState":"Established"' <<<"$j" || return 1
    up=$(grep -o '"bgpTimerUpMsec":[0-9]*' <<<"$j" | head -1 | cut -d: -f2)
    [[ -n $up ]] && (($(date +%s) - up / 1000 < t))
  }
  check 1 "red's FRR-K8s session on node1 did not reset while blue was added" red_session_kept

  echo "== node2's VM goes down and its Node object is deleted; the machine comes back under the same name"
  ping_start "$leg" "$POD"
  t=$(date +%s)
  touch "$work/out2/done" # the guest stops serving the host and powers off
  timeout 300 tail --pid="$bootpid2" -f /dev/null || true
  check 1 "node2's VM is down" sh -c "! kill -0 $bootpid2 2>/dev/null"
  echo "\$ kubectl delete node node2"
  kubectl delete node node2 | sed 's/^/  /'
  node2_pods_gone() { [[ -z $(kubectl get pods -A --field-selector spec.nodeName=node2 -o name) ]]; }
  check 300 "the pods bound to node2 are gone (the pod garbage collector)" node2_pods_gone
  both_ready_on() { # N/M: red and blue are Ready on N of M nodes
    local l
    for l in red blue; do kubectl -n frr-k8s-evpn-system get l3vni $l -o jsonpath='{.status.ready}' | grep -qx "$1" || return 1; done
  }
  check 300 "L3VNI red is Ready on 1/1 nodes, blue on 1/1: node1 only" both_ready_on 1/1
  leaf_type5_node2_gone() { ! leaf_type5 10.244.1.0 24 "$VTEP2"; }
  check 300 "leaf: node2's type-5 route 10.244.1.0/24 is withdrawn" leaf_type5_node2_gone
  gone=$(date +%s)
  loss=$(ping_stop) || { echo "  red lost pings on node1 while node2 went away: $loss"; exit 1; }
  fig "node2 down and deleted -> node1 only (red's pings lost on node1)" "$((gone - t)) s ($loss, $(overlay_loss))"
  # The same machine boots again, with the same name: its kubelet registers a new
  # Node object; the controller gives it the index it had (its RouterNodeStatus
  # keeps it reserved for a grace period), so its VTEP and legs are the same.
  mv "$work/out2" "$work/out2-before" && mkdir -p "$work/out2"
  node2_booted=$(date +%s)
  boot_node2
  check 900 "node2 is Ready again (a new Node object, registered by its kubelet)" node_ready node2
  check 1 "node2 has its labels back from its kubelet" sh -c "kubectl get node node2 --show-labels | grep -q 'speaker=bird' && kubectl get node node2 --show-labels | grep -q 'evpn.example/blue=true'"
  check 300 "node2 is up" test -e "$work/out2/node-started"
  # A reload after the boot: the status kept from before says success too (run
  # 34-4: this passed at once, while node2's router was still starting).
  vtep2_back() {
    local v r at
    read -r v r at <<<"$(kubectl -n frr-k8s-evpn-system get routernodestatus node2 -o jsonpath='{.status.vtepIP} {.status.lastReload.result} {.status.lastReload.time}')"
    [[ $v == "$VTEP2" && $r == success && -n $at ]] && (($(date -d "$at" +%s) >= node2_booted))
  }
  check 900 "RouterNodeStatus node2: its new router took its configuration, VTEP $VTEP2 as before" vtep2_back
  check 300 "L3VNI red is Ready on 2/2 nodes, blue on 2/2" both_ready_on 2/2
  check 300 "BIRD on node2: its session to the router's leg $leg is Established again" bird_up
  check 300 "leaf: type-5 route 10.244.1.0/24 via node2's VTEP $VTEP2 again" leaf_type5 10.244.1.0 24 "$VTEP2"
  check 300 "the web2 pod on node2 is ready again" kubectl rollout status deploy/web2 --timeout=1s
  POD2=$(kubectl get pods -l app=web2 --field-selector status.phase=Running -o jsonpath='{.items[0].status.podIP}')
  check 300 "node1's web pod $POD pings node2's new web2 pod $POD2 again" from_pod guest "$POD" ping -c1 -W1 "$POD2"
  back=$(date +%s)
  fig "node2 booted again -> node1's pod pings node2's pod" "$((back - node2_booted)) s"
fi
if ((nodes > 1)); then
  node2_restarts() { kubectl -n frr-k8s-evpn-system get pods --field-selector spec.nodeName=node2 -o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.name}={.restartCount} {end}{end}'; }
  node2_unrestarted() { local r; r=$(node2_restarts) && [[ -n $r ]] && ! grep -q '=[1-9]' <<<"$r"; }
  check 1 "no container of ours on node2 was restarted by the kubelet: $(node2_restarts)" node2_unrestarted
  # Again after node2's steps (run 34-4: FRR-K8s's liveness probe, whose 1 s
  # timeout its chart does not expose, restarted its FRR as node2 went down).
  frrk8s_restarts2=$(others_restarts)
fi

echo "== the user deletes L3VNI red: the leaf withdraws its routes, its devices go, the underlay stays"
t=$(date +%s)
echo "\$ kubectl -n frr-k8s-evpn-system delete l3vni red"
kubectl -n frr-k8s-evpn-system delete l3vni red | sed 's/^/  /'
leaf_type5_gone() { ! guest "$leaf_vtysh -c 'show bgp l2vpn evpn route type prefix'" | grep -q -F '[5]:[0]:[24]:[10.244.0.0]'; }
check 300 "leaf: the type-5 route 10.244.0.0/24 is withdrawn" leaf_type5_gone
withdrawn=$(date +%s)
check 300 "our FRRConfiguration is gone" sh -c "! kubectl get frrconfiguration -n frr-k8s-system evpn-frr-k8s-evpn-system-red"
devices_gone() { guest "! ip -n evpnrouter link show red && ! ip -n evpnrouter link show br100 && ! ip -n evpnrouter link show vx100 && ! ip link show hs100" >/dev/null; }
check 300 "the devices are gone: VRF red, br100, vx100 in evpnrouter, hs100 on node1" devices_gone
if ((nodes > 1)); then
  devices2_gone() { guest2 "! ip -n evpnrouter link show red && ! ip -n evpnrouter link show vx100 && ! ip link show hs100" >/dev/null; }
  check 300 "and on node2" devices2_gone
  # Both nodes are in blue too, whose speakers carry the same pod routes.
  check 60 "node1 reaches node2's web2 pod $POD2 through blue now, not red" \
    guest "ip route get $POD2 | grep -q 'via 192.169.20.1 dev hs200' && ping -c1 -W1 $POD2"
fi
check 30 "the underlay session with the leaf is still up" guest "$leaf_vtysh -c 'show bgp neighbors 192.168.11.1 json' | grep -q '\"bgpState\":\"Established\"'"
check 30 "HOST1 no longer reaches the web pod" guest "! ip netns exec host1 ping -c1 -W1 $POD"
echo "\$ kubectl evpn status"
kubectl evpn status | sed 's/^/  /' || true
fig "kubectl delete l3vni -> route withdrawn at the leaf" "$((withdrawn - t)) s"

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
fig "build (images, pause, binaries)" "$((built - t0)) s"
fig "control plane up" "$((up - built)) s"
fig "VM boot -> node1 Ready" "$((ready - boot)) s"
fig "helm install -> controller and plumber running" "$((running - installed)) s"
fig "Underlay applied -> router ready, FRR configured" "$((routed - applied)) s"
fig "FRR-K8s: helm install -> running on node1" "$((frrk8s_running - frrk8s_installed)) s"
fig "L3VNI applied -> FRR-K8s's session to the router Established" "$((session_up - l3vni_applied)) s"
fig "MetalLB: helm install -> Service web announced to the router" "$((announced - metallb_installed)) s"
fig "MetalLB: helm install -> HOST1 gets the web pod's answer" "$((fabric_up - metallb_installed)) s"
fig "FRR-K8s's and MetalLB's containers restarted (before the drain)" "$frrk8s_restarts"
((nodes == 1)) || fig "FRR-K8s's and MetalLB's containers restarted (after node2's steps)" "$frrk8s_restarts2"
fig "whole run" "$(($(date +%s) - t0)) s"
ok=1
