#ifndef SRIOV_RDMA_CPCI_SHIM_H
#define SRIOV_RDMA_CPCI_SHIM_H
#include <pci/pci.h>
#include <stdarg.h>
#include <stdio.h>

// pci_lookup_name() is variadic, which Swift cannot call; these fixed-arity
// wrappers cover the lookups we make.
static inline char *cpci_lookup_vendor(struct pci_access *a, char *buf, int size, int vendor) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS, vendor);
}
static inline char *cpci_lookup_device(struct pci_access *a, char *buf, int size, int vendor, int device) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS, vendor, device);
}
static inline char *cpci_lookup_subsystem(struct pci_access *a, char *buf, int size,
                                          int vendor, int device, int subvendor, int subdevice) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS,
                           vendor, device, subvendor, subdevice);
}
static inline char *cpci_lookup_class(struct pci_access *a, char *buf, int size, int classID) {
    return pci_lookup_name(a, buf, size, PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_NUMBERS, classID);
}

// libpci's default warning handler prints to stderr; a daemon wants it quiet.
static void cpci_quiet(char *msg, ...) { (void)msg; }

// A handle for pci.ids name look-ups only: no bus access, no pci_init(), whose
// error handler exits the process. NULL if allocation failed.
static inline struct pci_access *cpci_names(void) {
    struct pci_access *a = pci_alloc();
    if (!a) return NULL;
    a->warning = cpci_quiet;
    a->debug = cpci_quiet;
    return a;
}

// A handle that scans <sysfsPath>/bus/pci through the sysfs access method.
// pci_init() exits through libpci's default error handler if sysfs is unusable,
// so only call this where sysfs is known to exist.
static inline struct pci_access *cpci_open_sysfs(const char *sysfsPath) {
    struct pci_access *a = cpci_names();
    if (!a) return NULL;
    a->method = PCI_ACCESS_SYS_BUS_PCI;
    if (sysfsPath) pci_set_param(a, "sysfs.path", (char *)sysfsPath);
    pci_init(a);
    return a;
}
#endif
