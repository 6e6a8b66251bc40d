/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_arena.h - jansson trees of watch events allocated from a bump arena
 * of the parsing thread instead of from malloc (issue #11, CPU target).
 *
 * A watch event's tree is a few hundred small allocations that live from
 * the parse to the end of the event's handlers. From malloc they cost a
 * malloc and a free each, and the freed chunks that pile up in glibc's
 * fastbins made the next large request consolidate them all. From the
 * arena an allocation is a pointer bump and a free does nothing.
 *
 * jansson has one pair of allocation hooks for the whole process
 * (json_set_alloc_funcs), so the hooks are process-wide and the arena is
 * per thread: the hooks allocate from the calling thread's arena while it
 * is active (between kube_json_arena_begin and _end) and from malloc
 * otherwise; a free of a pointer inside the calling thread's arena does
 * nothing but count it, any other pointer goes to free(). A tree never
 * lives longer than the arena's space: the arena starts again from its
 * beginning only at a begin that finds every allocation made in it freed
 * (a count, not a promise); while one is still held it goes on after it,
 * and when full the hooks fall back to malloc. Under AddressSanitizer each
 * allocation keeps its size in a poisoned header, and freed and unused
 * arena space is poisoned, so a use after free is still reported; a restart
 * takes a fresh block, so it is reported after the next event too. A thread
 * that ends with a tree still out leaves its arena to it (and logs it).
 *
 * Rule for callers: a tree parsed in an arena is freed on the thread that
 * parsed it (json_decref); to keep a part of it, or hand it to another
 * thread, json_deep_copy it outside begin/end.
 */
#ifndef KUBE_JSON_ARENA_H
#define KUBE_JSON_ARENA_H

#include <stddef.h>

/* Bytes of one thread's arena: a watch event's tree fits many times over. */
#define KUBE_JSON_ARENA_SIZE ((size_t)64 << 10)

/*
 * Install the hooks (once per process; later calls do nothing). Any
 * thread, any time: either hook pair frees what malloc allocated, and
 * arena pointers exist only after the install.
 */
void kube_json_arena_install(void);

/*
 * The calling thread's jansson allocations come from its arena until
 * kube_json_arena_end (installs the hooks and allocates the arena on first
 * use; without memory for it, malloc serves). Not nested.
 */
void kube_json_arena_begin(void);
void kube_json_arena_end(void);

/* The calling thread's arena, for tests and measurements. */
struct kube_json_arena_stats {
	size_t used;		/* bytes handed out since the last restart */
	size_t live;		/* allocations not yet freed */
	size_t allocs;		/* served from the arena, ever */
	size_t fallbacks;	/* asked for while active but served by malloc (full) */
	size_t restarts;	/* begins that started from the beginning */
};
void kube_json_arena_stats(struct kube_json_arena_stats *st);

#endif
