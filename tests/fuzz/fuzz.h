/* Fuzz targets share libFuzzer's entry point.  Built with KUBARR_FUZZ=ON (clang)
 * they are libFuzzer binaries; otherwise fuzz_main.c replays a corpus and then
 * runs a fixed number of deterministic mutations of it, so CI exercises every
 * target (under ASan/UBSan in the sanitizer build) without clang. */
#ifndef KUBARR_FUZZ_H
#define KUBARR_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
