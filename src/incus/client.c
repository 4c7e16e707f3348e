/*
 * client.c - the HTTP transport to one Incus server (libcurl, OpenSSL).
 *
 * One curl easy handle per struct incus_conn, reused for every request so
 * that the connection stays alive. Over https the server is pinned by the
 * SHA-256 of its certificate: an OpenSSL certificate verification callback,
 * installed through CURLOPT_SSL_CTX_FUNCTION, replaces the CA check and fails
 * the handshake (before any request is sent) when the fingerprint differs.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "incus/client.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "util/hex.h"
#include "util/banned.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_REQUEST_TIMEOUT_MS 30000
#define DEFAULT_WRITE_TIMEOUT_MS 600000
#define DEFAULT_RETRIES 3
#define DEFAULT_MAX_RESPONSE (64u << 20)
#define MAX_RETRIES 10
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 5000
#define MAX_ERROR_SHOWN 400	/* bytes of a non-JSON body quoted in a message */

struct incus_conn {
	char *name;
	char *kind;		/* "host" or "cluster", for messages */
	char *endpoint;
	char *base;		/* "http://incus" or "https://host:port" */
	char *socket_path;	/* unix endpoints */
	int https;
	char want_fp[65];
	char have_fp[65];	/* set by the verify callback */
	int pin_mismatch;
	char id_fp[65];
	char *cert_file;
	char *key_file;
	struct incus_opts opts;
	CURL *curl;
	struct buf body;	/* response of the current request */
	int too_big;
	char etag[128];
	unsigned long requests;
	unsigned long connects;
	unsigned long long bytes;
	int unreachable;	/* last request failed before reaching the server */
	int incus_error;	/* last request got an "error" envelope ... */
	char incus_msg[1024];	/* ... with this message */
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
incus_global_init(void)
{
	pthread_once(&global_once, global_init_once);
}

void
incus_path_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
		    ch == '~') {
			buf_addch(b, ch);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[ch >> 4]);
			buf_addch(b, hex[ch & 15]);
		}
	}
}

/* ---- fingerprints ------------------------------------------------------- */

static int
x509_fingerprint(X509 *x, char out[65])
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len, rc = -1;

	len = i2d_X509(x, &der);
	if (len <= 0)
		return -1;
	if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == 32) {
		hex_encode(md, mdlen, out);
		rc = 0;
	}
	OPENSSL_free(der);
	return rc;
}

int
incus_pem_fingerprint(const char *pem, char out[65], struct berr *err)
{
	BIO *bio;
	X509 *x;
	int rc;

	bio = BIO_new_mem_buf(pem, -1);
	if (!bio)
		return berr_set(err, "out of memory reading a certificate");
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!x)
		return berr_set(err, "not a PEM certificate");
	rc = x509_fingerprint(x, out);
	X509_free(x);
	if (rc < 0)
		return berr_set(err, "cannot compute the certificate's fingerprint");
	return 0;
}

/*
 * "AB:cd:..." or "abcd..." -> 64 lowercase hex digits; -1 when it is not a
 * SHA-256 fingerprint.
 */
static int
normalise_fingerprint(const char *in, char out[65])
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in == ':')
			continue;
		if (!isxdigit((unsigned char)*in) || n == 64)
			return -1;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	out[n] = '\0';
	return n == 64 ? 0 : -1;
}

/* ---- TLS pinning -------------------------------------------------------- */

/*
 * Replaces OpenSSL's chain verification: the leaf certificate must have the
 * pinned fingerprint. Nothing else (CA, name, dates) is checked: Incus
 * certificates are self-signed and name 127.0.0.1 and ::1.
 */
static int
pin_verify(X509_STORE_CTX *sctx, void *arg)
{
	struct incus_conn *c = arg;
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx);

	if (!leaf || x509_fingerprint(leaf, c->have_fp) < 0) {
		c->have_fp[0] = '\0';
		c->pin_mismatch = 1;
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	if (strcmp(c->have_fp, c->want_fp) != 0) {
		c->pin_mismatch = 1;
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

static CURLcode
ssl_ctx_cb(CURL *curl, void *sslctx, void *arg)
{
	SSL_CTX *ctx = sslctx;

	(void)curl;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, pin_verify, arg);
	return CURLE_OK;
}

/* ---- callbacks ---------------------------------------------------------- */

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct incus_conn *c = arg;
	size_t n = size * nmemb;

	if (buf_add(&c->body, data, n) < 0) {
		c->too_big = 1;
		return 0;
	}
	c->bytes += n;
	return n;
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct incus_conn *c = arg;
	size_t n = size * nmemb, len;
	const char *v, *end;

	if (n > 5 && strncasecmp(data, "ETag:", 5) == 0) {
		v = data + 5;
		end = data + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
				   end[-1] == ' ' || end[-1] == '\t'))
			end--;
		len = (size_t)(end - v);
		if (len < sizeof(c->etag)) {
			memcpy(c->etag, v, len);
			c->etag[len] = '\0';
		}
	}
	return n;
}

/* ---- connections -------------------------------------------------------- */

int
incus_tls_backend_ok(const char *ssl_version, struct berr *err)
{
	/* a multi-SSL libcurl names its choices, the one in use first or in parentheses */
	if (ssl_version && !strncmp(ssl_version, "OpenSSL/", 8))
		return 0;
	return berr_set(err, "libcurl does its TLS with %s: berth pins servers' certificates"
			" through OpenSSL and refuses any other TLS library (install a libcurl"
			" built with OpenSSL, as Debian's libcurl4 is)",
			ssl_version && *ssl_version ? ssl_version : "no TLS library");
}

/* Set a security-relevant option, or say why it could not be. */
#define SETOPT(c, opt, val)							\
	do {									\
		CURLcode rc_ = curl_easy_setopt((c)->curl, opt, val);		\
		if (rc_ != CURLE_OK) {						\
			berr_set(err, "%s \"%s\": libcurl refuses " #opt ": %s",	\
				 (c)->kind, (c)->name, curl_easy_strerror(rc_));	\
			goto fail;						\
		}								\
	} while (0)

struct incus_conn *
incus_conn_new(const char *name, const char *endpoint, const char *fingerprint,
	       const struct incus_identity *id, const struct incus_opts *opts,
	       struct berr *err)
{
	struct incus_conn *c;

	incus_global_init();
	c = xcalloc(1, sizeof(*c));
	c->name = xstrdup(name);
	c->kind = xstrdup("host");
	c->endpoint = xstrdup(endpoint);
	if (opts)
		c->opts = *opts;
	if (c->opts.connect_timeout_ms <= 0)
		c->opts.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (c->opts.request_timeout_ms <= 0)
		c->opts.request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
	if (c->opts.write_timeout_ms <= 0)
		c->opts.write_timeout_ms = DEFAULT_WRITE_TIMEOUT_MS;
	if (c->opts.retries == 0)
		c->opts.retries = DEFAULT_RETRIES;
	else if (c->opts.retries < 0)
		c->opts.retries = 0;
	if (c->opts.retries > MAX_RETRIES)
		c->opts.retries = MAX_RETRIES;
	if (!c->opts.max_response)
		c->opts.max_response = DEFAULT_MAX_RESPONSE;
	buf_init(&c->body, c->opts.max_response);

	if (strncmp(endpoint, "unix://", 7) == 0) {
		if (endpoint[7] != '/') {
			berr_set(err, "%s \"%s\": endpoint \"%s\": want unix:///absolute/path/to/unix.socket",
				 c->kind, name, endpoint);
			goto fail;
		}
		c->socket_path = xstrdup(endpoint + 7);
		c->base = xstrdup("http://incus");
	} else if (strncmp(endpoint, "https://", 8) == 0) {
		const char *hostport = endpoint + 8;
		size_t n = strlen(hostport);

		while (n && hostport[n - 1] == '/')
			n--;
		if (!n || memchr(hostport, '/', n) || memchr(hostport, '?', n)) {
			berr_set(err, "%s \"%s\": endpoint \"%s\": want https://host:port",
				 c->kind, name, endpoint);
			goto fail;
		}
		c->https = 1;
		c->base = xasprintf("https://%.*s", (int)n, hostport);
		if (!fingerprint || !*fingerprint) {
			berr_set(err, "%s \"%s\": endpoint %s is https but no server fingerprint is pinned",
				 c->kind, name, endpoint);
			goto fail;
		}
		if (normalise_fingerprint(fingerprint, c->want_fp) < 0) {
			berr_set(err, "%s \"%s\": fingerprint \"%s\": want the SHA-256 of the server certificate as 64 hex digits",
				 c->kind, name, fingerprint);
			goto fail;
		}
		if (!id || !id->cert_file || !id->key_file) {
			berr_set(err, "%s \"%s\": https needs berth's client certificate",
				 c->kind, name);
			goto fail;
		}
		c->cert_file = xstrdup(id->cert_file);
		c->key_file = xstrdup(id->key_file);
		memcpy(c->id_fp, id->fingerprint, sizeof(c->id_fp));
		c->id_fp[64] = '\0';
	} else {
		berr_set(err, "%s \"%s\": endpoint \"%s\": want https://host:port or unix:///path/to/unix.socket",
			 c->kind, name, endpoint);
		goto fail;
	}

	if (c->https && incus_tls_backend_ok(curl_version_info(CURLVERSION_NOW)->ssl_version,
					      err) < 0) {
		berr_prefix(err, "%s \"%s\"", c->kind, name);
		goto fail;
	}
	c->curl = curl_easy_init();
	if (!c->curl) {
		berr_set(err, "%s \"%s\": cannot start libcurl", c->kind, name);
		goto fail;
	}
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(c, CURLOPT_PROTOCOLS_STR, c->https ? "https" : "http");
	SETOPT(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "berth");
	curl_easy_setopt(c->curl, CURLOPT_PROXY, "");
	if (c->socket_path)
		curl_easy_setopt(c->curl, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	if (c->https) {
		SETOPT(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
		/* the pin callback first: the CA check goes off only once it is in place */
		SETOPT(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
		SETOPT(c, CURLOPT_SSL_CTX_DATA, c);
		/* the CA check is off; pin_verify() decides instead */
		SETOPT(c, CURLOPT_SSL_VERIFYPEER, 0L);
		SETOPT(c, CURLOPT_SSL_VERIFYHOST, 0L);
		/* a resumed session skips verification: never resume */
		SETOPT(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
		SETOPT(c, CURLOPT_SSLCERTTYPE, "PEM");
		SETOPT(c, CURLOPT_SSLCERT, c->cert_file);
		SETOPT(c, CURLOPT_SSLKEYTYPE, "PEM");
		SETOPT(c, CURLOPT_SSLKEY, c->key_file);
	}
	return c;
fail:
	incus_conn_free(c);
	return NULL;
}

void
incus_conn_set_kind(struct incus_conn *c, const char *kind)
{
	free(c->kind);
	c->kind = xstrdup(kind);
}

void
incus_conn_free(struct incus_conn *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	buf_release(&c->body);
	free(c->name);
	free(c->kind);
	free(c->endpoint);
	free(c->base);
	free(c->socket_path);
	free(c->cert_file);
	free(c->key_file);
	free(c);
}

void
incus_conn_stats(const struct incus_conn *c, unsigned long *requests,
		 unsigned long long *bytes)
{
	if (requests)
		*requests = c->requests;
	if (bytes)
		*bytes = c->bytes;
}

unsigned long
incus_conn_connects(const struct incus_conn *c)
{
	return c->connects;
}

int
incus_conn_unreachable(const struct incus_conn *c)
{
	return c->unreachable;
}

const char *
incus_conn_endpoint(const struct incus_conn *c)
{
	return c->endpoint;
}

void
incus_response_release(struct incus_response *resp)
{
	if (!resp)
		return;
	json_decref(resp->metadata);
	memset(resp, 0, sizeof(*resp));
}

/* ---- requests ----------------------------------------------------------- */

static int
transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return 1;
	default:
		return 0;
	}
}

static int
unreachable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* Incus's message from an error envelope, or a quoted piece of the body. */
static void
describe_body(struct incus_conn *c, json_t *env, struct buf *out)
{
	const char *e = env ? json_string_value(json_object_get(env, "error")) : NULL;
	size_t n;

	if (e && *e) {
		buf_addstr(out, e);
		return;
	}
	n = c->body.len < MAX_ERROR_SHOWN ? c->body.len : MAX_ERROR_SHOWN;
	while (n && isspace((unsigned char)c->body.buf[n - 1]))
		n--;
	if (n == 0) {
		buf_addstr(out, "empty response");
		return;
	}
	buf_addstr(out, "response \"");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)c->body.buf[i];

		if (ch == '"' || ch == '\\')
			buf_addf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			buf_addf(out, "\\x%02x", ch);
		else
			buf_addch(out, ch);
	}
	buf_addstr(out, n < c->body.len ? "...\"" : "\"");
}

static int
not_authorized(long status, json_t *env)
{
	const char *e = env ? json_string_value(json_object_get(env, "error")) : NULL;
	json_int_t code = env ? json_integer_value(json_object_get(env, "error_code")) : 0;

	if (status != 403 && code != 403)
		return 0;
	return !e || !*e || strcasestr(e, "not authorized") != NULL;
}

/*
 * One attempt. Returns 0 when an envelope of type sync or async arrived,
 * -1 otherwise; *retry says whether a GET may try again.
 */
static int
attempt(struct incus_conn *c, const char *method, const char *path,
	const char *payload, const char *if_match, long timeout_ms,
	struct incus_response *resp, int *retry, struct berr *err)
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *ifm = NULL;
	json_t *env = NULL;
	json_error_t jerr;
	struct buf msg = BUF_INIT;
	const char *type;
	CURLcode rc;
	long status = 0;
	int ret = -1;

	*retry = 0;
	buf_reset(&c->body);
	c->too_big = 0;
	c->etag[0] = '\0';
	c->pin_mismatch = 0;
	c->have_fp[0] = '\0';
	c->errbuf[0] = '\0';
	c->unreachable = 0;
	c->incus_error = 0;
	c->incus_msg[0] = '\0';

	url = xasprintf("%s%s", c->base, path);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (if_match && *if_match) {
		ifm = xasprintf("If-Match: %s", if_match);
		hdrs = curl_slist_append(hdrs, ifm);
	}
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	} else {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(payload ? strlen(payload) : 0));
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload ? payload : "");
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);

	c->requests++;
	rc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	{
		long nc = 0;

		if (curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &nc) == CURLE_OK && nc > 0)
			c->connects += (unsigned long)nc;
	}
	resp->http_status = status;

	if (c->pin_mismatch) {
		if (c->have_fp[0])
			berr_set(err, "%s \"%s\": server certificate fingerprint is %s, the manifest pins %s: refusing to connect",
				 c->kind, c->name, c->have_fp, c->want_fp);
		else
			berr_set(err, "%s \"%s\": server sent no usable certificate, the manifest pins %s: refusing to connect",
				 c->kind, c->name, c->want_fp);
		goto out;
	}
	if (c->too_big) {
		berr_set(err, "%s \"%s\": %s %s: response is over the limit of %zu bytes",
			 c->kind, c->name, method, path, c->opts.max_response);
		goto out;
	}
	if (rc != CURLE_OK) {
		c->unreachable = unreachable_curl(rc);
		*retry = transient_curl(rc);
		berr_set(err, "%s \"%s\": %s %s at %s: %s",
			 c->kind, c->name, method, path, c->endpoint,
			 c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
		goto out;
	}
	if (status == 502 || status == 503 || status == 504)
		*retry = 1;

	env = json_loadb(c->body.buf, c->body.len, JSON_REJECT_DUPLICATES, &jerr);
	type = env ? json_string_value(json_object_get(env, "type")) : NULL;
	memcpy(resp->etag, c->etag, sizeof(resp->etag));

	if (env && type && (strcmp(type, "sync") == 0 || strcmp(type, "async") == 0) &&
	    status >= 200 && status < 300) {
		json_t *md = json_object_get(env, "metadata");
		const char *op = json_string_value(json_object_get(env, "operation"));

		resp->metadata = (md && !json_is_null(md)) ? json_incref(md) : NULL;
		if (op && strlen(op) < sizeof(resp->operation))
			memcpy(resp->operation, op, strlen(op) + 1);
		if (strcmp(type, "async") == 0 && resp->metadata && !resp->operation[0]) {
			const char *id = json_string_value(json_object_get(resp->metadata, "id"));

			if (id)
				snprintf(resp->operation, sizeof(resp->operation),
					 "/1.0/operations/%s", id);
		}
		ret = 0;
		goto out;
	}

	if (c->https && not_authorized(status, env)) {
		berr_set(err, "%s \"%s\" does not trust berth's certificate (fingerprint %s): run `berth host trust-command %s` and execute its output on the host",
			 c->kind, c->name, c->id_fp, c->name);
		goto out;
	}
	describe_body(c, env, &msg);
	if (env && type && strcmp(type, "error") == 0) {
		c->incus_error = 1;
		snprintf(c->incus_msg, sizeof(c->incus_msg), "%s", msg.buf);
	}
	if (env && type && strcmp(type, "error") == 0 && status >= 200 && status < 300)
		berr_set(err, "%s \"%s\": %s %s: HTTP %ld (error_code %lld): %s",
			 c->kind, c->name, method, path, status,
			 (long long)json_integer_value(json_object_get(env, "error_code")),
			 msg.buf);
	else if (env && type && strcmp(type, "error") != 0 && status >= 200 && status < 300)
		berr_set(err, "%s \"%s\": %s %s: HTTP %ld: want an Incus response of type sync, async or error, have \"%s\"",
			 c->kind, c->name, method, path, status, type);
	else if (!env && status >= 200 && status < 300)
		berr_set(err, "%s \"%s\": %s %s: HTTP %ld: response is not JSON (%s)",
			 c->kind, c->name, method, path, status, jerr.text);
	else
		berr_set(err, "%s \"%s\": %s %s: HTTP %ld: %s",
			 c->kind, c->name, method, path, status, msg.buf);
out:
	json_decref(env);
	buf_release(&msg);
	curl_slist_free_all(hdrs);
	/* the header list and payload must outlive the transfer only */
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	free(ifm);
	free(url);
	return ret;
}

static int
request_timeout(struct incus_conn *c, const char *method, const char *path,
		const json_t *body, const char *if_match, long timeout_ms,
		struct incus_response *resp, struct berr *err)
{
	char *payload = NULL;
	int is_get = strcmp(method, "GET") == 0;
	int tries = is_get ? c->opts.retries + 1 : 1;
	long backoff = BACKOFF_FIRST_MS;
	int ret = -1, retry;

	memset(resp, 0, sizeof(*resp));
	if (!path || path[0] != '/') {
		c->unreachable = 0;
		return berr_set(err, "%s \"%s\": %s \"%s\": want a path starting with /",
				c->kind, c->name, method, path ? path : "");
	}
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (!payload)
			return berr_set(err, "%s \"%s\": %s %s: cannot encode the request body",
					c->kind, c->name, method, path);
	}
	for (int i = 0; i < tries; i++) {
		if (i > 0) {
			clock_sleep_ms(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		}
		incus_response_release(resp);
		ret = attempt(c, method, path, payload, if_match, timeout_ms, resp,
			      &retry, err);
		if (ret == 0 || !retry)
			break;
	}
	free(payload);
	return ret;
}

int
incus_request(struct incus_conn *c, const char *method, const char *path,
	      const json_t *body, const char *if_match,
	      struct incus_response *resp, struct berr *err)
{
	return request_timeout(c, method, path, body, if_match,
			       strcmp(method, "GET") ? c->opts.write_timeout_ms
						     : c->opts.request_timeout_ms, resp, err);
}

json_t *
incus_get(struct incus_conn *c, const char *path, struct berr *err)
{
	struct incus_response resp;
	json_t *md;

	if (incus_request(c, "GET", path, NULL, NULL, &resp, err) < 0) {
		incus_response_release(&resp);
		return NULL;
	}
	md = resp.metadata ? resp.metadata : json_null();
	resp.metadata = NULL;
	incus_response_release(&resp);
	return md;
}

/* ---- operations --------------------------------------------------------- */

int
incus_wait(struct incus_conn *c, const char *operation, long timeout_s,
	   struct berr *err)
{
	struct incus_response resp;
	long deadline, left_s;
	const char *q;
	char *path = NULL;
	int ret = -1;

	if (!operation || strncmp(operation, "/1.0/operations/", 16) != 0)
		return berr_set(err, "%s \"%s\": operation \"%s\": want /1.0/operations/ID",
				c->kind, c->name, operation ? operation : "");
	if (timeout_s <= 0)
		timeout_s = 1;
	deadline = clock_mono_ms() + timeout_s * 1000;
	q = strchr(operation, '?');
	for (;;) {
		const char *status, *e;
		json_int_t code;

		left_s = (deadline - clock_mono_ms() + 999) / 1000;
		if (left_s <= 0) {
			berr_set(err, "%s \"%s\": operation %s did not finish within %lds",
				 c->kind, c->name, operation, timeout_s);
			goto out;
		}
		if (left_s > 30)
			left_s = 30;
		free(path);
		if (q)
			path = xasprintf("%.*s/wait%s&timeout=%ld", (int)(q - operation),
					 operation, q, left_s);
		else
			path = xasprintf("%s/wait?timeout=%ld", operation, left_s);
		if (request_timeout(c, "GET", path, NULL, NULL,
				    left_s * 1000 + c->opts.request_timeout_ms,
				    &resp, err) < 0) {
			/* Incus answers the wait of a failed operation with an error */
			if (c->incus_error)
				berr_set(err, "%s \"%s\": operation %s failed: %s",
					 c->kind, c->name, operation, c->incus_msg);
			incus_response_release(&resp);
			goto out;
		}
		status = json_string_value(json_object_get(resp.metadata, "status"));
		code = json_integer_value(json_object_get(resp.metadata, "status_code"));
		e = json_string_value(json_object_get(resp.metadata, "err"));
		if (code == 200 || (status && strcmp(status, "Success") == 0)) {
			incus_response_release(&resp);
			ret = 0;
			goto out;
		}
		if (code >= 400 || (status && (strcmp(status, "Failure") == 0 ||
					       strcmp(status, "Cancelled") == 0))) {
			berr_set(err, "%s \"%s\": operation %s failed: %s", c->kind,
				 c->name, operation, e && *e ? e : status ? status : "no message");
			incus_response_release(&resp);
			goto out;
		}
		incus_response_release(&resp);
	}
out:
	free(path);
	return ret;
}
