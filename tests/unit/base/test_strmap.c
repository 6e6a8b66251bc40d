// SPDX-License-Identifier: Apache-2.0
/* test_strmap.c - the string map of src/base/strmap.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/strmap.h"
#include "base/xalloc.h"

static void test_set_get_replace(void **state)
{
	struct strmap m = STRMAP_INIT;

	assert_null(strmap_get(&m, "a"));
	assert_null(strmap_get(NULL, "a"));
	strmap_set(&m, "b", "1");
	strmap_set(&m, "a", "2");
	strmap_set(&m, "b", "three");
	assert_int_equal(m.n, 2);
	assert_string_equal(strmap_get(&m, "b"), "three");
	assert_ptr_equal(strmap_find(&m, "b"), &m.items[0]);
	assert_string_equal(strmap_get(&m, "a"), "2");
	assert_null(strmap_get(&m, NULL));
	/* insertion order is kept: the replaced key stays first */
	assert_string_equal(m.items[0].key, "b");
	strmap_release(&m);
	assert_int_equal(m.n, 0);
	assert_null(m.items);
	strmap_release(NULL);
}

static void test_add_owned_and_secret_release(void **state)
{
	struct strmap m = STRMAP_INIT, c;

	strmap_add_owned(&m, xstrdup("password"), xstrdup("hunter2"));
	strmap_add_owned(&m, xstrdup("token"), xstrdup(""));
	strmap_copy(&c, &m);
	assert_true(strmap_equal(&m, &c));
	assert_ptr_not_equal(c.items[0].value, m.items[0].value);
	c.items[0].value[0] = 'H';
	assert_false(strmap_equal(&m, &c));
	strmap_release_secret(&m);
	strmap_release_secret(&c);
	assert_null(m.items);
	assert_int_equal(m.n, 0);
	strmap_release_secret(NULL);
}

static void test_sort_and_cmp(void **state)
{
	struct strmap a = STRMAP_INIT, b = STRMAP_INIT, one = STRMAP_INIT;

	strmap_set(&a, "zone", "z1");
	strmap_set(&a, "rack", "r1");
	strmap_set(&b, "rack", "r1");
	strmap_set(&b, "zone", "z1");
	strmap_set(&one, "zone", "z9");
	strmap_sort(&a);
	strmap_sort(&b);
	assert_string_equal(a.items[0].key, "rack");
	assert_int_equal(strmap_cmp(&a, &b), 0);
	/* fewer entries first, whatever the keys */
	assert_true(strmap_cmp(&one, &a) < 0);
	assert_true(strmap_cmp(&a, &one) > 0);
	strmap_set(&b, "zone", "z2");
	assert_true(strmap_cmp(&a, &b) < 0);
	strmap_release(&a);
	strmap_release(&b);
	strmap_release(&one);
}

static void test_subset_equal(void **state)
{
	struct strmap a = STRMAP_INIT, b = STRMAP_INIT, empty = STRMAP_INIT;

	strmap_set(&a, "k1", "v1");
	strmap_set(&b, "k2", "v2");
	strmap_set(&b, "k1", "v1");
	assert_true(strmap_subset(&a, &b));
	assert_false(strmap_subset(&b, &a));
	assert_true(strmap_subset(&empty, &a));
	assert_false(strmap_equal(&a, &b));
	strmap_set(&a, "k2", "v2");
	assert_true(strmap_equal(&a, &b));	/* order does not matter */
	strmap_set(&a, "k2", "other");
	assert_false(strmap_equal(&a, &b));
	assert_true(strmap_equal(&empty, &empty));
	strmap_release(&a);
	strmap_release(&b);
}

static void test_copy_is_deep(void **state)
{
	struct strmap a = STRMAP_INIT, c, empty = STRMAP_INIT;

	strmap_set(&a, "k", "v");
	strmap_copy(&c, &a);
	strmap_release(&a);
	assert_string_equal(strmap_get(&c, "k"), "v");
	strmap_set(&c, "k2", "v2");	/* the copy can grow */
	assert_int_equal(c.n, 2);
	strmap_release(&c);
	strmap_copy(&c, &empty);
	assert_int_equal(c.n, 0);
	assert_null(c.items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_replace),
		cmocka_unit_test(test_add_owned_and_secret_release),
		cmocka_unit_test(test_sort_and_cmp),
		cmocka_unit_test(test_subset_equal),
		cmocka_unit_test(test_copy_is_deep),
	};

	return cmocka_run_group_tests_name("strmap", tests, NULL, NULL);
}
