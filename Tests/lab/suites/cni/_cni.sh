# Helpers for the cni suite: call sriov-rdma-cni as a runtime does, build its
# config, and capture a VF's whole state (through the PF and on its netdev) so a
# case can compare before and after.
source "$LAB_REPO/Tests/lab/guest/lib.sh"

CNI_BIN="$LAB_BIN_DIR/sriov-rdma-cni"
[ -x "$CNI_BIN" ] || lab_fail "$CNI_BIN is missing: swift build -c release --static-swift-stdlib"
CNI_WORK=/run/cni-lab
CNI_STATE="$CNI_WORK/state"
CNI_IPAM="$CNI_WORK/ipam"
rm -rf "$CNI_WORK"
mkdir -p "$CNI_WORK"

# cni_conf DEVICE_ID [JSON_FIELDS]: a 1.0.0 network config with host-local on
# 10.56.0.0/24; JSON_FIELDS (e.g. '"vlan":100,"mac":"02:..."') are added.
cni_conf() {
  local extra=${2:+,$2}
  echo "{\"cniVersion\":\"1.0.0\",\"name\":\"lab-sriov\",\"type\":\"sriov-rdma\",\"deviceID\":\"$1\",\"stateDir\":\"$CNI_STATE\",\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.56.0.0/24\",\"dataDir\":\"$CNI_IPAM\"}$extra}"
}

# cni COMMAND CONTAINER_ID IFNAME NETNS_PATH CONFIG: sets CNI_STATUS and CNI_STDOUT;
# the plugin's stderr goes to the case log.
cni() {
  local out status=0
  # In an || list a failure is an outcome to look at, not an error for the ERR trap.
  out=$(printf '%s' "$5" | env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_IFNAME="$3" CNI_NETNS="$4" \
        CNI_PATH=/usr/lib/cni "$CNI_BIN") || status=$?
  CNI_STATUS=$status
  CNI_STDOUT=$out
  lab_log "cni $1 $2 $3 -> status $CNI_STATUS"
}

# cni_ok COMMAND ...: cni, and the call must succeed.
cni_ok() {
  cni "$@"
  [ "$CNI_STATUS" = 0 ] || lab_fail "cni $1 $2 $3 failed ($CNI_STATUS): $CNI_STDOUT"
}

# cni_json EXPR: a Python expression on d, the last call's stdout.
cni_json() { printf '%s' "$CNI_STDOUT" | lab_json "$1"; }

# cni_vf_state PF INDEX: one line with everything the plugin may touch on VF INDEX:
# its entry in the PF's VF table and its netdev in the initial netns (name, MAC,
# MTU, up, alias, altnames).
cni_vf_state() {
  local pfdev; pfdev=$(lab_pf_netdev "$1")
  local vf; vf=$(lab_vf_pci "$1" "$2")
  local dev=""; dev=$(lab_pci_netdev "$vf" 2>/dev/null) || dev=""
  local link='[]'
  [ -n "$dev" ] && link=$(ip -j -d link show dev "$dev")
  "$LAB_PYTHON" -S -c '
import json, sys
vf = [v for v in json.loads(sys.argv[1])[0]["vfinfo_list"] if v["vf"] == int(sys.argv[2])][0]
vf.pop("stats", None)
link = json.loads(sys.argv[3])
netdev = None
if link:
    l = link[0]
    netdev = {k: l.get(k) for k in ("ifname", "address", "mtu", "ifalias", "altnames")}
    netdev["up"] = "UP" in l.get("flags", [])
print(json.dumps({"vf": vf, "netdev": netdev}, sort_keys=True))
' "$(ip -j -d link show dev "$pfdev")" "$2" "$link"
}

# cni_ipam_ips: the addresses host-local holds for lab-sriov.
cni_ipam_ips() { ls "$CNI_IPAM/lab-sriov" 2>/dev/null | grep -E '^[0-9]' | sort | tr '\n' ' ' || true; }
