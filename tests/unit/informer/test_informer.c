// SPDX-License-Identifier: Apache-2.0
/*
 * test_informer.c - src/informer against an in-process fake API server
 * (fake_apiserver.c): paginated lists, events in order, resume after a cut
 * watch without a relist, 410 Gone -> relist delivering the difference,
 * bookmarks moving the resourceVersion, undecodable objects skipped,
 * pause/resume, list pages too large for the client halved, and watches
 * that end at once backing off; lists, events and relists again with a
 * packed cache; trimmed objects (informer_set_trim) counted and cached whole
 * again when a new version is not trimmed; streamed lists
 * (informer_set_stream_lists): one request, the watch from the end
 * bookmark, pages where the server refuses them, nothing synced or deleted
 * on a stream cut before its end, and a relist after 410 streamed.
 *
 * Every wait is for a condition with a deadline (the recorder's condvar).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "fake_apiserver.h"
#include "informer/informer.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/objects.h"

#define PATH "/api/v1/persistentvolumes"
#define DEADLINE_MS 10000

static int dec_pv(json_t *o, void *out, struct err *e) { return kube_pv_decode(o, out, e); }
static void rel_pv(void *p) { kube_pv_release(p); }

static const struct informer_type pv_type = {
	"persistentvolumes", PATH, sizeof(struct kube_pv), dec_pv, rel_pv,
};

/* The controller's way: PVs cached packed (kube_pv_pack). */
static size_t size_pv(const void *p) { return kube_pv_packed_size(p); }
static void pack_pv(const void *p, void *block) { kube_pv_pack(p, block); }
static const struct informer_packer pv_packer = { size_pv, pack_pv };

/*
 * A trim that drops the volume handle of objects named "f-..." while
 * `trim_on` is set (the rule may change between two versions of an object,
 * as when a PV's annotation makes it ours).
 */
static bool trim_on;
static const void *trim_pv(void *ctx, void *obj, void *scratch)
{
	const struct kube_pv *pv = obj;
	struct kube_pv *t = scratch;

	(void)ctx;
	if (!trim_on || strncmp(pv->meta.name, "f-", 2))
		return obj;
	*t = *pv;
	t->csi_volume_handle = NULL;
	return t;
}

/* What the handler saw: "ADD name rv" lines, in order. */
struct recorder {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	char **lines;
	size_t n, alloc;
};

static void on_event(void *ctx, enum informer_event ev, const char *key,
		     const struct iobj *old, const struct iobj *cur)
{
	static const char *const names[] = { "ADD", "UPDATE", "DELETE" };
	struct recorder *r = ctx;
	const struct kube_meta *m = iobj_data(cur);

	(void)old;
	pthread_mutex_lock(&r->mu);
	r->lines = xgrow(r->lines, r->n + 1, &r->alloc, sizeof(char *));
	r->lines[r->n++] = xasprintf("%s %s %s", names[ev], key, m->resource_version);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

/* Wait until the recorder has a line equal to `want`; its index or -1. */
static long wait_line(struct recorder *r, const char *want)
{
	struct timespec ts = clock_deadline_ms(DEADLINE_MS);
	size_t i = 0;
	long found = -1;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		for (; i < r->n; i++)
			if (!strcmp(r->lines[i], want)) {
				found = (long)i;
				goto out;
			}
		if (pthread_cond_timedwait(&r->cond, &r->mu, &ts))
			break;
	}
out:
	pthread_mutex_unlock(&r->mu);
	return found;
}

static size_t count_lines(struct recorder *r, const char *prefix)
{
	size_t i, c = 0;

	pthread_mutex_lock(&r->mu);
	for (i = 0; i < r->n; i++)
		c += !strncmp(r->lines[i], prefix, strlen(prefix));
	pthread_mutex_unlock(&r->mu);
	return c;
}

struct fixture {
	struct fake *fake;
	struct kube_client *client;
	struct informer *inf;
	struct recorder rec;
};

static int setup_with(void **state, size_t body_max)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = -1, .body_max = body_max };
	struct err e = ERR_INIT;

	fx->fake = fake_start(PATH);
	assert_non_null(fx->fake);
	cfg.server = (char *)fake_url(fx->fake);
	assert_int_equal(kube_client_new(&fx->client, &cfg, &o, &e), 0);
	pthread_mutex_init(&fx->rec.mu, NULL);
	clock_cond_init(&fx->rec.cond);
	fx->inf = informer_new(fx->client, &pv_type, 0);
	informer_add_handler(fx->inf, on_event, &fx->rec);
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 0);
}

/* The same, caching packed objects. */
static int setup_packed(void **state)
{
	setup_with(state, 0);
	informer_set_packer(((struct fixture *)*state)->inf, &pv_packer);
	return 0;
}

/* Packed, with foreign objects trimmed. */
static int setup_trimmed(void **state)
{
	setup_packed(state);
	trim_on = true;
	informer_set_trim(((struct fixture *)*state)->inf, trim_pv, NULL);
	return 0;
}

/* Packed and trimmed, as the controller's PV informer, listing by streaming. */
static int setup_stream(void **state)
{
	setup_trimmed(state);
	informer_set_stream_lists(((struct fixture *)*state)->inf, true);
	return 0;
}

/* A client that takes responses of at most SMALL_CAP bytes. */
#define SMALL_CAP 65536
static int setup_small_cap(void **state)
{
	return setup_with(state, SMALL_CAP);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	informer_free(fx->inf);
	fake_stop(fx->fake);
	kube_client_free(fx->client);
	for (size_t i = 0; i < fx->rec.n; i++)
		free(fx->rec.lines[i]);
	free(fx->rec.lines);
	pthread_mutex_destroy(&fx->rec.mu);
	pthread_cond_destroy(&fx->rec.cond);
	free(fx);
	return 0;
}

static void start(struct fixture *fx)
{
	struct err e = ERR_INIT;

	assert_int_equal(informer_start(fx->inf, &e), 0);
	assert_true(informer_wait_synced(fx->inf, DEADLINE_MS));
}

/* The cached resourceVersion of `key`, or "" when not cached. */
static void cached_rv(struct fixture *fx, const char *key, char *out, size_t n)
{
	struct iobj *o = informer_get(fx->inf, key);

	snprintf(out, n, "%s", o ? ((const struct kube_meta *)iobj_data(o))->resource_version : "");
	iobj_unref(o);
}

static void expect(struct fixture *fx, const char *line)
{
	if (wait_line(&fx->rec, line) < 0)
		fail_msg("no event '%s' within %d ms", line, DEADLINE_MS);
}

static void test_list_in_pages(void **state)
{
	struct fixture *fx = *state;
	char name[32], line[64];

	for (int i = 0; i < 1234; i++) {
		snprintf(name, sizeof(name), "pv-%04d", i);
		fake_put(fx->fake, name, false);
	}
	start(fx);
	assert_int_equal(informer_count(fx->inf), 1234);
	assert_int_equal(fake_lists(fx->fake), 3);	/* 500 + 500 + 234 */
	assert_int_equal(count_lines(&fx->rec, "ADD "), 1234);
	snprintf(line, sizeof(line), "ADD pv-1233 %d", 100 + 1234);
	expect(fx, line);
}

static void test_events_in_order(void **state)
{
	struct fixture *fx = *state;
	int64_t a, b, c;
	char l1[64], l2[64], l3[64];
	long i1, i2, i3;

	fake_put(fx->fake, "old", false);
	start(fx);
	assert_true(fake_wait_watching(fx->fake, 1, DEADLINE_MS));
	a = fake_put(fx->fake, "x", false);
	b = fake_put(fx->fake, "x", false);
	c = fake_delete(fx->fake, "x");
	snprintf(l1, sizeof(l1), "ADD x %lld", (long long)a);
	snprintf(l2, sizeof(l2), "UPDATE x %lld", (long long)b);
	snprintf(l3, sizeof(l3), "DELETE x %lld", (long long)c);
	i3 = wait_line(&fx->rec, l3);
	i1 = wait_line(&fx->rec, l1);
	i2 = wait_line(&fx->rec, l2);
	assert_true(i1 >= 0 && i2 >= 0 && i3 >= 0);
	assert_true(i1 < i2 && i2 < i3);
	assert_null(informer_get(fx->inf, "x"));
	assert_int_equal(fake_lists(fx->fake), 1);
}

/* A watch cut by the server resumes from the last resourceVersion, no relist. */
static void test_cut_watch_resumes_without_relist(void **state)
{
	struct fixture *fx = *state;
	char line[64], rv[32], want[32];
	int64_t rb, rc;

	fake_put(fx->fake, "a", false);
	start(fx);
	assert_true(fake_wait_watching(fx->fake, 1, DEADLINE_MS));
	rb = fake_put(fx->fake, "b", false);
	snprintf(line, sizeof(line), "ADD b %lld", (long long)rb);
	expect(fx, line);
	fake_cut_watches(fx->fake);
	rc = fake_put(fx->fake, "c", false);	/* the cut watch does not send it */
	snprintf(line, sizeof(line), "ADD c %lld", (long long)rc);
	expect(fx, line);
	assert_int_equal(fake_lists(fx->fake), 1);
	assert_int_equal(fake_watches(fx->fake), 2);
	fake_last_watch_rv(fx->fake, rv, sizeof(rv));
	snprintf(want, sizeof(want), "%lld", (long long)rb);
	assert_string_equal(rv, want);	/* what followed b, not everything */
}

/* 410 Gone: list again and deliver the difference as add/update/delete. */
static void test_gone_relists_and_delivers_difference(void **state)
{
	struct fixture *fx = *state;
	char line[64], rv[32];
	int64_t ra, rc;

	fake_put(fx->fake, "keep", false);
	fake_put(fx->fake, "change", false);
	fake_put(fx->fake, "drop", false);
	start(fx);
	assert_true(informer_pause(fx->inf, DEADLINE_MS));
	ra = fake_put(fx->fake, "new", false);
	rc = fake_put(fx->fake, "change", false);
	fake_delete(fx->fake, "drop");
	fake_compact(fx->fake);
	informer_resume(fx->inf);
	snprintf(line, sizeof(line), "ADD new %lld", (long long)ra);
	expect(fx, line);
	snprintf(line, sizeof(line), "UPDATE change %lld", (long long)rc);
	expect(fx, line);
	if (wait_line(&fx->rec, "DELETE drop 103") < 0)
		fail_msg("no DELETE of 'drop' (with its last known resourceVersion)");
	assert_int_equal(fake_lists(fx->fake), 2);
	assert_int_equal(informer_count(fx->inf), 3);
	cached_rv(fx, "change", rv, sizeof(rv));
	snprintf(line, sizeof(line), "%lld", (long long)rc);
	assert_string_equal(rv, line);
	assert_null(informer_get(fx->inf, "drop"));
}

/* A BOOKMARK moves the resourceVersion the next watch starts from. */
static void test_bookmark_moves_resource_version(void **state)
{
	struct fixture *fx = *state;
	char rv[32], want[32];

	fake_put(fx->fake, "a", false);
	start(fx);
	assert_true(fake_wait_watching(fx->fake, 1, DEADLINE_MS));
	snprintf(want, sizeof(want), "%lld", (long long)fake_bookmark(fx->fake));
	/* the watch ends after the bookmark, as at timeoutSeconds */
	fake_end_watches(fx->fake);
	assert_true(fake_wait_watch_requests(fx->fake, 2, DEADLINE_MS));
	fake_last_watch_rv(fx->fake, rv, sizeof(rv));
	assert_string_equal(rv, want);
	assert_int_equal(count_lines(&fx->rec, "ADD "), 1);	/* a bookmark is no object */
	assert_int_equal(fake_lists(fx->fake), 1);
}

/* An object that does not decode is skipped; the rest of the page is kept. */
static void test_undecodable_object_skipped(void **state)
{
	struct fixture *fx = *state;
	struct iobj *o;

	fake_put(fx->fake, "good-1", false);
	fake_put(fx->fake, "bad", true);
	fake_put(fx->fake, "good-2", false);
	start(fx);
	assert_int_equal(informer_count(fx->inf), 2);
	assert_null(informer_get(fx->inf, "bad"));
	o = informer_get(fx->inf, "good-2");
	assert_non_null(o);
	iobj_unref(o);
}

/* While paused nothing is delivered; on resume the watch catches up. */
static void test_pause_then_resume_catches_up(void **state)
{
	struct fixture *fx = *state;
	char line[64];
	int64_t r;
	size_t w;

	start(fx);
	assert_true(informer_pause(fx->inf, DEADLINE_MS));
	w = fake_watches(fx->fake);
	r = fake_put(fx->fake, "while-paused", false);
	assert_int_equal(count_lines(&fx->rec, "ADD "), 0);
	assert_int_equal(fake_watches(fx->fake), w);	/* a paused informer does not watch */
	informer_resume(fx->inf);
	snprintf(line, sizeof(line), "ADD while-paused %lld", (long long)r);
	expect(fx, line);
	assert_int_equal(fake_lists(fx->fake), 1);	/* resumed, not relisted */
}

/*
 * Pages larger than the client takes (big annotations) are asked for again
 * with half the limit until they fit: 40 objects of ~5 KB under a 64 KiB
 * cap fail at 500, 250, 125, 62, 31 and 15, then come in pages of 7.
 */
static void test_too_large_page_is_halved(void **state)
{
	struct fixture *fx = *state;
	char name[32];

	fake_set_padding(fx->fake, 5000);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "pv-%02d", i);
		fake_put(fx->fake, name, false);
	}
	start(fx);
	assert_int_equal(informer_count(fx->inf), 40);
	assert_int_equal(fake_last_list_limit(fx->fake), 7);
	assert_int_equal(fake_lists(fx->fake), 6 + 6);	/* six refusals, then 6 pages of <= 7 */
	assert_int_equal(count_lines(&fx->rec, "ADD "), 40);
}

/*
 * One object larger than the cap even alone: the limit goes down to 1, the
 * list fails and is retried later (with back-off), not given up: once the
 * object shrinks the informer syncs.
 */
static void test_object_larger_than_cap_is_retried(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;

	fake_set_padding(fx->fake, 2 * SMALL_CAP);
	fake_put(fx->fake, "huge", false);
	fake_put(fx->fake, "other", false);
	assert_int_equal(informer_start(fx->inf, &e), 0);
	/* 500 250 125 62 31 15 7 3 1 */
	assert_true(fake_wait_lists(fx->fake, 9, DEADLINE_MS));
	assert_int_equal(fake_last_list_limit(fx->fake), 1);
	assert_false(informer_synced(fx->inf));
	fake_set_padding(fx->fake, 0);
	assert_true(informer_wait_synced(fx->inf, DEADLINE_MS));
	assert_int_equal(informer_count(fx->inf), 2);
}

/*
 * A server that ends every watch at once without an event gets them again
 * only after a growing back-off (1 s, 2 s, ...), not in a tight loop; once
 * it behaves, events flow again.
 */
static void test_short_watches_back_off(void **state)
{
	struct fixture *fx = *state;
	char line[64];
	int64_t r;

	fake_set_watch_ends_at_once(fx->fake, true);
	start(fx);
	assert_true(fake_wait_watch_requests(fx->fake, 2, DEADLINE_MS));
	/* the third comes 2 s after the second: none, let alone a storm, within 1.5 s */
	assert_false(fake_wait_watch_requests(fx->fake, 3, 1500));
	fake_set_watch_ends_at_once(fx->fake, false);
	r = fake_put(fx->fake, "after", false);
	snprintf(line, sizeof(line), "ADD after %lld", (long long)r);
	expect(fx, line);
	assert_int_equal(fake_lists(fx->fake), 1);
}

/* The cached handle of `key`: "-" when trimmed away, "" when not cached. */
static void cached_handle(struct fixture *fx, const char *key, char *out, size_t n)
{
	struct iobj *o = informer_get(fx->inf, key);
	const struct kube_pv *pv = o ? iobj_data(o) : NULL;

	snprintf(out, n, "%s", !pv ? "" : pv->csi_volume_handle ? pv->csi_volume_handle : "-");
	iobj_unref(o);
}

/*
 * Trimmed objects are counted while cached; a new version of one that the
 * rule no longer trims is cached whole, and the count follows it.
 */
static void test_trimmed_objects_follow_their_versions(void **state)
{
	struct fixture *fx = *state;
	char line[64], h[32];
	int64_t r;

	fake_put(fx->fake, "f-1", false);
	fake_put(fx->fake, "f-2", false);
	fake_put(fx->fake, "mine", false);
	start(fx);
	assert_int_equal(informer_count(fx->inf), 3);
	assert_int_equal(informer_count_trimmed(fx->inf), 2);
	cached_handle(fx, "f-1", h, sizeof(h));
	assert_string_equal(h, "-");
	cached_handle(fx, "mine", h, sizeof(h));
	assert_string_equal(h, "mine");
	assert_true(fake_wait_watching(fx->fake, 1, DEADLINE_MS));
	trim_on = false;	/* its next version is "ours" */
	r = fake_put(fx->fake, "f-1", false);
	snprintf(line, sizeof(line), "UPDATE f-1 %lld", (long long)r);
	expect(fx, line);
	cached_handle(fx, "f-1", h, sizeof(h));
	assert_string_equal(h, "f-1");
	assert_int_equal(informer_count_trimmed(fx->inf), 1);
	r = fake_delete(fx->fake, "f-2");
	snprintf(line, sizeof(line), "DELETE f-2 %lld", (long long)r);
	expect(fx, line);
	assert_int_equal(informer_count_trimmed(fx->inf), 0);
	trim_on = true;
	r = fake_put(fx->fake, "f-3", false);
	snprintf(line, sizeof(line), "ADD f-3 %lld", (long long)r);
	expect(fx, line);
	assert_int_equal(informer_count_trimmed(fx->inf), 1);
}

/*
 * A streamed list: one request brings every object; the watch then goes on
 * from the end bookmark's resourceVersion, and no page is asked for.
 */
static void test_stream_list_then_watch(void **state)
{
	struct fixture *fx = *state;
	char name[32], line[64], rv[32], want[32];
	int64_t last, r;

	for (int i = 0; i < 1234; i++) {
		snprintf(name, sizeof(name), "f-%04d", i);
		fake_put(fx->fake, name, false);
	}
	/* the newest version is the first object streamed: the last one is older */
	last = fake_put(fx->fake, "f-0000", false);
	start(fx);
	assert_int_equal(informer_count(fx->inf), 1234);
	assert_int_equal(informer_count_trimmed(fx->inf), 1234);
	assert_int_equal(count_lines(&fx->rec, "ADD "), 1234);
	assert_int_equal(fake_streams(fx->fake), 1);
	assert_int_equal(fake_lists(fx->fake), 0);
	assert_true(fake_wait_watching(fx->fake, 1, DEADLINE_MS));
	assert_true(fake_wait_watch_requests(fx->fake, 1, DEADLINE_MS));
	fake_last_watch_rv(fx->fake, rv, sizeof(rv));
	snprintf(want, sizeof(want), "%lld", (long long)last);
	assert_string_equal(rv, want);	/* the bookmark's, not an object's */
	r = fake_put(fx->fake, "mine", false);
	snprintf(line, sizeof(line), "ADD mine %lld", (long long)r);
	expect(fx, line);
	assert_int_equal(fake_streams(fx->fake), 1);
	assert_int_equal(fake_lists(fx->fake), 0);
}

/* A server without the WatchList feature: pages, and no streamed list again. */
static void test_stream_refused_lists_in_pages(void **state)
{
	struct fixture *fx = *state;
	char line[64];
	int64_t r;

	fake_set_stream_refused(fx->fake, true);
	fake_put(fx->fake, "a", false);
	fake_put(fx->fake, "drop", false);
	start(fx);
	assert_int_equal(informer_count(fx->inf), 2);
	assert_int_equal(fake_streams(fx->fake), 1);
	assert_int_equal(fake_lists(fx->fake), 1);
	/* 410: the relist is paged too */
	assert_true(informer_pause(fx->inf, DEADLINE_MS));
	fake_delete(fx->fake, "drop");
	r = fake_put(fx->fake, "b", false);
	fake_compact(fx->fake);
	informer_resume(fx->inf);
	snprintf(line, sizeof(line), "ADD b %lld", (long long)r);
	expect(fx, line);
	expect(fx, "DELETE drop 102");
	assert_int_equal(fake_lists(fx->fake), 2);
	assert_int_equal(fake_streams(fx->fake), 1);
}

/*
 * A stream cut before its end bookmark is no list: the informer is not
 * synced, deletes nothing, and lists again (in pages, after that failure).
 */
static void test_stream_cut_before_end_is_no_list(void **state)
{
	struct fixture *fx = *state;

	fake_set_stream_end_withheld(fx->fake, true);
	fake_put(fx->fake, "a", false);
	fake_put(fx->fake, "b", false);
	assert_int_equal(informer_start(fx->inf, &(struct err)ERR_INIT), 0);
	expect(fx, "ADD a 101");
	expect(fx, "ADD b 102");
	assert_false(informer_synced(fx->inf));
	assert_false(informer_wait_synced(fx->inf, 300));
	fake_delete(fx->fake, "a");
	fake_cut_watches(fx->fake);
	assert_true(informer_wait_synced(fx->inf, DEADLINE_MS));
	assert_int_equal(fake_lists(fx->fake), 1);
	assert_int_equal(informer_count(fx->inf), 1);
	expect(fx, "DELETE a 101");	/* found gone by the paged list */
	assert_int_equal(count_lines(&fx->rec, "DELETE "), 1);
}

/* 410 Gone with streamed lists: the relist streams and delivers the difference. */
static void test_stream_relist_delivers_difference(void **state)
{
	struct fixture *fx = *state;
	char line[64];
	int64_t ra, rc;

	fake_put(fx->fake, "keep", false);
	fake_put(fx->fake, "change", false);
	fake_put(fx->fake, "drop", false);
	start(fx);
	assert_true(fake_wait_watching(fx->fake, 1, DEADLINE_MS));
	assert_true(informer_pause(fx->inf, DEADLINE_MS));
	ra = fake_put(fx->fake, "new", false);
	rc = fake_put(fx->fake, "change", false);
	fake_delete(fx->fake, "drop");
	fake_compact(fx->fake);
	informer_resume(fx->inf);
	snprintf(line, sizeof(line), "ADD new %lld", (long long)ra);
	expect(fx, line);
	snprintf(line, sizeof(line), "UPDATE change %lld", (long long)rc);
	expect(fx, line);
	expect(fx, "DELETE drop 103");
	assert_int_equal(fake_streams(fx->fake), 2);
	assert_int_equal(fake_lists(fx->fake), 0);
	assert_int_equal(informer_count(fx->inf), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_in_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_watch_resumes_without_relist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_relists_and_delivers_difference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bookmark_moves_resource_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undecodable_object_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_then_resume_catches_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large_page_is_halved, setup_small_cap,
						teardown),
		cmocka_unit_test_setup_teardown(test_object_larger_than_cap_is_retried,
						setup_small_cap, teardown),
		cmocka_unit_test_setup_teardown(test_short_watches_back_off, setup, teardown),
		{ "packed: list in pages", test_list_in_pages, setup_packed, teardown, NULL },
		{ "packed: events in order", test_events_in_order, setup_packed, teardown, NULL },
		{ "packed: gone relists and delivers the difference",
		  test_gone_relists_and_delivers_difference, setup_packed, teardown, NULL },
		{ "trimmed: objects follow their versions", test_trimmed_objects_follow_their_versions,
		  setup_trimmed, teardown, NULL },
		{ "trimmed: gone relists and delivers the difference",
		  test_gone_relists_and_delivers_difference, setup_trimmed, teardown, NULL },
		{ "stream: list then watch", test_stream_list_then_watch, setup_stream, teardown,
		  NULL },
		{ "stream: refused, lists in pages", test_stream_refused_lists_in_pages, setup_stream,
		  teardown, NULL },
		{ "stream: cut before its end is no list", test_stream_cut_before_end_is_no_list,
		  setup_stream, teardown, NULL },
		{ "stream: relist after 410 delivers the difference",
		  test_stream_relist_delivers_difference, setup_stream, teardown, NULL },
	};
	int failed;

	log_set_level(0);
	failed = cmocka_run_group_tests_name("informer", tests, NULL, NULL);
	printf("tests: %zu passed, %d failed\n", sizeof(tests) / sizeof(tests[0]) - (size_t)failed,
	       failed);
	return failed ? 1 : 0;
}
