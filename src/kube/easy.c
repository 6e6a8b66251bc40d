// SPDX-License-Identifier: Apache-2.0
/*
 * easy.c - what every request's easy handle is set up with (URL, TLS,
 * credentials, headers), and a failed transfer told as a kube error with
 * curl's own words (see client_int.h). Pure set-up: no thread of its own,
 * no lock; requests' handles run on their callers' threads (direct.c),
 * watches' on the watches' transport thread (transport.c).
 */
#include "kube/client_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

#define CONNECT_TIMEOUT_MS 30000L

/* Where the CA comes from, for TLS messages. Caller frees. */
static char *ca_source(const struct kube_client *c)
{
	if (c->insecure)
		return xstrdup("none (insecure-skip-tls-verify)");
	if (c->ca_data)
		return xstrdup("certificate-authority-data");
	if (c->ca_file)
		return xasprintf("'%s'", c->ca_file);
	return xstrdup("the system CA bundle");
}

int kube_curl_error(const struct kube_client *c, CURLcode cc, const char *errbuf,
		    const char *verb, const char *url, struct err *e)
{
	const char *what = NULL;
	char *ca = NULL;
	int code;

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		code = KUBE_ERR_TIMEOUT;
		break;
	case CURLE_ABORTED_BY_CALLBACK:
		code = KUBE_ERR_CANCELLED;
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		ca = ca_source(c);
		what = "TLS: the API server's certificate does not verify against CA ";
		code = KUBE_ERR_TLS;
		break;
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
		ca = ca_source(c);
		what = "TLS: cannot load CA ";
		code = KUBE_ERR_TLS;
		break;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CLIENTCERT:
		what = "TLS: the client certificate or key was refused or cannot be loaded";
		code = KUBE_ERR_TLS;
		break;
	case CURLE_SEND_FAIL_REWIND:
		what = "the connection closed after the request was sent, before any answer; "
		       "not sent again, it may or may not have taken effect";
		code = KUBE_ERR_TRANSPORT;
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		what = "TLS handshake failed";
		code = KUBE_ERR_TLS;
		break;
	default:
		code = KUBE_ERR_TRANSPORT;
	}
	/* curl's own text is kept in parentheses: it names the precise cause */
	if (what)
		err_set(e, code, "%s %s: %s%s (%s%s%s)", verb, url, what, ca ? ca : "",
			curl_easy_strerror(cc), errbuf && *errbuf ? ": " : "",
			errbuf ? errbuf : "");
	else
		err_set(e, code, "%s %s: %s%s%s%s", verb, url, curl_easy_strerror(cc),
			errbuf && *errbuf ? " (" : "", errbuf ? errbuf : "",
			errbuf && *errbuf ? ")" : "");
	free(ca);
	return code;
}

/* Options every request shares: URL, TLS, auth, headers. */
void kube_easy_setup(struct kube_client *c, CURL *h, const char *url, struct curl_slist *hdrs,
		     const struct auth *au, char *errbuf, bool watch)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_SHARE, c->tp->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	/* a watch multiplexed on its lane's HTTP/2 connection; a request on a
	 * connection of its own, to itself while it runs (direct.c) */
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, watch ? (long)CURL_HTTP_VERSION_2TLS
						       : (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
	/*
	 * A watch waits for its lane's shared connection rather than opening
	 * another, where HTTP/2 can be negotiated (TLS); over plain http it
	 * cannot, and waiting would queue every watch behind the first.
	 */
	if (watch && !strncmp(c->server, "https://", 8))
		curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
	/*
	 * A request's handle keeps one connection, not libcurl's default five
	 * (a new client certificate from the exec plugin needs a new one), and
	 * does not reuse one idle for 60 s: servers and load balancers close
	 * idle connections (kube-apiserver, Go's http.Server, after 90 s), and
	 * a write sent as the close comes fails (perform in request.c). Its
	 * TLS session is its own (direct.c).
	 */
	if (!watch) {
		curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L);
		curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, 60L);
	}
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (c->ca_data) {
			struct curl_blob blob = { c->ca_data, c->ca_len, CURL_BLOB_NOCOPY };

			curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
		} else if (c->ca_file) {
			curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
		}
	}
	if (au && au->cred.cert_pem) {
		/* an exec plugin's certificate: copied, the credential is freed after the call */
		struct curl_blob cb = { au->cred.cert_pem, au->cred.cert_len, CURL_BLOB_COPY };
		struct curl_blob kb = { au->cred.key_pem, au->cred.key_len, CURL_BLOB_COPY };

		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
		return;
	}
	if (c->cert_data) {
		struct curl_blob blob = { c->cert_data, c->cert_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (c->cert_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
	}
	if (c->key_data) {
		struct curl_blob blob = { c->key_data, c->key_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (c->key_file) {
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
	}
}

struct curl_slist *kube_easy_headers(const char *auth, const char *ctype)
{
	struct curl_slist *l = NULL;
	char *ct;

	l = curl_slist_append(l, "Accept: application/json");
	l = curl_slist_append(l, "Expect:");
	if (auth)
		l = curl_slist_append(l, auth);
	if (ctype) {
		ct = xasprintf("Content-Type: %s", ctype);
		l = curl_slist_append(l, ct);
		free(ct);
	}
	if (!l)
		BUG("curl_slist_append failed");
	return l;
}
