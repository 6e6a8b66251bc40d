// SPDX-License-Identifier: Apache-2.0
/*
 * test_request_body.c - request bodies reach the server whole: a body
 * larger than libcurl's upload buffer (16 KiB since the upload buffer was
 * cut from its 64 KiB default, request.c) goes in several pieces, and a
 * text body (kube_create_text) is sent byte for byte with its length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "base/err.h"
#include "fake_http.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

struct fake {
	struct fhttp *http;
	pthread_mutex_t mu;
	char *body;	/* the last POST's body */
	char *ctype;	/* and its Content-Type line */
};

static void handle(void *ctx, int fd, const char *method, char *target, const char *head,
		   const char *body)
{
	struct fake *f = ctx;
	const char *ct = strcasestr(head, "\r\ncontent-type:");
	json_t *empty = json_object();

	(void)target;
	pthread_mutex_lock(&f->mu);
	if (!strcmp(method, "POST")) {
		free(f->body);
		free(f->ctype);
		f->body = strdup(body);
		f->ctype = ct ? strndup(ct + 2, strcspn(ct + 2, "\r")) : NULL;
	}
	pthread_mutex_unlock(&f->mu);
	fhttp_respond(fd, 201, empty);
	json_decref(empty);
}

static struct kube_client *client(struct fake *f)
{
	struct kube_config cfg = { 0 };
	struct kube_client_opts o = { .qps = 1000, .burst = 1000 };
	struct kube_client *c = NULL;
	struct err e = ERR_INIT;

	pthread_mutex_init(&f->mu, NULL);
	f->http = fhttp_start(handle, f);
	assert_non_null(f->http);
	cfg.server = (char *)fhttp_url(f->http);
	assert_int_equal(kube_client_new(&c, &cfg, &o, &e), 0);
	return c;
}

static void done(struct fake *f, struct kube_client *c)
{
	kube_client_free(c);
	fhttp_stop(f->http);
	free(f->body);
	free(f->ctype);
	pthread_mutex_destroy(&f->mu);
}

static void test_body_larger_than_the_upload_buffer_arrives_whole(void **state)
{
	struct fake f = { 0 };
	struct kube_client *c = client(&f);
	struct err e = ERR_INIT;
	size_t n = 100 * 1024;
	char *big = malloc(n + 1);
	json_t *obj;

	(void)state;
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n] = '\0';
	obj = json_pack("{s:s, s:s}", "kind", "ConfigMap", "data", big);
	assert_int_equal(kube_create(c, "/api/v1/namespaces/ns/configmaps", obj, NULL, &e), 0);
	{
		json_error_t je;
		json_t *got = json_loads(f.body, 0, &je);

		assert_non_null(got);
		assert_true(json_equal(got, obj));
		json_decref(got);
	}
	json_decref(obj);
	free(big);
	done(&f, c);
}

static void test_text_body_is_sent_as_given(void **state)
{
	static const char text[] = "{\"kind\":\"Event\",\"message\":\"a \\\"quoted\\\" word\"}";
	struct fake f = { 0 };
	struct kube_client *c = client(&f);
	struct err e = ERR_INIT;
	json_t *out = NULL;

	(void)state;
	/* the length given is what goes: the trailing '}' is left out on purpose */
	assert_int_equal(kube_create_text(c, "/api/v1/namespaces/ns/events", text,
					  sizeof(text) - 2, &out, &e), 0);
	assert_non_null(out);
	assert_int_equal(strlen(f.body), sizeof(text) - 2);
	assert_memory_equal(f.body, text, sizeof(text) - 2);
	assert_non_null(f.ctype);
	assert_string_equal(f.ctype, "Content-Type: application/json");
	json_decref(out);
	assert_int_equal(kube_create_text(c, "/api/v1/namespaces/ns/events", NULL, 0, NULL, &e),
			 KUBE_ERR_INVALID);
	err_release(&e);
	done(&f, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_larger_than_the_upload_buffer_arrives_whole),
		cmocka_unit_test(test_text_body_is_sent_as_given),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
