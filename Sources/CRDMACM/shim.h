#ifndef SRIOV_RDMA_CRDMACM_SHIM_H
#define SRIOV_RDMA_CRDMACM_SHIM_H
#include <rdma/rdma_cma.h>
#include <rdma/rdma_verbs.h>
#endif
