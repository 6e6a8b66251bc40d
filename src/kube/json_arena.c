// SPDX-License-Identifier: Apache-2.0
/*
 * json_arena.c - per-thread bump arenas behind jansson's allocation hooks
 * (see json_arena.h).
 *
 * DESIGN. No locks: each thread reaches only its own arena (thread-local),
 * and the hooks decide by address whether a pointer is the calling
 * thread's arena's. The process-wide state is what jansson forces: the
 * hooks, installed once, and the key whose destructor frees a thread's
 * arena when the thread ends.
 */
#include "kube/json_arena.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "base/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
/* the size of each allocation, in a header that stays poisoned */
#define HDR 16
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define HDR 0
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* malloc's alignment: jansson's nodes hold pointers, sizes and doubles */
#define ALIGN 16

struct arena {
	char *base;		/* KUBE_JSON_ARENA_SIZE bytes, or NULL */
	bool active;
	struct kube_json_arena_stats st;
};

static __thread struct arena ta;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;

static bool mine(const struct arena *a, const void *p)
{
	uintptr_t u = (uintptr_t)p, b = (uintptr_t)a->base;

	return a->base && u >= b && u - b < KUBE_JSON_ARENA_SIZE;
}

static void *arena_malloc(size_t n)
{
	struct arena *a = &ta;

	if (a->active) {
		/* n is checked first: the rounding cannot wrap */
		size_t need = (n + HDR + ALIGN - 1) & ~(size_t)(ALIGN - 1);

		if (n <= KUBE_JSON_ARENA_SIZE && need <= KUBE_JSON_ARENA_SIZE - a->st.used) {
			char *p = a->base + a->st.used + HDR;

			a->st.used += need;
			a->st.live++;
			a->st.allocs++;
			UNPOISON(p, n);
#ifdef ARENA_ASAN
			UNPOISON(p - HDR, sizeof(size_t));
			*(size_t *)(p - HDR) = n;
			POISON(p - HDR, HDR);
#endif
			return p;
		}
		a->st.fallbacks++;
	}
	return malloc(n);
}

static void arena_free(void *p)
{
	struct arena *a = &ta;

	if (!mine(a, p)) {
		free(p);
		return;
	}
	if (!a->st.live)
		BUG("json arena: more frees than allocations");
	a->st.live--;
#ifdef ARENA_ASAN
	{
		size_t n;

		UNPOISON((char *)p - HDR, sizeof(size_t));
		n = *(size_t *)((char *)p - HDR);
		POISON((char *)p - HDR, HDR);
		POISON(p, n);
	}
#endif
}

/*
 * The thread ends (the key's destructor). An arena with allocations still
 * out is a tree kept past its thread, against the rule: freeing it would
 * turn the holder's reads into a use after free, so it is reported and
 * left (LeakSanitizer reports it too once nothing points into it).
 */
static void arena_drop(void *base)
{
	struct arena *a = &ta;

	if (a->base == base) {
		a->base = NULL;	/* later jansson frees on this thread are not the arena's */
		a->active = false;
		if (a->st.live) {
			log_error("json arena: a thread ended with %zu of its arena's allocations "
				  "still held; its %zu bytes are left to them", a->st.live,
				  (size_t)KUBE_JSON_ARENA_SIZE);
			return;
		}
	}
	UNPOISON(base, KUBE_JSON_ARENA_SIZE);
	free(base);
}

static void install(void)
{
	if (pthread_key_create(&key, arena_drop))
		BUG("json arena: no thread key");
	json_set_alloc_funcs(arena_malloc, arena_free);
}

void kube_json_arena_install(void)
{
	pthread_once(&once, install);
}

void kube_json_arena_begin(void)
{
	struct arena *a = &ta;

	kube_json_arena_install();
	if (!a->base) {
		a->base = malloc(KUBE_JSON_ARENA_SIZE);
		if (!a->base)
			return;	/* malloc serves */
		POISON(a->base, KUBE_JSON_ARENA_SIZE);
		pthread_setspecific(key, a->base);
	}
	if (!a->st.live && a->st.used) {
		/* everything allocated in it is freed: start again */
#ifdef ARENA_ASAN
		/*
		 * from a fresh block: the old one goes to ASan's quarantine, so
		 * a pointer kept past its event is still reported after the next
		 * event, instead of reading that event's bytes
		 */
		char *fresh = malloc(KUBE_JSON_ARENA_SIZE);

		if (fresh) {
			POISON(fresh, KUBE_JSON_ARENA_SIZE);
			UNPOISON(a->base, KUBE_JSON_ARENA_SIZE);
			free(a->base);
			a->base = fresh;
			pthread_setspecific(key, fresh);
		}
#endif
		a->st.used = 0;
		a->st.restarts++;
	}
	a->active = true;
}

void kube_json_arena_end(void)
{
	ta.active = false;
}

void kube_json_arena_stats(struct kube_json_arena_stats *st)
{
	*st = ta.st;
}
