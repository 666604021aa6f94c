"""The lab demo, run by demo-guest.sh inside the lab VM after it has made 4 igb VFs
and rxe0/rxe1 on VFs 2 and 3.

It plays the parts of kubelet (the grpcio stand-in from Tests/interop), the
container runtime (network namespaces as pods) and Multus (device-info files and
CNI calls) around our three binaries, and prints a step-by-step account:
sriov-rdma-dp discovers the node and registers two pools, each pod is admitted
with one VF and a slot of the shared RDMA pool, sriov-rdma-cni puts each VF into
its pod with a VLAN, a MAC and host-local addresses, the pods ping each other,
rdma-lat measures send/write/read latency between the pods over rxe, and DEL
gives both VFs back exactly as they were. Every step checks what it claims; any
failure ends the demo with status 1.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

repo = os.environ["LAB_REPO"]
bin_dir = os.environ["LAB_BIN_DIR"]
sys.path.insert(0, os.path.join(repo, "Tests", "interop"))
from grpc_tools import protoc  # noqa: E402
from kubelet_standin import Kubelet, wait_for  # noqa: E402

PF, PF_NETDEV = os.environ["DEMO_PF"], os.environ["DEMO_PF_NETDEV"]
RDMA_NETDEVS = os.environ["DEMO_RDMA_NETDEVS"].split()
PREFIX = "lab.example.com"
VF_POOL, RDMA_POOL = f"{PREFIX}/igb_vf", f"{PREFIX}/rdma_shared"
PODS = ["pod-a", "pod-b"]
MACS = {"pod-a": "02:56:00:00:0a:0a", "pod-b": "02:56:00:00:0a:0b"}
VLAN = 100
LAT_TESTS = [("send", 2), ("write", 2), ("read", 2), ("send", 4096)]
LAT_ITERS = 200

started = time.monotonic()
work = tempfile.mkdtemp(prefix="sriov-rdma-demo-", dir="/run")
steps_total = 9
step_no = 0


def step(title):
    global step_no
    step_no += 1
    print(f"\n== {step_no}/{steps_total} {title}  [{time.monotonic() - started:5.1f} s]")


def say(text=""):
    for line in str(text).splitlines() or [""]:
        print(f"   {line}")


def fail(text):
    print(f"\nDEMO FAILED at step {step_no}: {text}", file=sys.stderr)
    sys.exit(1)


def run(argv, check=True, **kwargs):
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        fail(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def vf_table():
    """The PF's view of every VF: index -> (mac, vlan, spoofchk, trust)."""
    link = json.loads(run(["ip", "-j", "-d", "link", "show", "dev", PF_NETDEV]).stdout)[0]
    return {v["vf"]: (v["address"], (v.get("vlan_list") or [{}])[0].get("vlan", 0), v["spoofchk"], v["trust"])
            for v in link["vfinfo_list"]}


def vf_netdev(pci):
    """The VF's netdev in the initial netns: (name, mac, mtu), or None."""
    net = f"/sys/bus/pci/devices/{pci}/net"
    if not os.path.isdir(net) or not os.listdir(net):
        return None
    name = sorted(os.listdir(net))[0]
    link = json.loads(run(["ip", "-j", "link", "show", "dev", name]).stdout)[0]
    return name, link["address"], link["mtu"]


def vf_index(pci):
    for entry in os.listdir(f"/sys/bus/pci/devices/{PF}"):
        if entry.startswith("virtfn") and os.path.realpath(f"/sys/bus/pci/devices/{PF}/{entry}").endswith(pci):
            return int(entry[len("virtfn"):])
    fail(f"{pci} is not a VF of {PF}")


# ----------------------------------------------------------------------------- 1
step("the node: an Intel 82576 PF with 4 VFs, soft-RoCE on VFs 2 and 3")
for line in run(["lspci", "-nn", "-d", "8086:"]).stdout.splitlines():
    if "82576" in line:
        say(line)
say(run(["rdma", "link", "show"]).stdout.strip())

config = {"resourceList": [
    {"resourceName": "igb_vf", "resourcePrefix": PREFIX,
     "selectors": {"vendors": ["8086"], "devices": ["10ca"], "drivers": ["igbvf"], "pfNames": [f"{PF_NETDEV}#0-1"]}},
    {"resourceName": "rdma_shared", "resourcePrefix": PREFIX, "deviceType": "rdmaShared", "rdmaHcaMax": 8,
     "selectors": {"ifNames": RDMA_NETDEVS}},
]}
config_path = os.path.join(work, "config.json")
with open(config_path, "w") as f:
    json.dump(config, f, indent=2)

# ----------------------------------------------------------------------------- 2
step("sriov-rdma-dp discover: what the daemon sees and where each device lands")
say(f"config ({config_path}):")
say('{"resourceList": [\n' + ",\n".join("  " + json.dumps(pool) for pool in config["resourceList"]) + "\n]}")
discover = run([f"{bin_dir}/sriov-rdma-dp", "discover", "--config", config_path])
say(discover.stdout.rstrip())
report = json.loads(run([f"{bin_dir}/sriov-rdma-dp", "discover", "--config", config_path, "--json"]).stdout)

# ----------------------------------------------------------------------------- 3
step("sriov-rdma-dp run: one gRPC server per pool, registered with kubelet")
proto_dir = os.path.join(work, "proto")
os.makedirs(proto_dir)
shutil.copy(os.path.join(repo, "Tests/interop/deviceplugin-v1beta1.proto"), os.path.join(proto_dir, "api.proto"))
if protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={proto_dir}", f"--grpc_python_out={proto_dir}",
                os.path.join(proto_dir, "api.proto")]) != 0:
    fail("protoc could not compile the device-plugin proto")
sys.path.insert(0, proto_dir)
import api_pb2, api_pb2_grpc  # noqa: E402

kubelet_dir = os.path.join(work, "device-plugins")
state_dir = os.path.join(work, "state")
os.makedirs(kubelet_dir)
kubelet = Kubelet((api_pb2, api_pb2_grpc), kubelet_dir)
kubelet.start()
dp_log = open(os.path.join(os.environ.get("LAB_OUT", work), "demo-dp.log"), "w")
dp = subprocess.Popen([f"{bin_dir}/sriov-rdma-dp", "run", "--config", config_path, "--kubelet-dir", kubelet_dir,
                       "--state-dir", state_dir, "--log-level", "info"], stdout=dp_log, stderr=subprocess.STDOUT)


def cleanup():
    if dp.poll() is None:
        dp.send_signal(signal.SIGTERM)
        try:
            dp.wait(timeout=10)
        except subprocess.TimeoutExpired:
            dp.kill()
    kubelet.stop()


try:
    t0 = time.monotonic()
    resources = {}
    for name in (VF_POOL, RDMA_POOL):
        resources[name] = wait_for(lambda: (kubelet.resources.get(name)
                                            if kubelet.resources.get(name) and kubelet.resources[name].latest else None),
                                   timeout=30, what=f"{name} registered and listed")
    say(f"both pools registered and streaming {time.monotonic() - t0:.2f} s after start")
    for name, resource in resources.items():
        wait_for(lambda: set(resource.health().values()) == {"Healthy"}, timeout=30, what=f"{name} healthy")
        devices = sorted(resource.latest.devices, key=lambda d: d.ID)
        say(f"{name}  (socket {resource.endpoint}, preferred allocation "
            f"{'on' if resource.options.get_preferred_allocation_available else 'off'})")
        for d in devices:
            numa = ",".join(str(n.ID) for n in d.topology.nodes) if d.HasField("topology") else "-"
            say(f"    {d.ID:14} {d.health:9} numa {numa}")
    vfs = sorted(d.ID for d in resources[VF_POOL].latest.devices)
    if len(vfs) != 2:
        fail(f"expected VFs 0 and 1 in {VF_POOL} (pfNames {PF_NETDEV}#0-1), got {vfs}")
    if len(resources[RDMA_POOL].latest.devices) != 8:
        fail(f"expected 8 slots in {RDMA_POOL}, got {len(resources[RDMA_POOL].latest.devices)}")
    health = run([f"{bin_dir}/sriov-rdma-dp", "health", "--state-dir", state_dir])
    say(f"sriov-rdma-dp health: exit {health.returncode}: {health.stdout.strip()}")

    # ------------------------------------------------------------------------- 4
    step("kubelet admits two pods: one VF and one shared RDMA slot each")
    before = {pci: (vf_table()[vf_index(pci)], vf_netdev(pci)) for pci in vfs}
    available = list(vfs)
    allocations = {}
    rdma_slots = [d.ID for d in resources[RDMA_POOL].latest.devices]
    for pod in PODS:
        vf_stub = resources[VF_POOL].stub
        preferred = vf_stub.GetPreferredAllocation(api_pb2.PreferredAllocationRequest(container_requests=[
            api_pb2.ContainerPreferredAllocationRequest(available_deviceIDs=available, allocation_size=1)]), timeout=10)
        chosen = list(preferred.container_responses[0].deviceIDs)
        available = [v for v in available if v not in chosen]
        response = vf_stub.Allocate(api_pb2.AllocateRequest(container_requests=[
            api_pb2.ContainerAllocateRequest(devices_ids=chosen)]), timeout=10).container_responses[0]
        slot = rdma_slots.pop(0)
        rdma_response = resources[RDMA_POOL].stub.Allocate(api_pb2.AllocateRequest(container_requests=[
            api_pb2.ContainerAllocateRequest(devices_ids=[slot])]), timeout=10).container_responses[0]
        envs = dict(response.envs)
        envs.update(rdma_response.envs)
        allocations[pod] = chosen[0]
        say(f"{pod}: GetPreferredAllocation -> {chosen}; Allocate {VF_POOL} {chosen[0]} and {RDMA_POOL} slot {slot}")
        for key in sorted(envs):
            say(f"    env {key}={envs[key]}")
        for spec in list(response.devices) + list(rdma_response.devices):
            say(f"    device {spec.host_path} -> {spec.container_path} ({spec.permissions})")
        uverbs = {s.host_path for s in rdma_response.devices}
        verbs_class = "/sys/class/infiniband_verbs"
        nodes = {open(f"{verbs_class}/{entry}/ibdev").read().strip(): f"/dev/infiniband/{entry}"
                 for entry in os.listdir(verbs_class) if os.path.exists(f"{verbs_class}/{entry}/ibdev")}
        for rdma in ("rxe0", "rxe1"):
            if nodes.get(rdma) not in uverbs:
                fail(f"the shared RDMA slot does not give {rdma}'s {nodes.get(rdma)}: {sorted(uverbs)}")
        key = "PCIDEVICE_" + PREFIX.upper().replace(".", "_") + "_IGB_VF"
        if envs.get(key) != chosen[0]:
            fail(f"{key} is {envs.get(key)!r}, expected {chosen[0]}")
        run(["ip", "netns", "add", pod])
        run(["ip", "-n", pod, "link", "set", "lo", "up"])
    if sorted(allocations.values()) != vfs:
        fail(f"the pods did not get one VF each: {allocations}")

    # ------------------------------------------------------------------------- 5
    step(f"sriov-rdma-cni ADD: each VF into its pod with VLAN {VLAN}, a MAC and host-local IPAM")
    cni_state, ipam_dir = os.path.join(work, "cni-state"), os.path.join(work, "ipam")

    def netconf(pod):
        info = os.path.join(state_dir, "k8s.cni.cncf.io/devinfo/dp",
                            f"{VF_POOL.replace('/', '-')}-{allocations[pod]}-device.json")
        if not os.path.exists(info):
            fail(f"the daemon wrote no device-info file for {allocations[pod]} ({info})")
        # What Multus hands a delegate: the NAD's config, plus the device-info file
        # of the device kubelet allocated for the NAD's resourceName.
        return {"cniVersion": "1.0.0", "name": "sriov-vlan100", "type": "sriov-rdma", "vlan": VLAN,
                "mac": MACS[pod], "spoofchk": "on", "trust": "off", "stateDir": cni_state,
                "ipam": {"type": "host-local", "subnet": "10.56.0.0/24", "dataDir": ipam_dir},
                "runtimeConfig": {"CNIDeviceInfoFile": info}}

    def cni(command, pod, prev=None):
        conf = netconf(pod)
        if prev is not None:
            conf["prevResult"] = prev
        env = {"PATH": os.environ["PATH"], "CNI_COMMAND": command, "CNI_CONTAINERID": f"demo-{pod}",
               "CNI_IFNAME": "net1", "CNI_NETNS": f"/run/netns/{pod}", "CNI_PATH": "/usr/lib/cni"}
        t = time.monotonic()
        done = subprocess.run([f"{bin_dir}/sriov-rdma-cni"], input=json.dumps(conf), capture_output=True,
                              text=True, env=env)
        if done.returncode != 0:
            fail(f"CNI {command} for {pod} exited {done.returncode}: {done.stdout}{done.stderr}")
        return (json.loads(done.stdout) if done.stdout.strip() else None), time.monotonic() - t

    ips = {}
    for pod in PODS:
        result, took = cni("ADD", pod)
        iface = result["interfaces"][0]
        ips[pod] = result["ips"][0]["address"].split("/")[0]
        say(f"{pod}: ADD in {took * 1000:.0f} ms -> {iface['name']} mac {iface['mac']} "
            f"pciID {iface.get('pciID', allocations[pod])} ip {result['ips'][0]['address']}")
        if iface["mac"] != MACS[pod]:
            fail(f"{pod}: result MAC {iface['mac']} is not {MACS[pod]}")
        _, took = cni("CHECK", pod, prev=result)
        say(f"{pod}: CHECK against the ADD result passed in {took * 1000:.0f} ms")
    table = vf_table()
    for pod in PODS:
        index = vf_index(allocations[pod])
        mac, vlan, spoofchk, trust = table[index]
        say(f"PF {PF_NETDEV} vf {index} ({allocations[pod]}, {pod}): mac {mac} vlan {vlan} spoofchk {spoofchk} trust {trust}")
        if (mac, vlan) != (MACS[pod], VLAN):
            fail(f"VF {index} through the PF: mac {mac} vlan {vlan}, expected {MACS[pod]} vlan {VLAN}")
        inside = json.loads(run(["ip", "-n", pod, "-j", "addr", "show", "dev", "net1"]).stdout)[0]
        say(f"    in {pod}: net1 {inside['operstate']} {inside['address']} "
            + " ".join(f"{a['local']}/{a['prefixlen']}" for a in inside["addr_info"] if a["family"] == "inet"))

    # ------------------------------------------------------------------------- 6
    step("the pods ping each other over their VFs (across the 82576's switch, VLAN 100)")
    for src, dst in (("pod-a", "pod-b"), ("pod-b", "pod-a")):
        out = run(["ip", "netns", "exec", src, "ping", "-n", "-c", "3", "-i", "0.2", "-w", "15", ips[dst]], check=False)
        summary = [line for line in out.stdout.splitlines() if "packets transmitted" in line or line.startswith("rtt")]
        say(f"{src} -> {dst} ({ips[dst]}): " + "; ".join(summary))
        if out.returncode != 0 or "3 received" not in out.stdout:
            fail(f"ping from {src} to {ips[dst]} failed:\n{out.stdout}{out.stderr}")

    # ------------------------------------------------------------------------- 7
    step(f"rdma-lat between the pods: rxe1 (server, pod-b) <- rxe0 (client, pod-a), {LAT_ITERS} iterations")
    say("the shared RDMA devices stay in the host netns; the side channel runs over the pods' VFs")
    rows = []
    for test, size in LAT_TESTS:
        server = subprocess.Popen(["ip", "netns", "exec", "pod-b", f"{bin_dir}/rdma-lat", test, "-d", "rxe1", "-s", str(size),
                                   "-n", str(LAT_ITERS), "--listen-timeout", "60"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # The client retries a refused connect until the server listens (its --timeout).
        client = run(["ip", "netns", "exec", "pod-a", f"{bin_dir}/rdma-lat", test, "-d", "rxe0", "-s", str(size),
                      "-n", str(LAT_ITERS), "--json", ips["pod-b"]], check=False, timeout=150)
        server_out, _ = server.communicate(timeout=60)
        if client.returncode != 0 or server.returncode != 0:
            fail(f"rdma-lat {test} {size} B: client exit {client.returncode}: {client.stdout}{client.stderr}\n"
                 f"server exit {server.returncode}: {server_out}")
        result = json.loads(client.stdout)
        row = result["results"][0]
        rows.append((test, size, row))
        say(f"{test:5} {size:5} B: t_typical {row['t_typical']:.2f} us, 99.9% {row['p99_9']:.2f} us")

    # ------------------------------------------------------------------------- 8
    step("sriov-rdma-cni DEL: both VFs back on the host exactly as they were")
    for pod in PODS:
        _, took = cni("DEL", pod)
        say(f"{pod}: DEL in {took * 1000:.0f} ms")
    after = {pci: (vf_table()[vf_index(pci)], vf_netdev(pci)) for pci in vfs}
    for pci in vfs:
        (mac0, vlan0, spoof0, trust0), net0 = before[pci]
        (mac1, vlan1, spoof1, trust1), net1 = after[pci]
        say(f"{pci}: PF view mac {mac1} vlan {vlan1} spoofchk {spoof1} trust {trust1}; "
            f"netdev {net1[0] if net1 else None} {net1[1] if net1 else ''} mtu {net1[2] if net1 else ''}")
        if before[pci] != after[pci]:
            fail(f"{pci} not restored: before {before[pci]}, after {after[pci]}")
        say("    restored: identical to before ADD")
    leftover = [f for f in os.listdir(ipam_dir + "/sriov-vlan100") if f[0].isdigit()] if os.path.isdir(ipam_dir + "/sriov-vlan100") else []
    if leftover:
        fail(f"host-local still holds {leftover}")
    say("host-local released both addresses")
    for pod in PODS:
        run(["ip", "netns", "delete", pod])

    # ------------------------------------------------------------------------- 9
    step("SIGTERM: the daemon removes its sockets and device-info files")
    dp.send_signal(signal.SIGTERM)
    code = dp.wait(timeout=15)
    sockets = [e for e in os.listdir(kubelet_dir) if e != "kubelet.sock"]
    infos = os.listdir(os.path.join(state_dir, "k8s.cni.cncf.io/devinfo/dp")) \
        if os.path.isdir(os.path.join(state_dir, "k8s.cni.cncf.io/devinfo/dp")) else []
    say(f"exit {code}; sockets left {sockets}; device-info files left {infos}")
    if code != 0 or sockets or infos:
        fail("the daemon did not clean up")
finally:
    cleanup()

print("\n== latency (rdma-lat, microseconds; under QEMU TCG absolute figures mean little)")
print(f"   {'test':6}{'bytes':>7}{'iters':>7}{'t_min':>10}{'t_typical':>11}{'t_avg':>10}{'99%':>10}{'99.9%':>10}")
for test, size, row in rows:
    print(f"   {test:6}{size:>7}{row.get('iterations', LAT_ITERS):>7}{row['t_min']:>10.2f}{row['t_typical']:>11.2f}"
          f"{row['t_avg']:>10.2f}{row['p99']:>10.2f}{row['p99_9']:>10.2f}")
print(f"\nDEMO OK in {time.monotonic() - started:.1f} s")
