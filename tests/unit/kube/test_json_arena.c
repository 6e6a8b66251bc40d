// SPDX-License-Identifier: Apache-2.0
/*
 * test_json_arena.c - watch event trees in the parsing thread's arena
 * (src/kube/json_arena.c): a parse allocates from it and its frees are
 * counted, the arena starts again only once all of it is freed, a tree
 * still held survives the next parse, a full arena falls back to malloc,
 * jansson elsewhere (outside begin/end, other threads) uses malloc, a
 * thread that ends with a tree out leaves its arena to it, and
 * under AddressSanitizer a use after free of arena memory is reported.
 */
#include "kube_test.h"

#include <pthread.h>
#include <sys/wait.h>

#include <jansson.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "kube/json_arena.h"
#include "kube/ndjson.h"

#define EVENT "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"PersistentVolume\",\"metadata\":" \
	"{\"name\":\"pv-%d\",\"resourceVersion\":\"%d\",\"managedFields\":[{\"manager\":\"k\"}]," \
	"\"labels\":{\"a\":\"b\"}},\"spec\":{\"capacity\":{\"storage\":\"1Gi\"}}}}"

static json_t *parse(int n, json_t **obj)
{
	char line[512];
	const char *type;
	json_t *ev;
	struct err e = ERR_INIT;
	int len = snprintf(line, sizeof(line), EVENT, n, n);

	assert_int_equal(kube_watch_event_parse(line, (size_t)len, &ev, &type, obj, &e), 0);
	assert_string_equal(type, "MODIFIED");
	return ev;
}

static struct kube_json_arena_stats stats(void)
{
	struct kube_json_arena_stats st;

	kube_json_arena_stats(&st);
	return st;
}

static const char *name_of(json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

/* Each event's tree comes from the arena; freed, the next starts again at 0. */
static void test_events_reuse_the_arena(void **state)
{
	struct kube_json_arena_stats a, b, c;
	json_t *obj, *ev;

	(void)state;
	ev = parse(1, &obj);
	a = stats();
	assert_true(a.live > 0);
	assert_true(a.used > 0);
	assert_string_equal(name_of(obj), "pv-1");
	json_decref(ev);
	assert_int_equal(stats().live, 0);

	ev = parse(2, &obj);
	b = stats();
	assert_int_equal(b.restarts, a.restarts + 1);
	assert_int_equal(b.used, a.used);	/* the same event size, from the start again */
	assert_int_equal(b.fallbacks, a.fallbacks);
	assert_string_equal(name_of(obj), "pv-2");
	json_decref(ev);

	/* many events: the arena never grows past one event */
	for (int i = 0; i < 1000; i++)
		json_decref(parse(i, &obj));
	c = stats();
	assert_int_equal(c.live, 0);
	assert_true(c.used <= a.used + 64);
	assert_int_equal(c.fallbacks, a.fallbacks);
}

/* A tree still held is not overwritten by the next event's. */
static void test_held_tree_survives(void **state)
{
	struct kube_json_arena_stats a, b;
	json_t *obj1, *obj2, *ev1, *ev2;

	(void)state;
	ev1 = parse(1, &obj1);
	a = stats();
	ev2 = parse(2, &obj2);
	b = stats();
	assert_int_equal(b.restarts, a.restarts);
	assert_true(b.used > a.used);
	assert_string_equal(name_of(obj1), "pv-1");
	assert_string_equal(name_of(obj2), "pv-2");
	json_decref(ev2);
	assert_true(stats().live > 0);
	assert_string_equal(name_of(obj1), "pv-1");
	json_decref(ev1);
	assert_int_equal(stats().live, 0);
}

/* An event larger than the arena parses whole, the rest from malloc. */
static void test_full_arena_falls_back(void **state)
{
	size_t n = 4000, cap = n * 48 + 100, len = 0;
	char *line = malloc(cap);
	struct kube_json_arena_stats a, b;
	struct err e = ERR_INIT;
	const char *type;
	json_t *ev, *obj;

	(void)state;
	a = stats();
	len += (size_t)snprintf(line, cap, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"labels\":{");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(line + len, cap - len, "%s\"label-%05zu\":\"v%zu\"",
					i ? "," : "", i, i);
	len += (size_t)snprintf(line + len, cap - len, "}}}}");
	assert_int_equal(kube_watch_event_parse(line, len, &ev, &type, &obj, &e), 0);
	b = stats();
	assert_true(b.fallbacks > a.fallbacks);
	assert_true(b.used <= KUBE_JSON_ARENA_SIZE);
	assert_int_equal(json_object_size(json_object_get(json_object_get(obj, "metadata"),
							  "labels")), n);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		obj, "metadata"), "labels"), "label-03999")), "v3999");
	json_decref(ev);
	assert_int_equal(stats().live, 0);
	free(line);
}

/* Outside begin/end, and on other threads, jansson allocates from malloc. */
static void *other_thread(void *arg)
{
	struct kube_json_arena_stats st;
	json_t *j = json_pack("{s:[i,s]}", "k", 1, "v");

	(void)arg;
	kube_json_arena_stats(&st);
	json_decref(j);
	return (void *)(uintptr_t)(st.allocs == 0 && st.used == 0);
}

static void test_outside_is_malloc(void **state)
{
	struct kube_json_arena_stats a;
	json_t *obj, *ev, *kept;
	pthread_t t;
	void *ok;

	(void)state;
	ev = parse(7, &obj);
	a = stats();
	kept = json_deep_copy(obj);	/* what a handler keeps: from malloc */
	assert_int_equal(stats().allocs, a.allocs);
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, &ok), 0);
	assert_true(ok != NULL);
	json_decref(ev);
	json_decref(parse(8, &obj));	/* the arena restarts under the copy */
	assert_string_equal(name_of(kept), "pv-7");
	json_decref(kept);
}

#if defined(__SANITIZE_ADDRESS__)
/* the huge request below must get ASan's malloc's NULL, as glibc's */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

/* A request near SIZE_MAX is refused (malloc's NULL), not wrapped into a small one. */
static void test_huge_request_refused(void **state)
{
	json_malloc_t m;
	json_free_t f;
	struct kube_json_arena_stats a;
	void *p;

	(void)state;
	kube_json_arena_install();
	json_get_alloc_funcs(&m, &f);
	kube_json_arena_begin();
	a = stats();
	p = m(SIZE_MAX - 4);
	kube_json_arena_end();
	assert_null(p);
	assert_int_equal(stats().used, a.used);
	assert_int_equal(stats().allocs, a.allocs);
}

#if defined(__SANITIZE_ADDRESS__)
/* A read of a freed event's tree is reported, not silently served. */
static void test_use_after_free_reported(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		json_t *obj, *ev = parse(3, &obj);
		const char *name = name_of(obj);
		volatile char c;

		json_decref(ev);
		c = name[0];	/* freed: ASan must stop here */
		(void)c;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * A pointer kept past its event (a handler's bug) is still reported after
 * the next event restarted the arena: the restart must not hand the freed
 * bytes out again where ASan would see them as live.
 */
static void test_stale_pointer_poisoned_after_restart(void **state)
{
	struct kube_json_arena_stats a;
	json_t *obj, *ev = parse(4, &obj);
	const char *name = name_of(obj);

	(void)state;
	json_decref(ev);
	a = stats();
	ev = parse(4, &obj);	/* the same size: the same layout if reused */
	assert_int_equal(stats().restarts, a.restarts + 1);
	assert_true(__asan_address_is_poisoned(name));
	json_decref(ev);
}

/* What a thread held when it ended: the thread's tree, read by another. */
static json_t *held_past_exit;

static void *parse_and_keep(void *arg)
{
	json_t *obj;

	(void)arg;
	parse(5, &obj);	/* the event is never freed: a holder's bug */
	held_past_exit = obj;
	return NULL;
}

/*
 * A thread that ends while its arena still has a tree out does not free
 * the arena under it (a use after free for the holder); the tree stays
 * readable and the arena is reported (and leaked) instead.
 */
static void test_thread_end_keeps_a_held_arena(void **state)
{
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, parse_and_keep, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_non_null(held_past_exit);
	assert_false(__asan_address_is_poisoned(held_past_exit));
	assert_false(__asan_address_is_poisoned(name_of(held_past_exit)));
	assert_string_equal(name_of(held_past_exit), "pv-5");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_reuse_the_arena),
		cmocka_unit_test(test_held_tree_survives),
		cmocka_unit_test(test_full_arena_falls_back),
		cmocka_unit_test(test_outside_is_malloc),
		cmocka_unit_test(test_huge_request_refused),
#if defined(__SANITIZE_ADDRESS__)
		cmocka_unit_test(test_use_after_free_reported),
		cmocka_unit_test(test_stale_pointer_poisoned_after_restart),
		cmocka_unit_test(test_thread_end_keeps_a_held_arena),
#endif
	};

	return kt_run("json_arena", tests, sizeof(tests) / sizeof(tests[0]));
}
