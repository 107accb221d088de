/* Shared by the libFuzzer targets in tests/fuzz/ (built by run.sh from the
 * real sources, under ASan and UBSan).  A broken invariant aborts, so that
 * libFuzzer keeps the input as a crash artifact, like a sanitizer report. */
#ifndef SSHTUN_FUZZ_H
#define SSHTUN_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
