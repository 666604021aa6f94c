#ifndef SRIOV_RDMA_CNL_SHIM_H
#define SRIOV_RDMA_CNL_SHIM_H
// libnl-3 (sockets, messages, caches) and libnl-route-3 (links, VFs, addresses, routes).
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/cache.h>
#include <netlink/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <netlink/route/addr.h>
#include <netlink/route/route.h>
#endif
