#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver, for a main of our own (llvm.org/docs/LibFuzzer.html, "Using
// libFuzzer as a library"): the -sanitize=fuzzer runtime defines it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
