// SPDX-License-Identifier: Apache-2.0
/*
 * mem.h - process-wide memory settings: how glibc's allocator is set up at
 * start, and returning pages the process no longer needs (see mem.c).
 */
#ifndef BASE_MEM_H
#define BASE_MEM_H

#include <stddef.h>

/*
 * Set up the allocator before the first thread starts: at most `arenas`
 * malloc arenas (0 keeps glibc's default of 8 per core), unless the
 * environment sets MALLOC_ARENA_MAX or GLIBC_TUNABLES. Main thread only,
 * before any other thread exists.
 */
void mem_setup(int arenas);

/*
 * Unmap the resident pages of the read-only segments of the program and its
 * libraries (code, constants: what start-up touched once); they stay in the
 * page cache and come back on the next touch. Writable segments, RELRO
 * included, are kept. Returns the KiB of file pages this process no longer
 * maps (approximate while other threads run), or -1 when /proc/self/statm
 * cannot be read. Any thread, any time.
 */
long mem_drop_file_pages(void);

#endif
