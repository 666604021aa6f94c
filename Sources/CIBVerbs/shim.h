#ifndef SRIOV_RDMA_CIBVERBS_SHIM_H
#define SRIOV_RDMA_CIBVERBS_SHIM_H
// libibverbs, including its static inline fast-path functions (ibv_post_send,
// ibv_poll_cq, ...), which Swift imports directly from the header.
#include <infiniband/verbs.h>
#endif
