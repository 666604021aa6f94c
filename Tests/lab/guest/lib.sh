# Guest-side helpers for lab case scripts. Source it from a case:
#
#   source "$LAB_REPO/Tests/lab/guest/lib.sh"
#
# It turns on `set -Eeuo pipefail` and an ERR trap that names the failing
# command. Helpers never sleep a fixed time: they poll with a deadline.
# PFs are found by PCI vendor:device (8086:10c9, igb), never by netdev name.
# Everything here runs as root inside the lab VM only.

set -Eeuo pipefail
trap 'lab__on_err $? "$BASH_COMMAND" "${BASH_SOURCE[0]}" "$LINENO"' ERR

LAB_PF_ID=${LAB_PF_ID:-8086:10c9}        # Intel 82576 (igb)
LAB_VF_ID=${LAB_VF_ID:-8086:10ca}        # its VF (igbvf)
LAB_POLL=${LAB_POLL:-0.05}               # poll interval, seconds
LAB_WAIT=${LAB_WAIT:-30}                 # default deadline for lab helpers, seconds
LAB_PYTHON=${LAB_PYTHON:-/usr/bin/python3}
SYS_PCI=/sys/bus/pci/devices

lab__on_err() {
  echo "FAIL: command failed with status $1 at $3:$4: $2" >&2
}

# ------------------------------------------------------------------ messages

lab_log() { echo "[lab] $*"; }

# lab_fail MESSAGE...: print FAIL and end the case.
lab_fail() {
  trap - ERR
  echo "FAIL: $*" >&2
  exit 1
}

# ------------------------------------------------------------------ polling

# lab_wait_until TIMEOUT CMD [ARG...]: run CMD every $LAB_POLL s until it
# succeeds; return 1 (after saying what timed out) if TIMEOUT seconds pass.
lab_wait_until() {
  local timeout=$1; shift
  local deadline=$(( $(date +%s%N) + ${timeout%.*} * 1000000000 ))
  while true; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ "$(date +%s%N)" -ge "$deadline" ]; then
      echo "timeout: '$*' did not succeed within ${timeout} s" >&2
      return 1
    fi
    sleep "$LAB_POLL"
  done
}

# lab_now_ms: a monotonic-enough clock for measuring steps.
lab_now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ------------------------------------------------------------------ assertions
# Each prints what differed and ends the case with status 1.

# lab_assert_eq EXPECTED ACTUAL WHAT
lab_assert_eq() {
  [ "$1" == "$2" ] || lab_fail "$3: expected '$1', got '$2'"
  echo "ok: $3 = '$2'"
}

# lab_assert_ne UNEXPECTED ACTUAL WHAT
lab_assert_ne() {
  [ "$1" != "$2" ] || lab_fail "$3: expected anything but '$1'"
  echo "ok: $3 = '$2' (not '$1')"
}

# lab_assert_match REGEX ACTUAL WHAT (bash ERE)
lab_assert_match() {
  [[ "$2" =~ $1 ]] || lab_fail "$3: '$2' does not match /$1/"
  echo "ok: $3 = '$2' (matches /$1/)"
}

# lab_assert_exists PATH WHAT
lab_assert_exists() {
  [ -e "$1" ] || [ -L "$1" ] || lab_fail "$2: $1 does not exist"
  echo "ok: $2 exists ($1)"
}

# lab_assert_link PATH EXPECTED_BASENAME WHAT: PATH is a symlink whose target's
# last component is EXPECTED_BASENAME.
lab_assert_link() {
  [ -L "$1" ] || lab_fail "$3: $1 is not a symlink"
  lab_assert_eq "$2" "$(basename "$(readlink "$1")")" "$3"
}

# lab_assert_ok WHAT CMD [ARG...]: CMD succeeds; on failure print its output.
lab_assert_ok() {
  local what=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" = 0 ] || lab_fail "$what: '$*' exited $rc; output:
$out"
  echo "ok: $what"
}

# lab_assert_fails WHAT CMD [ARG...]: CMD fails.
lab_assert_fails() {
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then lab_fail "$what: '$*' succeeded but should fail"; fi
  echo "ok: $what (fails as expected)"
}

# ------------------------------------------------------------------ JSON

# lab_json EXPR < JSON: print the Python expression EXPR evaluated with `d` =
# the parsed JSON (booleans print as true/false, None as null, lists/dicts as JSON).
lab_json() {
  "$LAB_PYTHON" -S -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1], {"d": d})
if isinstance(v, bool) or v is None or isinstance(v, (list, dict)):
    print(json.dumps(v))
else:
    print(v)
' "$1"
}

# ------------------------------------------------------------------ PCI / SR-IOV

# lab_pfs: PCI addresses of all igb PFs (vendor:device $LAB_PF_ID), sorted.
lab_pfs() {
  local d vendor device
  for d in "$SYS_PCI"/*; do
    [ -f "$d/vendor" ] || continue
    # VFs have a physfn link; a PF does not.
    [ -e "$d/physfn" ] && continue
    read -r vendor <"$d/vendor"; read -r device <"$d/device"   # builtins: no fork under TCG
    if [ "${vendor#0x}:${device#0x}" = "$LAB_PF_ID" ]; then basename "$d"; fi
  done | sort
}

# lab_pf [N]: the Nth PF's PCI address (default the first); fails if absent.
lab_pf() {
  local n=${1:-0} pf
  pf=$(lab_pfs | sed -n "$((n + 1))p")
  [ -n "$pf" ] || lab_fail "no igb PF #$n ($LAB_PF_ID) in $SYS_PCI"
  echo "$pf"
}

# lab__pci PCI_OR_NETDEV: a PCI address, given one or a netdev name.
lab__pci() {
  if [ -e "$SYS_PCI/$1" ]; then echo "$1"; return; fi
  [ -e "/sys/class/net/$1/device" ] || lab_fail "'$1' is neither a PCI address nor a netdev with a device"
  basename "$(readlink -f "/sys/class/net/$1/device")"
}

# lab_pci_netdev PCI: the netdev name of a PCI function (in the current netns).
lab_pci_netdev() {
  local d
  for d in "$SYS_PCI/$1/net"/*; do
    if [ -e "$d" ]; then basename "$d"; return 0; fi
  done
  echo "no netdev under $SYS_PCI/$1/net" >&2
  return 1
}

# lab_pf_netdev PF: the PF's netdev name.
lab_pf_netdev() { lab_pci_netdev "$(lab__pci "$1")"; }

# lab_vf_pci PF INDEX: the PCI address of VF INDEX (from virtfnINDEX).
lab_vf_pci() {
  local pf; pf=$(lab__pci "$1")
  [ -L "$SYS_PCI/$pf/virtfn$2" ] || { echo "no $SYS_PCI/$pf/virtfn$2" >&2; return 1; }
  basename "$(readlink "$SYS_PCI/$pf/virtfn$2")"
}

# lab_vf_netdev PF INDEX: the netdev name of VF INDEX (must be in this netns).
lab_vf_netdev() { lab_pci_netdev "$(lab_vf_pci "$1" "$2")"; }

lab__vf_netdevs_ready() {
  local pf=$1 n=$2 i
  for ((i = 0; i < n; i++)); do
    compgen -G "$SYS_PCI/$pf/virtfn$i/net/*" >/dev/null || return 1
  done
}

# lab_enable_vfs N [PF]: bring the PF up, set sriov_numvfs to N (through 0 if
# another count is set) and wait until N VF netdevs exist.
lab_enable_vfs() {
  local n=$1 pf; pf=$(lab__pci "${2:-$(lab_pf)}")
  local pfdev; pfdev=$(lab_pci_netdev "$pf")
  # igbvf needs the PF up, or it comes up with a random MAC and "PF still in reset".
  ip link set "$pfdev" up
  local cur; cur=$(<"$SYS_PCI/$pf/sriov_numvfs")
  if [ "$cur" != "$n" ]; then
    if [ "$cur" != 0 ]; then echo 0 >"$SYS_PCI/$pf/sriov_numvfs"; fi
    echo "$n" >"$SYS_PCI/$pf/sriov_numvfs"
  fi
  lab_wait_until "$LAB_WAIT" lab__vf_netdevs_ready "$pf" "$n" \
    || lab_fail "sriov_numvfs=$n on $pf: the $n VF netdevs did not appear within $LAB_WAIT s"
  # The kernel names them ethN; udev renames them (enp1s0vN) a moment later.
  # Wait for udev so callers see the final names.
  udevadm settle --timeout="$LAB_WAIT" \
    || lab_fail "udevadm settle did not finish within $LAB_WAIT s after sriov_numvfs=$n"
}

# lab_disable_vfs [PF]: sriov_numvfs=0 and wait until the VFs are gone.
lab_disable_vfs() {
  local pf; pf=$(lab__pci "${1:-$(lab_pf)}")
  [ "$(<"$SYS_PCI/$pf/sriov_numvfs")" = 0 ] && return 0
  echo 0 >"$SYS_PCI/$pf/sriov_numvfs"
  lab_wait_until "$LAB_WAIT" eval "! compgen -G '$SYS_PCI/$pf/virtfn*' >/dev/null" \
    || lab_fail "sriov_numvfs=0 on $pf: the VFs did not go away within $LAB_WAIT s"
}

# lab_vf_info PF INDEX EXPR: a Python expression on `v`, VF INDEX's entry of
# vfinfo_list in `ip -j -d link show PF`, e.g. 'v["address"]', 'v["trust"]',
# 'v["rate"]["max_tx"]' (booleans print as true/false, None as null).
lab_vf_info() {
  local pfdev; pfdev=$(lab_pf_netdev "$1")
  ip -j -d link show dev "$pfdev" \
    | lab_json "(lambda v: $3)([v for v in d[0]['vfinfo_list'] if v['vf'] == $2][0])"
}

# lab_vf_get PF INDEX: read VF INDEX's settings through the PF (one
# `ip -j -d link show`) into the associative array LAB_VF: address, vlan, qos
# (0 when no VLAN), spoofchk, trust (true/false), max_tx_rate, min_tx_rate
# (Mbps), link_state.
declare -gA LAB_VF=()
lab_vf_get() {
  local pfdev; pfdev=$(lab_pf_netdev "$1")
  local json; json=$(ip -j -d link show dev "$pfdev")
  local text
  text=$("$LAB_PYTHON" -S -c '
import json, sys
vf = [v for v in json.loads(sys.argv[1])[0]["vfinfo_list"] if v["vf"] == int(sys.argv[2])][0]
vlan = (vf.get("vlan_list") or [{}])[0]
b = lambda x: "true" if x else "false"
for k, x in (("address", vf["address"]), ("vlan", vlan.get("vlan", 0)), ("qos", vlan.get("qos", 0)),
             ("spoofchk", b(vf["spoofchk"])), ("trust", b(vf["trust"])),
             ("max_tx_rate", vf["rate"]["max_tx"]), ("min_tx_rate", vf["rate"]["min_tx"]),
             ("link_state", vf.get("link_state", ""))):
    print(f"{k}\t{x}")
' "$json" "$2") || lab_fail "no VF $2 in 'ip -j -d link show $pfdev'"
  LAB_VF=()
  local k v
  while IFS=$'\t' read -r k v; do LAB_VF[$k]=$v; done <<<"$text"
}

# lab_set_vf_mac PF INDEX MAC: set the VF's MAC through the PF (ip link set PF
# vf N mac) and also the VF netdev's own address (when the VF netdev is in this
# netns), since igbvf only picks the PF-set MAC up when it is re-bound.
# Order matters: once the PF has set a VF's MAC, igb refuses the VF's own
# change (EADDRNOTAVAIL) unless the VF is trusted, so the VF's own address is
# set first; if that is refused (the PF set a MAC before), it is set again with
# trust on for the moment, then trust is put back.
lab_set_vf_mac() {
  local pf; pf=$(lab__pci "$1")
  local pfdev; pfdev=$(lab_pci_netdev "$pf")
  local vfdev="" own_ok=1
  if vfdev=$(lab_vf_netdev "$pf" "$2" 2>/dev/null); then
    ip link set dev "$vfdev" address "$3" 2>/dev/null || own_ok=0
  fi
  ip link set dev "$pfdev" vf "$2" mac "$3"
  if [ -n "$vfdev" ] && [ "$own_ok" = 0 ]; then
    lab_vf_get "$pf" "$2"
    local trust=${LAB_VF[trust]}
    ip link set dev "$pfdev" vf "$2" trust on
    ip link set dev "$vfdev" address "$3"
    [ "$trust" = true ] || ip link set dev "$pfdev" vf "$2" trust off
  fi
}

# ------------------------------------------------------------------ RDMA (rxe)

# lab_rxe_add NAME NETDEV: an rxe device NAME on NETDEV; waits for it in sysfs.
lab_rxe_add() {
  modprobe rdma_rxe
  rdma link add "$1" type rxe netdev "$2"
  lab_wait_until "$LAB_WAIT" test -e "/sys/class/infiniband/$1/ports/1/gids/0" \
    || lab_fail "rxe $1 on $2 did not appear within $LAB_WAIT s"
}

# lab_rxe_gid NAME INDEX: the GID at INDEX of port 1.
lab_rxe_gid() { cat "/sys/class/infiniband/$1/ports/1/gids/$2"; }

# lab_rxe_wait_ipv4_gid NAME INDEX: wait until GID INDEX is an IPv4-mapped GID
# (::ffff:a.b.c.d), i.e. the netdev's IPv4 address has been picked up.
lab_rxe_wait_ipv4_gid() {
  lab_wait_until "$LAB_WAIT" eval "grep -q '^0000:0000:0000:0000:0000:ffff:' /sys/class/infiniband/$1/ports/1/gids/$2" \
    || lab_fail "rxe $1: GID $2 is not an IPv4 GID after $LAB_WAIT s: $(lab_rxe_gid "$1" "$2")"
}

# lab_rxe_wait_ready NAME: port 1 of rxe NAME has its RoCE v2 IPv4 GID at index 1
# (its netdev's address) and is ACTIVE (the netdev has carrier).
lab_rxe_wait_ready() {
  lab_rxe_wait_ipv4_gid "$1" 1
  lab_wait_until 30 eval "rdma link show $1/1 | grep -q 'state ACTIVE'" || lab_fail "$1 not ACTIVE: $(rdma link show "$1"/1)"
}

# lab_rxe_pair PF INDEX_A INDEX_B MAC_A MAC_B IP_A IP_B: VFs INDEX_A and INDEX_B
# of PF (already enabled) get MAC_A/MAC_B (through the PF and on the netdev),
# IP_A/IP_B (/24) and link up; traffic between them crosses the igb switch
# (lab_wire_pair); rxe0 on VF INDEX_A and rxe1 on VF INDEX_B, both ACTIVE with
# their RoCE v2 IPv4 GID at index 1. Sets LAB_RXE_DEV0 and LAB_RXE_DEV1 (netdevs).
lab_rxe_pair() {
  local pf=$1 dev0 dev1
  dev0=$(lab_vf_netdev "$pf" "$2"); dev1=$(lab_vf_netdev "$pf" "$3")
  lab_set_vf_mac "$pf" "$2" "$4"
  lab_set_vf_mac "$pf" "$3" "$5"
  ip addr add "$6/24" dev "$dev0"
  ip addr add "$7/24" dev "$dev1"
  ip link set dev "$dev0" up
  ip link set dev "$dev1" up
  lab_wire_pair "$dev0" "$6" "$dev1" "$7"
  lab_rxe_add rxe0 "$dev0"
  lab_rxe_add rxe1 "$dev1"
  lab_rxe_wait_ready rxe0
  lab_rxe_wait_ready rxe1
  LAB_RXE_DEV0=$dev0 LAB_RXE_DEV1=$dev1
}

# lab_rxe_del_all: delete every rxe link.
lab_rxe_del_all() {
  local d
  [ -d /sys/class/infiniband ] || return 0
  for d in /sys/class/infiniband/*; do
    [ -e "$d" ] || continue
    rdma link delete "$(basename "$d")" || true
  done
  lab_wait_until "$LAB_WAIT" eval '! compgen -G "/sys/class/infiniband/*" >/dev/null' \
    || lab_fail "rxe devices still present after $LAB_WAIT s: $(ls /sys/class/infiniband)"
}

# lab_tcp_listening PORT [NETNS]: something listens on TCP PORT.
lab_tcp_listening() {
  local ns=()
  [ -n "${2:-}" ] && ns=(ip netns exec "$2")
  "${ns[@]}" ss -Htln "sport = :$1" | grep -q .
}

# ------------------------------------------------------------------ one-netns wiring

LAB_STATE=${LAB_STATE:-/run/lab}

# lab__sysctl_set KEY VALUE: set a sysctl, remembering the first value seen so
# lab_reset can put it back.
lab__sysctl_set() {
  mkdir -p "$LAB_STATE"
  if ! grep -q "^$1=" "$LAB_STATE/sysctl.orig" 2>/dev/null; then
    echo "$1=$(sysctl -n "$1")" >>"$LAB_STATE/sysctl.orig"
  fi
  sysctl -qw "$1=$2"
}

# lab_wire_pair DEV_A IP_A DEV_B IP_B: make traffic between two local
# addresses on two netdevs of the initial netns (e.g. two VFs, each with an
# address of one /24) leave through the devices and cross the wire (the igb
# internal switch) instead of the loopback. Needed for rxe between two VFs in
# one netns: rxe only receives on the netdev it is bound to.
#  - per-source tables used only for locally generated traffic (iif lo):
#    from IP_A to IP_B via DEV_A, from IP_B to IP_A via DEV_B;
#  - the local table's rule moved after them (pref 0 -> 1000);
#  - accept_local and rp_filter=0 on the devices (the peer's address is local);
#  - arp_ignore=1 / arp_announce=2 so only the owning device answers ARP.
# lab_reset undoes all of it.
lab_wire_pair() {
  local da=$1 ia=$2 db=$3 ib=$4 d
  lab__sysctl_set net.ipv4.conf.all.arp_ignore 1
  lab__sysctl_set net.ipv4.conf.all.arp_announce 2
  lab__sysctl_set net.ipv4.conf.all.rp_filter 0
  for d in "$da" "$db"; do
    sysctl -qw "net.ipv4.conf.$d.accept_local=1" "net.ipv4.conf.$d.rp_filter=0"
  done
  ip route replace "$ib/32" dev "$da" src "$ia" table 101
  ip route replace "$ia/32" dev "$db" src "$ib" table 102
  ip rule add pref 100 iif lo from "$ia" lookup 101
  ip rule add pref 101 iif lo from "$ib" lookup 102
  if ! ip rule show pref 1000 | grep -q 'lookup local'; then
    ip rule add pref 1000 lookup local
  fi
  ip rule del pref 0 lookup local 2>/dev/null || true
  ip route flush cache
  mkdir -p "$LAB_STATE"
  : >"$LAB_STATE/wired"
}

lab__unwire() {
  local p kv
  [ -e "$LAB_STATE/wired" ] || return 0
  if ! ip rule show pref 0 | grep -q 'lookup local'; then ip rule add pref 0 lookup local; fi
  while ip rule show pref 1000 | grep -q 'lookup local'; do ip rule del pref 1000 lookup local; done
  for p in 100 101; do
    while ip rule show pref "$p" | grep -q .; do ip rule del pref "$p"; done
  done
  ip route flush table 101 2>/dev/null || true
  ip route flush table 102 2>/dev/null || true
  if [ -f "$LAB_STATE/sysctl.orig" ]; then
    while read -r kv; do sysctl -qw "$kv" || true; done <"$LAB_STATE/sysctl.orig"
    rm -f "$LAB_STATE/sysctl.orig"
  fi
  rm -f "$LAB_STATE/wired"
}

# ------------------------------------------------------------------ pods (netns)

# lab_pod_create NAME: a network namespace with lo up.
lab_pod_create() {
  ip netns add "$1"
  ip -n "$1" link set lo up
}

# lab_pod_exec NAME CMD [ARG...]
lab_pod_exec() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# lab_pod_destroy NAME: kill its processes, move its physical netdevs back to
# the initial netns, delete it.
lab_pod_destroy() {
  local ns=$1 pid dev
  [ -e "/run/netns/$ns" ] || return 0
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  for dev in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
    [ "$dev" = lo ] && continue
    # Only netdevs with a device (VFs) go back; virtual ones die with the netns.
    if ip netns exec "$ns" test -e "/sys/class/net/$dev/device"; then
      ip -n "$ns" link set dev "$dev" down || true
      ip -n "$ns" link set dev "$dev" netns 1 || true
    fi
  done
  ip netns delete "$ns"
}

# ------------------------------------------------------------------ reset

# lab_reset: back to a clean guest: no rxe links, no pods, no VFs, PFs down
# without addresses, RDMA netns mode shared, no lab_wire_pair routing.
lab_reset() {
  local ns pf pfdev
  lab_rxe_del_all
  for ns in $(ip netns list | awk '{print $1}'); do lab_pod_destroy "$ns"; done
  rdma system set netns shared >/dev/null 2>&1 || true
  lab__unwire
  for pf in $(lab_pfs); do
    lab_disable_vfs "$pf"
    if pfdev=$(lab_pci_netdev "$pf" 2>/dev/null); then
      ip addr flush dev "$pfdev"
      ip link set dev "$pfdev" down
    fi
  done
}
