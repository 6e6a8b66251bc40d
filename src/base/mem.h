// SPDX-License-Identifier: Apache-2.0
/*
 * mem.h - giving back pages the process touched and no longer needs: the
 * libraries' pages start-up touched, glibc's free heap pages, and the deep
 * part of an idle worker's stack (see mem.c).
 */
#ifndef BASE_MEM_H
#define BASE_MEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Unmap the resident pages of the read-only segments of the program and its
 * libraries (code, constants: what start-up touched once); they stay in the
 * page cache and come back on the next touch. Writable segments, RELRO
 * included, are kept. Returns the KiB of file pages this process no longer
 * maps (approximate while other threads run), or -1 when /proc/self/statm
 * cannot be read. Any thread, any time. Segments whose pages the loader
 * wrote (a zeroed tail, a page shared with a writable segment, text
 * relocations) are skipped. A debugger's breakpoints or a uprobe set in a
 * library before the call are dropped with its pages (start-up only).
 */
long mem_drop_file_pages(void);

/*
 * Hand the free pages of glibc's heap back to the system (malloc_trim).
 * A no-op under AddressSanitizer, whose allocator owns the heap: there
 * glibc's malloc may never have been set up, and the first malloc_trim
 * sets it up, unlocked, so two threads trimming at once crashed in it.
 */
void mem_trim_heap(void);

/*
 * Have glibc's malloc keep at most `n` arenas (M_ARENA_MAX), unless the
 * operator set MALLOC_ARENA_MAX or GLIBC_TUNABLES' glibc.malloc.arena_max,
 * which win. Before the threads start.
 */
void mem_limit_arenas(int n);

/*
 * The lowest address of the calling thread's stack (above its guard), or 0
 * when it cannot be known. Meant for threads we create: for the main
 * thread glibc guesses the range from the mappings. Once per thread: it
 * costs a syscall.
 */
uintptr_t mem_stack_low(void);

/*
 * Unmap the calling thread's stack pages from `low` (mem_stack_low) up to
 * `keep` bytes below the caller's frame: a worker that once ran a deep call
 * keeps those pages resident otherwise; the next deep call gets zeroed
 * pages. Returns the bytes advised (0 when none, or low is 0). Only from a
 * thread about to wait: it costs a syscall and the page faults after it.
 */
size_t mem_drop_stack(uintptr_t low, size_t keep);

#endif
