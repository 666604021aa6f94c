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
#include <sys/syscall.h>
#include <unistd.h>

// Declared by glibc only under _GNU_SOURCE, which Swift's Glibc module is built without.
int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
int pthread_setname_np(pthread_t thread, const char *name);
int pthread_getname_np(pthread_t thread, char *name, size_t length);
int mkostemp(char *template, int flags);

// open(2)'s O_PATH (include/uapi/asm-generic/fcntl.h), which <fcntl.h> defines only under
// _GNU_SOURCE: a descriptor that names a file without opening it.
static const int sriov_rdma_o_path = 010000000;

// The number of CPUs this thread may run on (its affinity mask: a pod's cpuset, not
// the host's CPU count); 1 if the kernel will not say. cpu_set_t and
// sched_getaffinity(3) are _GNU_SOURCE-only, the system call is not.
static inline int sriov_rdma_allowed_cpus(void) {
    unsigned long mask[64];
    long written = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    if (written <= 0) return 1;
    int count = 0;
    for (long word = 0; word < written / (long)sizeof mask[0]; word++) count += __builtin_popcountl(mask[word]);
    return count > 0 ? count : 1;
}
#endif
