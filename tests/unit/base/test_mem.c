// SPDX-License-Identifier: Apache-2.0
/*
 * test_mem.c - mem_drop_file_pages unmaps the resident pages of the
 * read-only segments of the program and its libraries, which then work as
 * before (their pages come back on the next touch), and never a page the
 * loader wrote: the relocated pointers of RELRO keep their values. Other
 * file mappings are not its business and keep their pages.
 * mem_drop_stack unmaps the deep pages of the calling thread's stack, not
 * the caller's own frame, and the thread calls deep again as before.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/mem.h"

#define PAGES 16

/* pointers the loader relocates at start (RELRO in a position-independent executable) */
const char *const relro_names[] = { "zero", "one", "two", "three" };

/* Rss in KiB of the mapping holding p, from /proc/self/smaps */
static long rss_kib(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	unsigned long start, end;
	long rss = -1;
	int in = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = (uintptr_t)p >= start && (uintptr_t)p < end;
		else if (in && sscanf(line, "Rss: %ld kB", &rss) == 1)
			break;
	}
	fclose(f);
	return rss;
}

static void library_code_pages_go_and_come_back(void **state)
{
	const void *libc_code = (const void *)(uintptr_t)&fopen;
	long before = rss_kib(libc_code), dropped;

	assert_true(before > 0);
	dropped = mem_drop_file_pages();
	assert_true(dropped >= 0);
	assert_true(rss_kib(libc_code) < before);	/* rss_kib itself touches some again */
	/* and libc still works */
	char *s = strdup("still here");
	assert_string_equal(s, "still here");
	free(s);
}

static void relocated_pointers_keep_their_values(void **state)
{
	static const char *const want[] = { "zero", "one", "two", "three" };
	volatile size_t i;
	char buf[16];

	mem_drop_file_pages();
	for (i = 0; i < 4; i++) {
		assert_non_null(relro_names[i]);
		snprintf(buf, sizeof(buf), "%s", relro_names[i]);
		assert_string_equal(buf, want[i]);
	}
}

static void other_file_mappings_keep_their_pages(void **state)
{
	char path[] = "/tmp/test-mem-XXXXXX";
	long page = sysconf(_SC_PAGESIZE);
	int fd = mkstemp(path);
	char *p;

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, PAGES * page), 0);
	p = mmap(NULL, PAGES * page, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(p != MAP_FAILED);
	for (int i = 0; i < PAGES; i++)
		assert_int_equal(((volatile char *)p)[i * page], 0);
	assert_int_equal(rss_kib(p), PAGES * page / 1024);
	mem_drop_file_pages();
	assert_int_equal(rss_kib(p), PAGES * page / 1024);
	munmap(p, PAGES * page);
	close(fd);
}

/* mem_trim_heap from many threads at once, first thing in the process
 * (under ASan glibc's malloc was never set up: the first malloc_trim set it
 * up, unlocked, and threads trimming together crashed in it) */
#define TRIMMERS 8
static pthread_barrier_t trim_start;

static void *trimmer(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&trim_start);
	mem_trim_heap();
	return NULL;
}

static void threads_trim_at_once(void **state)
{
	pthread_t t[TRIMMERS];

	(void)state;
	pthread_barrier_init(&trim_start, NULL, TRIMMERS);
	for (int i = 0; i < TRIMMERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, trimmer, NULL), 0);
	for (int i = 0; i < TRIMMERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&trim_start);
}

#define DEEP (128 * 1024)

/* touch DEEP bytes of stack below the caller; returns the lowest address touched */
static __attribute__((noinline)) uintptr_t go_deep(unsigned char seed)
{
	volatile unsigned char a[DEEP];
	unsigned sum = 0;

	for (size_t i = 0; i < DEEP; i++)
		a[i] = (unsigned char)(seed + i);
	for (size_t i = 0; i < DEEP; i += 4096)
		sum += a[i];
	assert_int_equal(sum % 256, sum % 256);
	return (uintptr_t)&a[0];
}

/* whether the page holding p is resident */
static int resident(uintptr_t p)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char v = 0;

	assert_int_equal(mincore((void *)(p & ~(uintptr_t)(page - 1)), 1, &v), 0);
	return v & 1;
}

struct stack_probe {
	uintptr_t low, deep;
	size_t dropped;
	int deep_before, deep_after, frame_after;
};

static void *probe(void *arg)
{
	struct stack_probe *pr = arg;
	volatile int here = 1;

	pr->low = mem_stack_low();
	pr->deep = go_deep(7) + DEEP / 2;
	pr->deep_before = resident(pr->deep);
	pr->dropped = mem_drop_stack(pr->low, 1024);
	pr->deep_after = resident(pr->deep);
	pr->frame_after = resident((uintptr_t)&here);
	go_deep(9);	/* and the thread goes deep again */
	return NULL;
}

static void idle_stack_pages_go(void **state)
{
	struct stack_probe pr = { 0 };
	pthread_attr_t attr;
	pthread_t t;

	(void)state;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	assert_int_equal(pthread_create(&t, &attr, probe, &pr), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_attr_destroy(&attr);
	assert_true(pr.low != 0);
	assert_true(pr.deep > pr.low);
	assert_int_equal(pr.deep_before, 1);
	assert_true(pr.dropped >= DEEP / 2);
	assert_int_equal(pr.deep_after, 0);
	assert_int_equal(pr.frame_after, 1);
}

static void unknown_stack_is_left_alone(void **state)
{
	(void)state;
	assert_int_equal(mem_drop_stack(0, 1024), 0);
	/* a bound above the caller's frame: nothing below it to drop */
	assert_int_equal(mem_drop_stack((uintptr_t)__builtin_frame_address(0), 1024), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_trim_at_once),	/* first: see there */
		cmocka_unit_test(library_code_pages_go_and_come_back),
		cmocka_unit_test(relocated_pointers_keep_their_values),
		cmocka_unit_test(other_file_mappings_keep_their_pages),
		cmocka_unit_test(idle_stack_pages_go),
		cmocka_unit_test(unknown_stack_is_left_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
