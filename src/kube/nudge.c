// SPDX-License-Identifier: Apache-2.0
/*
 * nudge.c - the requests transport's nudges (see client_int.h): one small
 * GET on the connection of a plain answer that went silent with its bytes
 * in, for libcurl before 8.1.0. Runs on the transport thread only, in its
 * loop (transport.c); no lock of its own.
 *
 * DESIGN. Nudges are for libcurl before 8.1.0 only (bookworm's 7.88.1):
 * its HTTP/2 code can take in a response's last DATA frame, END_STREAM included, and
 * hand every byte to the write callback, yet not finish the transfer until
 * more bytes arrive on the connection. Seen when another stream of the
 * connection (an idle watch) read the socket on the response's behalf:
 * list pages of 10,000 PVs stopped at their full size ("Operation timed
 * out after 30000 milliseconds with 27629 bytes received") while the API
 * server's HTTP/2 frame log (GODEBUG=http2debug=2) showed all 27629 bytes
 * and END_STREAM written in 14 ms; forced reads of the transfer did not
 * end it, a new request on the connection did (tests/tools/list-stall).
 * The receive path was rewritten in curl 8.1.0 (stream buffers instead of
 * pausing nghttp2, commit 744dcf22fa, curl PR #10771), which this waits
 * for. So a plain transfer whose answer began and then went silent for
 * NUDGE_MS gets a nudge: one small GET (/version) on the same connection,
 * whose bytes make libcurl read and finish what it holds. Any answer will
 * do, but the nudge carries the stalled request's credentials: to an
 * anonymous or refused request kube-apiserver answers with a GOAWAY
 * (its CVE-2023-44487 mitigation), and every stream in flight past it died
 * and was retried by libcurl on a connection of its own (9 to 66
 * connections after one nudge in tests/e2e's concurrent-requests stress).
 * The answers are looked at every NUDGE_CHECK_MS, not on every pass of the
 * loop (a getinfo per transfer in flight). At most one nudge in flight per
 * transport; a legitimately slow answer costs one such GET per NUDGE_MS.
 * Watches are idle by nature and get none: they have connections of
 * their own, where no stall was seen (a watch's end would be held until
 * the next event or bookmark of another watch).
 */
#include "kube/client_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

/* A plain answer silent this long after it began gets a nudge (see the top). */
#define NUDGE_MS 1000
/* The nudge's own deadline. */
#define NUDGE_TIMEOUT_MS 10000L
/* How often the plain answers are looked at for silence (not every pass). */
#define NUDGE_CHECK_MS 250

static size_t nudge_discard(char *data, size_t size, size_t n, void *p)
{
	(void)data;
	(void)p;
	return size * n;
}

/*
 * Transport thread: send the nudge (see the top) on t's connection (plain
 * transfers run in lane 0, the requests transport's only one). t's
 * client is alive (its request is in flight) but may be freed before the
 * nudge ends, so nothing of it is borrowed: the TLS blobs are copied.
 */
static void nudge_start(struct transport *tp, struct tx *t)
{
	struct kube_client *c = t->client;
	char *url = xasprintf("%s/version", c->server);
	CURL *h = curl_easy_init();

	if (!h)
		BUG("curl_easy_init failed");
	tp->nudge_err[0] = '\0';
	/* the answer's own credentials: kube-apiserver ends a connection with
	 * GOAWAY after an anonymous or refused request (CVE-2023-44487
	 * mitigation), killing every stream in flight on it */
	tp->nudge_hdrs = kube_easy_headers(t->auth_hdr, NULL);
	kube_easy_setup(c, h, url, tp->nudge_hdrs, NULL, tp->nudge_err);
	if (c->ca_data && !c->insecure) {	/* as kube_easy_setup's, or no shared connection */
		struct curl_blob b = { c->ca_data, c->ca_len, CURL_BLOB_COPY };

		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	}
	if (c->cert_data) {
		struct curl_blob b = { c->cert_data, c->cert_len, CURL_BLOB_COPY };

		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
	}
	if (c->key_data) {
		struct curl_blob b = { c->key_data, c->key_len, CURL_BLOB_COPY };

		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
	}
	curl_easy_setopt(h, CURLOPT_SHARE, tp->share);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, nudge_discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, NUDGE_TIMEOUT_MS);
	free(url);
	if (curl_multi_add_handle(tp->lanes[0].multi, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		curl_slist_free_all(tp->nudge_hdrs);
		tp->nudge_hdrs = NULL;
		return;
	}
	tp->nudge = h;
}

void kube_nudge_done(struct transport *tp, CURLcode rc)
{
	if (rc != CURLE_OK)
		log_v(2, "kube transport: the connection's nudge failed: %s%s%s",
		      curl_easy_strerror(rc), tp->nudge_err[0] ? ": " : "", tp->nudge_err);
	curl_easy_cleanup(tp->nudge);
	tp->nudge = NULL;
	curl_slist_free_all(tp->nudge_hdrs);
	tp->nudge_hdrs = NULL;
}

/*
 * Whether a nudge of c's can ride on the connection of c's requests: TLS
 * settings as theirs (libcurl shares a connection only then), so not with
 * an exec plugin's certificate, which the nudge does not have; and HTTP/2,
 * so not over plain http (a connection per transfer).
 */
static bool nudge_fits(const struct kube_client *c)
{
	return !strncmp(c->server, "https://", 8) && !c->tok.exec;
}

/* Transport thread: nudge the connection of a plain answer that went silent. */
static void check_silent(struct transport *tp, int64_t now)
{
	for (size_t i = 0; i < tp->nlive && !tp->nudge; i++) {
		struct tx *t = tp->live[i];
		curl_off_t got = 0;
		long status = 0;

		curl_easy_getinfo(t->h, CURLINFO_SIZE_DOWNLOAD_T, &got);
		if (got != t->seen_bytes) {
			t->seen_bytes = got;
			t->seen_ms = now;
			continue;
		}
		if (now - t->seen_ms < NUDGE_MS)
			continue;
		curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
		if (!status)
			continue;	/* not answered yet: the server's time, not libcurl's */
		if (!nudge_fits(t->client))
			continue;
		t->seen_ms = now;
		log_v(2, "kube transport: an answer (HTTP %ld, %" CURL_FORMAT_CURL_OFF_T
		      " bytes) silent for %d ms: nudging its connection", status, got, NUDGE_MS);
		nudge_start(tp, t);
	}
}

void kube_nudge_tick(struct transport *tp, int64_t now)
{
	if (tp->nudges && tp->nlive && now >= tp->nudge_check_ms) {
		check_silent(tp, now);
		tp->nudge_check_ms = now + NUDGE_CHECK_MS;
	}
}
