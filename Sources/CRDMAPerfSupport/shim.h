#ifndef SRIOV_RDMA_CRDMAPERFSUPPORT_SHIM_H
#define SRIOV_RDMA_CRDMAPERFSUPPORT_SHIM_H
// What Swift cannot say itself: a load and a store the optimizer may not fold or
// hoist out of a loop. The RDMA write test waits for the peer's write by spinning
// on the last byte of a registered buffer, which the NIC (not this thread) changes.
#include <stdint.h>

static inline uint8_t rdmaperf_load_volatile_u8(const void *address) {
    return *(const volatile uint8_t *)address;
}

static inline void rdmaperf_store_volatile_u8(void *address, uint8_t value) {
    *(volatile uint8_t *)address = value;
}
#endif
