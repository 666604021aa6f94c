#ifndef SRIOV_RDMA_CNL_SHIM_H
#define SRIOV_RDMA_CNL_SHIM_H
// libnl-3 (sockets, messages, caches) and libnl-route-3 (links, VFs, addresses, routes).
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>

// Kernel UAPI constants the Netlink module uses by name: rtnetlink link, address and
// route attributes, VF attributes, extended acks, the RDMA netlink family, and generic
// netlink's controller and devlink family.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/nsfs.h>
#include <rdma/rdma_netlink.h>
#include <linux/genetlink.h>
#include <linux/devlink.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

// Network namespace switching. glibc declares these only under _GNU_SOURCE, which
// Swift's Glibc module is built without.
int setns(int fd, int nstype);
int unshare(int flags);
#ifndef CLONE_NEWNET
#define CLONE_NEWNET 0x40000000 /* include/uapi/linux/sched.h */
#endif

// NS_GET_NSTYPE is an _IO() macro Swift cannot import.
static inline int cnl_ns_get_nstype(int fd) { return ioctl(fd, NS_GET_NSTYPE); }
#endif
