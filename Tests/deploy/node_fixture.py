"""A fake sysfs and /dev tree for the node the example ConfigMap is written for: a
dual-port ConnectX-6 Dx (15b3:101d, mlx5_core) whose first port ens1f0 has VFs
(15b3:101e), each with its own RDMA device, and whose second port ens1f1 has none;
plus an Intel E810 port without SR-IOV enabled. Same kernel shape as the
interop suite's tree: functions under devices/, reached through bus/pci/devices,
class/net and class/infiniband links."""
import os

PF0 = "0000:3b:00.0"
PF1 = "0000:3b:00.1"
INTEL = "0000:5e:00.0"


def vf_address(index):
    """ConnectX VFs follow the PFs: first VF offset 2, stride 1."""
    function = 2 + index
    return "0000:3b:%02x.%d" % (function // 8, function % 8)


class ConnectXNode:
    def __init__(self, root, vfs=10):
        self.sys = os.path.join(root, "sys")
        self.dev = os.path.join(root, "dev")
        self.uverbs = 0
        self.vfs = []
        pf0 = self.function(PF0, "0x101d", "mlx5_core", numa=0)
        self.write(f"{pf0}/sriov_totalvfs", "16")
        self.netdev("ens1f0", pf0, "0c:42:a1:00:00:00")
        self.rdma("mlx5_0", pf0, "ens1f0")
        pf1 = self.function(PF1, "0x101d", "mlx5_core", numa=0)
        self.write(f"{pf1}/sriov_totalvfs", "16")
        self.write(f"{pf1}/sriov_numvfs", "0")
        self.netdev("ens1f1", pf1, "0c:42:a1:00:00:01")
        self.rdma("mlx5_1", pf1, "ens1f1")
        for index in range(vfs):
            address = vf_address(index)
            directory = self.function(address, "0x101e", "mlx5_core", numa=0)
            self.link(f"{pf0}/virtfn{index}", f"../{address}")
            self.link(f"{directory}/physfn", f"../{PF0}")
            name = f"ens1f0v{index}"
            self.netdev(name, directory, "02:00:00:00:00:%02x" % index)
            self.rdma(f"mlx5_{index + 2}", directory, name)
            self.vfs.append(address)
        self.write(f"{pf0}/sriov_numvfs", str(vfs))
        intel = self.function(INTEL, "0x1592", "ice", vendor="0x8086", numa=1)
        self.netdev("ens2f0", intel, "b4:96:91:00:00:00")
        self.device_node("infiniband/rdma_cm")

    def write(self, relative, text, root=None):
        path = os.path.join(root or self.sys, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text + "\n")

    def link(self, relative, target):
        path = os.path.join(self.sys, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    def device_node(self, relative):
        """A stand-in for a character device: discovery only checks that it exists."""
        self.write(relative, "", root=self.dev)

    def function(self, address, device, driver, vendor="0x15b3", numa=-1):
        directory = f"devices/pci0000:3a/0000:3a:00.0/{address}"
        for name, value in [("vendor", vendor), ("device", device), ("class", "0x020000"), ("numa_node", str(numa)),
                            ("subsystem_vendor", vendor), ("subsystem_device", "0x0007")]:
            self.write(f"{directory}/{name}", value)
        os.makedirs(os.path.join(self.sys, f"bus/pci/drivers/{driver}"), exist_ok=True)
        self.link(f"{directory}/driver", "../../../../bus/pci/drivers/" + driver)
        self.link(f"bus/pci/devices/{address}", "../../../" + directory)
        return directory

    def netdev(self, name, device_dir, mac):
        directory = f"{device_dir}/net/{name}"
        for attribute, value in [("mtu", "1500"), ("address", mac), ("operstate", "up"), ("carrier", "1"),
                                 ("type", "1"), ("ifindex", str(10 + len(self.vfs)))]:
            self.write(f"{directory}/{attribute}", value)
        self.link(f"{directory}/device", "../..")
        self.link(f"class/net/{name}", "../../" + directory)

    def rdma(self, name, device_dir, netdev, link_layer="Ethernet", node_guid=None):
        """An mlx5 RDMA device below its PCI function: an ACTIVE port (RoCE unless
        `link_layer` says InfiniBand), `node_guid` as sysfs prints it
        (`0c42:a103:005e:0000`) when given, and the uverbs/umad/issm char devices
        that name it."""
        directory = f"{device_dir}/infiniband/{name}"
        self.write(f"{directory}/node_type", "1: CA")
        if node_guid is not None:
            self.write(f"{directory}/node_guid", node_guid)
        self.write(f"{directory}/ports/1/state", "4: ACTIVE")
        self.write(f"{directory}/ports/1/link_layer", link_layer)
        self.write(f"{directory}/ports/1/gid_attrs/ndevs/0", netdev)
        self.link(f"{directory}/device", "../..")
        self.link(f"class/infiniband/{name}", "../../" + directory)
        for class_dir, prefix in [("infiniband_verbs", "uverbs"), ("infiniband_mad", "umad"), ("infiniband_mad", "issm")]:
            # As in sysfs: below the RDMA device's parent, linked from the class directory.
            self.write(f"{device_dir}/{class_dir}/{prefix}{self.uverbs}/ibdev", name)
            self.link(f"class/{class_dir}/{prefix}{self.uverbs}", f"../../{device_dir}/{class_dir}/{prefix}{self.uverbs}")
            self.device_node(f"infiniband/{prefix}{self.uverbs}")
        self.uverbs += 1
