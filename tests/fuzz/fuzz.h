/* fuzz.h — what every libFuzzer harness shares: the entry points libFuzzer calls, and
 * the log levels that make a finding. */
#pragma once
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Makes a warning or a critical (a g_return_if_fail() tripping: a failed precondition)
 * abort, so that the fuzzer sees it as the bug it is. fuzz-common.c's
 * LLVMFuzzerInitialize() calls it; a harness with setup of its own defines
 * LLVMFuzzerInitialize() itself, which takes the place of that one, and calls it. */
void sv_fuzz_fatal_warnings(void);
