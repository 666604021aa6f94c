#ifndef SRIOV_RDMA_CLINUX_SHIM_H
#define SRIOV_RDMA_CLINUX_SHIM_H
// Linux interfaces that Swift's Glibc module does not export.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <pthread.h>
#include <malloc.h>
#include <linux/netlink.h>

// Declared by glibc only under _GNU_SOURCE, which Swift's Glibc module is built without.
int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
int pthread_setname_np(pthread_t thread, const char *name);
#endif
