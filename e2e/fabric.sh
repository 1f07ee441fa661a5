# The labs' fabric, outside the cluster: a leaf (AS 64612, VTEP 100.64.0.1, VRF red
# with VNI 100, FRR) cabled to node1's eth1, and HOST1 (192.168.10.1) behind it in
# VRF red. Sourced by both labs' guests (e2e/lab/guest.sh, e2e/cluster/guest.sh) in
# the VM, as root; the leaf runs the project's pinned FRR from its root filesystem.
#
#   fabric_up NODE_ADDR LOGDIR [CABLE NODE2_ADDR]: builds it; NODE_ADDR is eth1's
#   address on node1 (192.168.11.0/24, the leaf is .2), which the Underlay's neighbor
#   points at. CABLE is a NIC of this guest cabled to node2's eth1 (another guest),
#   whose address is NODE2_ADDR: the leaf bridges it with node1's link, a shared
#   segment as a leaf's VLAN to its servers.

FABRIC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FABRIC_FRR=${EVPN_FRR:-$FABRIC_DIR/../.cache/frr/$(cat "$FABRIC_DIR/../build/frr/version")}
FABRIC_ETC=$FABRIC_FRR/rootfs/etc/frr
FABRIC_LEAF_LOG=/run/frr/leaf/frr.log # the leaf's FRR log, in its run folder
FABRIC_FRR_OWNER=$(awk -F: '$1 == "frr" { print $3 ":" $4 }' "$FABRIC_FRR/rootfs/etc/passwd")

start_frr() { # pathspace netns config-file logdir: FRR started by its init script, as in its image
  local n=$1 netns=$2
  mkdir -p "$FABRIC_ETC/$n" /run/frr/$n
  cp "$3" "$FABRIC_ETC/$n/frr.conf"
  sed 's/ -K[0-9]*//' "$FABRIC_DIR/../build/frr/daemons" >"$FABRIC_ETC/$n/daemons" # the router's, without its restart mode
  printf 'service integrated-vtysh-config\n' >"$FABRIC_ETC/$n/vtysh.conf"
  chown -R "$FABRIC_FRR_OWNER" "$FABRIC_ETC/$n" /run/frr/$n
  ip netns exec "$netns" "$FABRIC_FRR/bin/run" /usr/lib/frr/frrinit.sh start "$n" >>"$4/$n-frrinit.log" 2>&1
}

fabric_up() { # node-address logdir [cable node2-address]
  local node=$1 logs=$2 cable=${3:-} node2=${4:-}
  mkdir -p "$logs"
  ip netns add leaf && ip netns add host1
  ip -n leaf link set lo up && ip -n leaf addr add 100.64.0.1/32 dev lo
  ip netns exec leaf sysctl -qw net.ipv4.ip_forward=1
  ip link add eth1 type veth peer name swp1 netns leaf # node1's NIC, cabled to the leaf
  ip addr add "$node/24" dev eth1 && ip link set eth1 up
  ip -n leaf link add fabric type bridge && ip -n leaf link set fabric up
  ip -n leaf link set swp1 master fabric && ip -n leaf link set swp1 up
  if [[ -n $cable ]]; then
    ip link set "$cable" netns leaf && ip -n leaf link set "$cable" name swp3
    ip -n leaf link set swp3 master fabric && ip -n leaf link set swp3 up
  fi
  ip -n leaf addr add 192.168.11.2/24 dev fabric
  ip -n leaf link add red type vrf table 100 && ip -n leaf link set red up
  ip -n leaf link add br100 type bridge && ip -n leaf link set br100 master red addrgenmode none
  ip -n leaf link add vx100 type vxlan id 100 local 100.64.0.1 dstport 4789 nolearning
  ip -n leaf link set vx100 master br100 addrgenmode none
  ip -n leaf link set vx100 up && ip -n leaf link set br100 up
  ip -n leaf link add swp2 type veth peer name eth0 netns host1
  ip -n leaf link set swp2 master red && ip -n leaf addr add 192.168.10.254/24 dev swp2 && ip -n leaf link set swp2 up
  ip -n host1 link set lo up && ip -n host1 addr add 192.168.10.1/24 dev eth0 && ip -n host1 link set eth0 up
  ip -n host1 route add default via 192.168.10.254
  cat >"$logs/leaf.conf" <<CONF
frr defaults datacenter
hostname leaf
log file $FABRIC_LEAF_LOG informational
vrf red
 vni 100
exit-vrf
router bgp 64612
 bgp router-id 100.64.0.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor nodes peer-group
 neighbor nodes remote-as 64512
 neighbor $node peer-group nodes
${node2:+ neighbor $node2 peer-group nodes}
 address-family ipv4 unicast
  neighbor nodes activate
  network 100.64.0.1/32
 exit-address-family
 address-family l2vpn evpn
  neighbor nodes activate
  advertise-all-vni
 exit-address-family
router bgp 64612 vrf red
 bgp router-id 100.64.0.1
 no bgp ebgp-requires-policy
 address-family ipv4 unicast
  redistribute connected
 exit-address-family
 address-family l2vpn evpn
  advertise ipv4 unicast
 exit-address-family
CONF
  start_frr leaf leaf "$logs/leaf.conf" "$logs"
  # FRR runs in its root, which sees this machine's /run but not the log folder
  # (FRR said "Can't open log file" for a path there): its log is followed into it.
  tail -n +1 -F "$FABRIC_LEAF_LOG" >"$logs/leaf-frr.log" 2>/dev/null &
}
