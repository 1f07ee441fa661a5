#!/bin/bash
# The lab's node and fabric, inside the VM (started by e2e/lab/run.sh): node1's host
# netns is the guest's own. It builds the fabric (leaf, HOST1) and node1 (its NIC,
# a pod), starts what the DaemonSets would run (FRR-K8s with its FRR, our plumber,
# the router's FRR with our reloader), then tells the story with kubectl, every step
# asserted.
set -euo pipefail
# shellcheck source=e2e/lab/story.sh
. "$LAB_ROOT/e2e/lab/story.sh"
cd "$LAB_ROOT"
logs=$LAB_OUT/logs
mkdir -p "$logs"
: >"$LAB_OUT/figures.txt"
NODE=node1
NS=frr-k8s-evpn-system
FRRNS=frr-k8s-system
ROUTER=evpnrouter  # the plumber's netns
HOST1=192.168.10.1 POD=10.244.0.6 SVC=172.30.0.10
VTEP=100.65.0.1    # node1's VTEP: index 0 in 100.65.0.0/24
# Every FRR here (the leaf, FRR-K8s's, the router) is the project's pinned one, run
# from its root filesystem (hack/frr/rootfs.sh) as its images would: frr_run runs a
# command inside it, and vtysh and frr-reload.py on PATH are its. The guest sees
# that root through an overlay, so the configurations are written into it.
frr_run() { "$EVPN_FRR/bin/run" "$@"; }
export PATH=$EVPN_FRR/bin:$PATH
ETC=$EVPN_FRR/rootfs/etc/frr
FRR_OWNER=$(awk -F: '$1 == "frr" { print $3 ":" $4 }' "$EVPN_FRR/rootfs/etc/passwd")

diagnose() {
  echo "--- diagnostics (logs in $logs)"
  for f in plumber reloader frr-k8s; do echo "- $f.log:"; tail -8 "$logs/$f.log" 2>/dev/null | cut -c1-300; done
  echo "- FRR's daemons:"; ps -eo pid,etime,args | grep -E '/usr/lib/frr/[a-z]+ ' | grep -v grep || true
  echo "- router:"; timeout 20 vtysh -N router -c 'show bgp vrf all summary' 2>&1 | grep -v '^$' | head -30 || true
  echo "- leaf:"; vtysh -N leaf -c 'show bgp l2vpn evpn route type prefix' 2>&1 | head -30 || true
  echo "- FRR-K8s's FRR:"; vtysh -c 'show bgp summary' 2>&1 | grep -v '^$' | head -12 || true
  vtysh -c 'show bgp neighbors 192.169.10.1' 2>&1 | grep -i -E 'state|last reset|connect|error|timer due|notification' | head -14 || true
  # Both ends of FRR-K8s's session, as FRR logged them (a NOTIFICATION one side
  # sends may show on the other only as its answer).
  for f in /run/frr/router/frr.log /run/frr/frr-k8s.log; do
    echo "- $f:"; grep -h -i -E 'notification|192\.169\.10\.[12].*(went from|Established|Idle)' "$f" 2>/dev/null | tail -12 | cut -c1-250 || true
  done
  timeout 20 vtysh -N router -c 'show bgp vrf red neighbors 192.169.10.2' 2>&1 | grep -i -E 'state|last reset|last read|error|notification' | head -10 || true
  echo "- the host-leg sessions' last BGP packets ($logs/host-legs-bgp.pcap):"
  tcpdump -nn -v -r "$logs/host-legs-bgp.pcap" 2>/dev/null | grep -E '^[0-9]|BGP|Message|Notification|Error' | tail -40 | cut -c1-200 || true
  ip -br addr; ip route
  kubectl get l3vni,underlay,routernodestatus -n $NS -o wide 2>&1 || true
  cp /run/frr/router/frr.log "$logs/router-frr.log" 2>/dev/null; cp /run/frr/frr-k8s.log "$logs/frr-k8s-frr.log" 2>/dev/null || true
}

say "node1 boots: the fabric, the node and what its DaemonSets run"
t_boot=$(now)
sysctl -qw net.ipv4.ip_forward=1
# Management: the API server only (no default route, so lab traffic cannot leak).
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0

# The fabric (e2e/fabric.sh): the leaf, cabled to node1's eth1, and HOST1 behind it.
# shellcheck source=e2e/fabric.sh
. e2e/fabric.sh
fabric_up 192.168.11.3 "$logs"
ip netns add pod

# A pod on node1: 10.244.0.6 in the node's pod CIDR, which also serves the
# LoadBalancer IP (what kube-proxy's rules would deliver to it).
ip link add vethpod type veth peer name eth0 netns pod
ip addr add 10.244.0.1/24 dev vethpod && ip link set vethpod up
ip -n pod link set lo up && ip -n pod addr add $POD/24 dev eth0 && ip -n pod link set eth0 up
ip -n pod addr add $SVC/32 dev lo && ip -n pod route add default via 10.244.0.1
ip route add $SVC/32 via $POD

# FRR-K8s's pod: FRR as its chart configures it with acceptIncomingBGPConnections
# (bgpd listens: a graceful-restart helper waits for the restarted router to
# connect, and does not connect itself), its reloader script (in FRR's root, as in
# its FRR container), the daemon and the status exporter, which share
# /run/frr_reloader as the pod shares a volume.
mkdir -p /run/frr /run/frr_reloader && chown "$FRR_OWNER" /run/frr
# Where FRR-K8s's daemon and its status exporter read the reload result, outside
# FRR's root and inside it.
for d in /etc/frr_reloader "$EVPN_FRR/rootfs/etc/frr_reloader"; do ln -sfn /run/frr_reloader "$d"; done
cat >"$ETC/daemons" <<'D'
bgpd=yes
bfdd=yes
vtysh_enable=yes
zebra_options="  -A 127.0.0.1 -s 90000000"
bgpd_options="   -A 127.0.0.1"
bfdd_options="   -A 127.0.0.1"
frr_global_options="--log file:/run/frr/frr-k8s.log"
D
printf 'service integrated-vtysh-config\n' >"$ETC/vtysh.conf"
printf 'frr defaults traditional\nhostname node1\n' >"$ETC/frr.conf"
chown -R "$FRR_OWNER" "$ETC" && chmod 640 "$ETC/daemons" "$ETC/frr.conf"
frr_run /usr/lib/frr/frrinit.sh start >"$logs/frr-k8s-frrinit.log" 2>&1
cp "$LAB_TOOLS/frr-reloader.sh" /run/frr_reloader/
# env --default-signal: a background shell ignores SIGHUP, the reloader's trigger.
# The script writes its own PID: frr_run's chain of execs keeps it.
env --default-signal SHARED_VOLUME=/run/frr_reloader "$EVPN_FRR/bin/run" bash /run/frr_reloader/frr-reloader.sh >"$logs/frr-k8s-reloader.log" 2>&1 &
for _ in $(seq 50); do [ -s /run/frr_reloader/reloader.pid ] && break; sleep 0.1; done
FRR_CONFIG_FILE=/run/frr_reloader/frr.conf FRR_RELOADER_PID_FILE=/run/frr_reloader/reloader.pid \
  "$LAB_TOOLS/bin/frr-k8s" --node-name=$NODE --namespace=$FRRNS --metrics-bind-address=0 \
  --health-probe-bind-address=127.0.0.1:17572 >"$logs/frr-k8s.log" 2>&1 &
# The status exporter runs vtysh itself (/usr/bin/vtysh): it runs in FRR's root too.
mkdir -p /run/frr-k8s && cp "$LAB_TOOLS/bin/frr-status" /run/frr-k8s/
frr_run /run/frr-k8s/frr-status --node-name=$NODE --namespace=$FRRNS --pod-name=frr-k8s-$NODE \
  --poll-interval=5s >"$logs/frr-status.log" 2>&1 &

# Every BGP packet of the host-leg sessions, for the diagnostics: a session that
# does not come up is told by its OPENs, KEEPALIVEs and NOTIFICATIONs.
tcpdump -Z root -i any -nn -U -w "$logs/host-legs-bgp.pcap" 'tcp port 179 and net 192.169.10.0/24' >/dev/null 2>&1 &

# Our node pod: the plumber, and the router's FRR (pathspace "router", in the
# plumber's netns once it exists) with our reloader, as the router DaemonSet does.
start_plumber() { # log file
  "$LAB_BIN/nodeplumber" --node-name=$NODE --health-probe-bind-address=0 >"$1" 2>&1 &
  PLUMBER=$!
}
start_plumber "$logs/plumber.log"
mkdir -p "$ETC/router" /run/frr/router
# The router image's daemons, and a log file (FRR's stdout, where the router's
# configuration logs, goes nowhere once the daemons detach here).
{ cat build/frr/daemons; echo 'frr_global_options="--log file:/run/frr/router/frr.log"'; } >"$ETC/router/daemons"
printf 'service integrated-vtysh-config\n' >"$ETC/router/vtysh.conf"
printf 'frr defaults datacenter\n' >"$ETC/router/frr.conf" # the router image's
chown -R "$FRR_OWNER" "$ETC/router" /run/frr/router
# The last good configuration under /run: FRR's tools, in their root, see /run.
reloader=("$LAB_BIN/reloader" --vty-socket=/run/frr/router --last-good=/run/frr-k8s-evpn/last/frr.conf)
reloader() { "${reloader[@]}" "$@"; }
start_router_frr() { # what build/router-start does: FRR, then the last good config
  ip netns exec $ROUTER "$EVPN_FRR/bin/run" /usr/lib/frr/frrinit.sh start router >>"$logs/router-frrinit.log" 2>&1
  reloader --restore >>"$logs/reloader.log" 2>&1
}
serve_reloader() { # the sidecar
  "${reloader[@]}" >>"$logs/reloader.log" 2>&1 &
  echo $! >/run/frr-k8s-evpn/reloader.pid
}
(
  until [ -e /run/netns/$ROUTER ]; do sleep 0.2; done
  start_router_frr
  serve_reloader
) &
check 180 "FRR-K8s and its FRR are running on node1" vtysh -c 'show version'
check 180 "the leaf's FRR is running" vtysh -N leaf -c 'show version'
printf '  node1: NIC eth1 192.168.11.3 cabled to the leaf (AS 64612, VTEP 100.64.0.1);\n'
printf '  HOST1 %s behind the leaf in VRF red (VNI 100); a pod at %s on node1.\n' $HOST1 $POD
check 5 "before anything is applied, HOST1 cannot reach the pod" sh -c "! ip netns exec host1 ping -c1 -W1 $POD"

###############################################################################
say "1. The user applies an Underlay and an L3VNI"
# The convergence figure comes from a prober started with the apply, not from the
# story's own checks, whose kubectl calls take seconds under emulation.
t_apply=$(now)
(until ip netns exec host1 ping -c1 -W1 -q $POD >/dev/null 2>&1; do sleep 0.1; done; now >"$LAB_OUT/first-ping") &
run kubectl apply -f config/samples/underlay.yaml -f config/samples/l3vni.yaml
check 180 "the controller accepts both" kubectl wait -n $NS --for=condition=Accepted underlay/fabric l3vni/red --timeout=5s
check 180 "the FRRConfiguration for FRR-K8s exists" kubectl get frrconfiguration -n $FRRNS evpn-$NS-red
show "kubectl get frrconfiguration -n $FRRNS evpn-$NS-red -o yaml   # spec" \
  sh -c "kubectl get frrconfiguration -n $FRRNS evpn-$NS-red -o yaml | sed -n '/^spec:/,\$p'"

say "2. node1's plumber builds the router"
check 180 "RouterNodeStatus node1 reports a successful FRR reload" \
  sh -c "kubectl get routernodestatus -n $NS $NODE -o jsonpath='{.status.lastReload.result}' | grep -qx success"
run kubectl get routernodestatus -n $NS
run ip -n $ROUTER -br link
show "vtysh -N router -c 'show version'   # the pinned FRR (build/frr/version)" \
  sh -c "vtysh -N router -c 'show version' | head -1"
vtysh -N router -c 'show version' | grep -q "^FRRouting $(cat build/frr/version) " || fail "the router does not run FRR $(cat build/frr/version)"
run ip -br addr show hs100
# The router netns holds the fabric NIC: FRR's vty ports (26xx) answer on
# localhost only; bgpd's port 179 is the one the fabric needs.
show "ip netns exec $ROUTER ss -Hltn" ip netns exec $ROUTER ss -Hltn
vty_exposed() { ip netns exec $ROUTER ss -Hltn | awk '{print $4}' | grep -E ':26[0-9][0-9]$' | grep -v -E '^127\.0\.0\.1:|^\[::1\]:'; }
check 30 "the router's FRR listens for vty on localhost only" sh -c "ip netns exec $ROUTER ss -Hltn | grep -q ':26'"
if vty_exposed; then fail "a vty port of the router's FRR listens beyond localhost"; fi

say "3. FRR-K8s peers with the router through the veth"
check 180 "BGPSessionState: FRR-K8s's session to the router leg 192.169.10.1 is Established" \
  sh -c "kubectl get bgpsessionstates -n $FRRNS -o jsonpath='{range .items[*]}{.status.peer} {.status.bgpStatus}{\"\\n\"}{end}' | grep -qx '192.169.10.1 Established'"
run kubectl get bgpsessionstates -n $FRRNS -o custom-columns=NODE:.status.node,PEER:.status.peer,VRF:.status.vrf,BGP:.status.bgpStatus
check 180 "the node learned HOST1's network from the router" sh -c "ip route show 192.168.10.0/24 | grep -q 'via 192.169.10.1'"
run ip route show 192.168.10.0/24

say "4. The fabric learns node1's pod CIDR as an EVPN type-5 route"
leaf_type5() { # prefix length: the leaf holds [5]...[prefix] with node1's VTEP as next hop
  vtysh -N leaf -c 'show bgp l2vpn evpn route type prefix' | grep -A1 -F "[5]:[0]:[$2]:[$1]" | grep -q -w $VTEP
}
check 180 "leaf: type-5 route 10.244.0.0/24, next hop node1's VTEP $VTEP" leaf_type5 10.244.0.0 24
show "vtysh -N leaf -c 'show bgp l2vpn evpn route type prefix'" \
  sh -c "vtysh -N leaf -c 'show bgp l2vpn evpn route type prefix' | sed -n '/Route Distinguisher/,\$p' | grep -v '^$'"

say "5. HOST1 reaches the pod, through VXLAN"
check 180 "HOST1 pings the pod $POD" ip netns exec host1 ping -c1 -W1 $POD
check 10 "the prober saw the first reply" test -s "$LAB_OUT/first-ping"
figure "kubectl apply to first successful ping" "$(awk -v a="$t_apply" -v b="$(cat "$LAB_OUT/first-ping")" 'BEGIN { printf "%.1f", b - a }')" s
vx() { ip netns exec $ROUTER cat /sys/class/net/vx100/statistics/"$1"; }
rx0=$(vx rx_packets) tx0=$(vx tx_packets)
run ip netns exec host1 ping -c3 -i0.2 $POD
rx1=$(vx rx_packets) tx1=$(vx tx_packets)
echo "  node1's vx100: $((rx1 - rx0)) packets decapsulated, $((tx1 - tx0)) encapsulated during the 3 pings"
((rx1 - rx0 >= 3 && tx1 - tx0 >= 3)) || fail "the pings did not cross vx100"

say "6. FRR-K8s reports the merged configuration in its FRRNodeState"
echo "  (FRR-K8s refreshes FRRNodeState's reload status every 30 s)"
check 180 "FRRNodeState node1: conversion success, reload success, neighbor 192.169.10.1 running" \
  sh -c "kubectl get frrnodestate $NODE -o jsonpath='{.status.lastConversionResult} {.status.lastReloadResult}' | grep -qx 'success success' &&
         kubectl get frrnodestate $NODE -o jsonpath='{.status.runningConfig}' | grep -q 'neighbor 192.169.10.1 remote-as 64512'"
run kubectl get frrnodestate $NODE -o jsonpath='{.status.lastConversionResult} {.status.lastReloadResult}{"\n"}'
show "kubectl get frrnodestate $NODE -o jsonpath='{.status.runningConfig}' | grep 'neighbor 192.169.10.1'" \
  sh -c "kubectl get frrnodestate $NODE -o jsonpath='{.status.runningConfig}' | grep 'neighbor 192.169.10.1'"

say "7. MetalLB announces a LoadBalancer IP over the same session"
run kubectl apply -f e2e/lab/manifests/metallb.yaml -f e2e/lab/manifests/web.yaml
check 180 "MetalLB assigns $SVC to Service web" \
  sh -c "kubectl get svc web -o jsonpath='{.status.loadBalancer.ingress[0].ip}' | grep -qx $SVC"
check 180 "MetalLB's FRRConfiguration metallb-$NODE advertises $SVC/32" \
  sh -c "kubectl get frrconfiguration -n $FRRNS metallb-$NODE -o jsonpath='{.spec.bgp.routers[0].prefixes}' | grep -q $SVC/32"
run kubectl get frrconfigurations -n $FRRNS
check 180 "FRR-K8s merged both into one session: its FRR announces $SVC/32 and 10.244.0.0/24 to 192.169.10.1" \
  sh -c "vtysh -c 'show running-config' | grep -q '192.169.10.1-allowed-ipv4 seq [0-9]* permit $SVC/32'"
show "vtysh -c 'show running-config' | grep allowed-ipv4   # FRR-K8s's FRR on node1" \
  sh -c "vtysh -c 'show running-config' | grep 'allowed-ipv4 seq'"
check 180 "leaf: type-5 route $SVC/32 via node1's VTEP" leaf_type5 $SVC 32
check 180 "HOST1 pings the service IP $SVC" ip netns exec host1 ping -c1 -W1 $SVC
check 180 "kubectl get l3vni shows red Ready on 1/1 nodes" \
  sh -c "kubectl get l3vni -n $NS red -o jsonpath='{.status.ready}' | grep -qx 1/1"
run kubectl get l3vnis,underlays -n $NS

say "8. A conflicting L3VNI is rejected; red keeps working"
rv=$(kubectl get frrconfiguration -n $FRRNS evpn-$NS-red -o jsonpath='{.metadata.resourceVersion}')
run kubectl apply -f e2e/lab/manifests/l3vni-conflict.yaml
check 180 "green is not accepted" kubectl wait -n $NS --for=condition=Accepted=false l3vni/green --timeout=5s
show "kubectl get l3vni green -n $NS -o jsonpath='{.status.conditions[?(@.type==\"Accepted\")].message}'" \
  kubectl get l3vni green -n $NS -o jsonpath='{.status.conditions[?(@.type=="Accepted")].message}{"\n"}'
[[ $(kubectl get frrconfiguration -n $FRRNS evpn-$NS-red -o jsonpath='{.metadata.resourceVersion}') == "$rv" ]] ||
  fail "red's FRRConfiguration changed"
check 10 "red's FRRConfiguration is untouched and HOST1 still pings the pod" ip netns exec host1 ping -c1 -W1 $POD
run kubectl delete -f e2e/lab/manifests/l3vni-conflict.yaml

say "9. An FRRConfiguration that FRR-K8s cannot merge shows on the L3VNI"
run kubectl apply -f e2e/lab/manifests/frrconfiguration-conflict.yaml
# cond FIELD: a field of red's FRRConfigurationReady condition.
cond() { kubectl get l3vni red -n $NS -o jsonpath="{.status.conditions[?(@.type==\"FRRConfigurationReady\")].$1}"; }
cond_is() { [ "$(cond "$1")" = "$2" ]; }
check 180 "red's FRRConfigurationReady is False, with FRR-K8s's error" cond_is reason FRRK8sFailed
echo "  message: $(cond message)"
check 10 "FRR keeps its last good configuration: HOST1 still pings the pod" ip netns exec host1 ping -c1 -W1 $POD
run kubectl delete -f e2e/lab/manifests/frrconfiguration-conflict.yaml
check 180 "red's FRRConfigurationReady is True again" cond_is status True

say "10. The data plane lives in the kernel"
# pingloss SECONDS-AFTER ACTION...: HOST1 pings the pod and the service IP every
# 100 ms each while ACTION runs and for SECONDS after. Sets LOSS to "lost/sent" for
# both together, and TOPOD to the echo requests that did not reach the pod (the
# fabric-to-pod direction alone): "missing/sent".
# GAPS says when each stream was down (pinggaps.awk), as seconds from T0, the
# pings' start.
pingloss() {
  local after=$1 p1 p2 rx0
  shift
  rx0=$(pod_rx)
  T0=$(now)
  ip netns exec host1 ping -D -O -i 0.1 -W 1 $POD >"$LAB_OUT/ping.txt" 2>&1 &
  p1=$!
  ip netns exec host1 ping -D -O -i 0.1 -W 1 $SVC >"$LAB_OUT/ping-svc.txt" 2>&1 &
  p2=$!
  sleep 1
  "$@"
  sleep "$after"
  kill -INT $p1 $p2
  wait $p1 $p2 || true
  local sent lost arrived
  sent=$(cat "$LAB_OUT/ping.txt" "$LAB_OUT/ping-svc.txt" | awk '/packets transmitted/ { n += $1 } END { print n }')
  lost=$(cat "$LAB_OUT/ping.txt" "$LAB_OUT/ping-svc.txt" | awk '/packets transmitted/ { n += $1 - $4 } END { print n }')
  arrived=$(($(pod_rx) - rx0))
  LOSS="$lost/$sent" TOPOD="$((sent > arrived ? sent - arrived : 0))/$sent"
  GAPS="pod: $(awk -f e2e/cluster/pinggaps.awk "$LAB_OUT/ping.txt"); service: $(awk -f e2e/cluster/pinggaps.awk "$LAB_OUT/ping-svc.txt")"
}
# bgp_events T0 NAME=LOG...: what times a restart in FRR's logs, from T0 on, as
# seconds from T0 (the logs' clock has whole seconds): sessions up and down,
# End-of-RIBs.
bgp_events() {
  local t0=${1%.*} f d t rest ts
  shift
  for f; do
    { grep -h -E 'ADJCHANGE|rcvd End-of-RIB' "${f#*=}" 2>/dev/null || true; } | while read -r d t rest; do
      ts=$(date -d "${d//\//-} $t" +%s) || continue
      if ((ts >= t0)); then
        printf '    %s +%d s: %s\n' "${f%%=*}" $((ts - t0)) "$(sed 's/^BGP: \[[A-Z0-9-]*\] //' <<<"$rest" | cut -c1-140)"
      fi
    done
  done
}
# pod_rx counts the ICMP echo requests the pod received (pings are all there is).
pod_rx() { ip netns exec pod awk '/^Icmp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i } else print $c }' /proc/net/snmp; }
# fault NAME SECONDS-AFTER ACTION...: one row of the restart table.
fault() {
  local name=$1
  shift
  pingloss "$@"
  echo "  $name: ping loss $LOSS (fabric to pod: $TOPOD missing)"
  echo "    lost, as seconds from the pings' start: $GAPS"
  [[ $LOSS == 0/* ]] || bgp_events "$T0" router=/run/frr/router/frr.log frr-k8s=/run/frr/frr-k8s.log leaf="$FABRIC_LEAF_LOG"
  figure "ping loss while $name (lost/sent; fabric to pod missing)" "$LOSS; $TOPOD" ""
}
sessions_established() { # every BGP session of the router
  local j
  j=$(vtysh -N router -c 'show bgp vrf all neighbors json')
  [[ $(grep -o '"bgpState":"[A-Za-z]*"' <<<"$j" | sort -u) == '"bgpState":"Established"' ]]
}
converged() { # after a fault: the leaf has the pod's route from node1, every session is up, HOST1 reaches both
  check 180 "$1: the leaf has the pod CIDR from node1 and HOST1 reaches the pod and the service" \
    sh -c "vtysh -N leaf -c 'show bgp l2vpn evpn route type prefix' | grep -A1 -F '[5]:[0]:[24]:[10.244.0.0]' | grep -q -w $VTEP &&
           ip netns exec host1 ping -c1 -W1 $POD && ip netns exec host1 ping -c1 -W1 $SVC"
  check 180 "$1: the router's sessions are all Established" sessions_established
}

restart_plumber() {
  kill $PLUMBER && wait $PLUMBER || true
  start_plumber "$logs/plumber-restarted.log"
  check 180 "the restarted plumber reconciled" grep -q '"reconciled"' "$logs/plumber-restarted.log"
}
fault "the plumber restarts" 2 restart_plumber
line=$(grep '"reconciled"' "$logs/plumber-restarted.log" | head -1)
writes=$(sed -n 's/.*"netlinkWrites":\([0-9]*\).*/\1/p' <<<"$line")
reloaded=$(sed -n 's/.*"reloaded":\([a-z]*\).*/\1/p' <<<"$line")
echo "  the restarted plumber: netlink writes $writes, FRR reloaded: $reloaded"
[[ $writes == 0 && $reloaded == false ]] || fail "a restarted plumber must make no netlink write and no reload"

# The router's FRR is killed and started again, as the router container's restart
# (or its crash) does; the restarted routes replace the kept ones some seconds after
# the sessions are back, so the pings go on for 10 s more.
restart_router_frr() {
  # What the router's data plane goes through, for the diagnostics.
  ip netns exec $ROUTER bridge -timestamp monitor fdb >"$logs/router-fdb-monitor.log" 2>&1 &
  local mon=$!
  ip netns exec $ROUTER ip -timestamp monitor route neigh nexthop >"$logs/router-route-monitor.log" 2>&1 &
  local mon2=$!
  build/frr-stop /run/frr/router
  start_router_frr
  converged "the restarted router"
  kill $mon $mon2
}
fault "the router's FRR is killed (SIGKILL, every daemon) and restarted" 10 restart_router_frr

# The router pod deleted and created again: its reloader sidecar too.
recreate_router_pod() {
  kill "$(cat /run/frr-k8s-evpn/reloader.pid)"
  build/frr-stop /run/frr/router
  start_router_frr
  serve_reloader
  converged "the recreated router pod"
}
fault "the router pod is deleted and created again" 10 recreate_router_pod

# FRR-K8s's FRR crashes and its container starts it again with the configuration
# its reloader keeps in frr.conf.
restart_frrk8s_frr() {
  kill -9 $(cat /run/frr/*.pid) 2>/dev/null || true
  frr_run /usr/lib/frr/frrinit.sh start >>"$logs/frr-k8s-frrinit.log" 2>&1
  check 180 "FRR-K8s's session with the router leg is Established again" \
    sh -c "vtysh -c 'show bgp vrf all neighbors 192.169.10.1 json' | grep -q '\"bgpState\":\"Established\"'"
  converged "after FRR-K8s's restart"
}
fault "FRR-K8s's FRR is killed and restarted" 10 restart_frrk8s_frr

# Someone deletes the host leg: the plumber notices (its device watch) and makes
# the veth again; FRR-K8s's session over it comes back.
delete_host_leg() {
  ip link del hs100
  check 60 "the plumber made the host leg again" ip link show hs100
  check 180 "FRR-K8s's session with the router leg is Established again" \
    sh -c "vtysh -c 'show bgp vrf all neighbors 192.169.10.1 json' | grep -q '\"bgpState\":\"Established\"'"
  converged "after the host leg was deleted"
}
fault "the host leg (hs100) is deleted by hand" 5 delete_host_leg

# Someone deletes the router's netns (ip netns del): FRR still runs in it, so it
# lives on unnamed with the NIC and every device; the plumber (its device watch)
# names it again, and nothing inside is touched.
netns_id() { stat -L -c %i /run/netns/$ROUTER; }
delete_router_netns() {
  local id
  id=$(netns_id)
  ip netns del $ROUTER
  check 60 "the plumber named the router netns again" test -e /run/netns/$ROUTER
  [[ $(netns_id) == "$id" ]] || fail "the name points to a new netns, not the one FRR and the NIC are in"
  echo "  the same netns (inode $id): $(ip -n $ROUTER -br link show eth1)"
  converged "after the router netns was deleted"
}
fault "the router netns (evpnrouter) is deleted by hand" 5 delete_router_netns
grep -q 'binding its name to it again' "$logs/plumber-restarted.log" || fail "the plumber did not log why it named the netns again"

# The node loses the API server for 60 s: nothing is torn down, and the programs
# carry on when it is back.
lose_api() {
  ip route add blackhole 10.0.2.2/32
  sleep 60
  ip route del blackhole 10.0.2.2/32
  check 180 "the API server is reachable again" kubectl get routernodestatus -n $NS $NODE
}
fault "the node cannot reach the API server for 60 s" 5 lose_api
check 120 "after the API outage, the node's status is Ready" \
  sh -c "kubectl get routernodestatus -n $NS $NODE -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"

say "11. The user deletes the L3VNI"
t_delete=$(now)
run kubectl delete l3vni red -n $NS
leaf_type5_gone() { ! vtysh -N leaf -c 'show bgp l2vpn evpn route type prefix' | grep -q -F '[5]:[0]:[24]:[10.244.0.0]'; }
check 180 "leaf: the type-5 route 10.244.0.0/24 is withdrawn" leaf_type5_gone
figure "kubectl delete to route withdrawn at the leaf" "$(elapsed "$t_delete")" s
check 180 "the FRRConfiguration is gone" sh -c "! kubectl get frrconfiguration -n $FRRNS evpn-$NS-red"
check 180 "the devices are gone: VRF red, br100, vx100 in the router, hs100 on the host" sh -c \
  "! ip -n $ROUTER link show red && ! ip -n $ROUTER link show br100 && ! ip -n $ROUTER link show vx100 && ! ip link show hs100"
check 10 "the underlay session with the leaf is still up" sh -c \
  "vtysh -N leaf -c 'show bgp neighbors 192.168.11.3 json' | grep -q '\"bgpState\":\"Established\"'"
check 5 "HOST1 no longer reaches the pod" sh -c "! ip netns exec host1 ping -c1 -W1 $POD"
say "The lab passed in $(elapsed "$t_boot") s"
