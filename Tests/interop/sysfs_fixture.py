"""A small fake sysfs tree in the kernel's shape: one PF with N VFs (igb-like),
links from bus/pci/devices and class/net, so the daemon's discovery reads it as a node."""
import os


class SysfsTree:
    def __init__(self, root, vfs=3):
        self.root = root
        self.pf = "0000:01:00.0"
        self.pf_dir = f"devices/pci0000:00/0000:00:02.0/{self.pf}"
        self.vfs = []
        self.function(self.pf, "0x10c9", "igb")
        self.write(f"{self.pf_dir}/sriov_totalvfs", "7")
        self.netdev("enp1s0", self.pf_dir)
        for index in range(vfs):
            self.add_vf(index)

    def path(self, relative):
        return os.path.join(self.root, relative)

    def write(self, relative, text):
        path = self.path(relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text + "\n")

    def link(self, relative, target):
        path = self.path(relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    def function(self, address, device, driver):
        directory = f"devices/pci0000:00/0000:00:02.0/{address}"
        for name, value in [("vendor", "0x8086"), ("device", device), ("class", "0x020000"), ("numa_node", "0"),
                            ("subsystem_vendor", "0x8086"), ("subsystem_device", "0x0000")]:
            self.write(f"{directory}/{name}", value)
        os.makedirs(self.path(f"bus/pci/drivers/{driver}"), exist_ok=True)
        self.link(f"{directory}/driver", "../../../../bus/pci/drivers/" + driver)
        self.link(f"bus/pci/devices/{address}", "../../../" + directory)
        return directory

    def netdev(self, name, device_dir, carrier="1", operstate="up"):
        directory = f"{device_dir}/net/{name}"
        for attribute, value in [("mtu", "1500"), ("address", "02:00:00:00:00:%02x" % (len(self.vfs) + 1)),
                                 ("operstate", operstate), ("carrier", carrier), ("type", "1"), ("ifindex", "5")]:
            self.write(f"{directory}/{attribute}", value)
        self.link(f"{directory}/device", "../..")
        self.link(f"class/net/{name}", "../../" + directory)

    def vf_address(self, index):
        return "0000:01:10.%d" % (index * 2) if index < 4 else "0000:01:11.%d" % ((index - 4) * 2)

    def add_vf(self, index):
        address = self.vf_address(index)
        directory = self.function(address, "0x10ca", "igbvf")
        self.link(f"{self.pf_dir}/virtfn{index}", f"../{address}")
        self.link(f"{directory}/physfn", f"../{self.pf}")
        self.netdev(f"enp1s0v{index}", directory)
        self.vfs.append(address)
        self.write(f"{self.pf_dir}/sriov_numvfs", str(len(self.vfs)))

    def remove_vf(self, index):
        """As the kernel does on sriov_numvfs shrinking: the function and its netdev vanish."""
        import shutil
        address = self.vf_address(index)
        shutil.rmtree(self.path(f"devices/pci0000:00/0000:00:02.0/{address}"))
        os.unlink(self.path(f"bus/pci/devices/{address}"))
        os.unlink(self.path(f"{self.pf_dir}/virtfn{index}"))
        os.unlink(self.path(f"class/net/enp1s0v{index}"))
        self.vfs.remove(address)
        self.write(f"{self.pf_dir}/sriov_numvfs", str(len(self.vfs)))

    def set_pf_carrier(self, up):
        self.write(f"{self.pf_dir}/net/enp1s0/carrier", "1" if up else "0")

    def add_sf(self, number):
        """A scalable function below the PF, as `devlink port add ... flavour pcisf sfnum N`
        and the SF driver make it: the auxiliary device with `sfnum`, its netdev below it."""
        name = f"mlx5_core.sf.{number + 2}"
        directory = f"{self.pf_dir}/{name}"
        self.write(f"{directory}/sfnum", str(number))
        self.link(f"bus/auxiliary/devices/{name}", "../../../" + directory)
        self.netdev(f"enp1s0s{number}", directory)
        return name

    def remove_sf(self, number):
        import shutil
        name = f"mlx5_core.sf.{number + 2}"
        os.unlink(self.path(f"class/net/enp1s0s{number}"))
        os.unlink(self.path(f"bus/auxiliary/devices/{name}"))
        shutil.rmtree(self.path(f"{self.pf_dir}/{name}"))
