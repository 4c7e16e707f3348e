/*
 * client.h - talking to one Incus server over its REST API.
 *
 * Endpoints are unix:///path/to/unix.socket or https://host:port. Over
 * https berth presents its own client certificate (struct incus_identity),
 * requires TLS 1.3, and pins the server by the SHA-256 fingerprint of its
 * certificate (from the manifest), never by a CA: a mismatch fails before
 * any request is sent, with both fingerprints in the message.
 *
 * Every response body is parsed as Incus's envelope ({"type": "sync" |
 * "async" | "error", "status_code", "error_code", "error", "metadata"}): an
 * error can arrive with HTTP 200. A 403 "not authorized" becomes: host X
 * does not trust berth's certificate (fingerprint F): run `berth host
 * trust-command X` and execute its output on the host.
 *
 * Connect and request timeouts apply to every request (writes have their
 * own, longer one); GETs are retried
 * with backoff on transient failures (connection refused/reset, timeouts,
 * HTTP 502/503/504); a connection is kept alive between requests. One
 * struct incus_conn is used by one thread at a time.
 */
#ifndef BERTH_INCUS_CLIENT_H
#define BERTH_INCUS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/buf.h"
#include "util/err.h"

/* berth's client certificate ("the panel certificate" hosts trust). */
struct incus_identity {
	char *cert_file;	/* PEM */
	char *key_file;		/* PEM, mode 0600 */
	char *cert_pem;		/* contents of cert_file */
	char fingerprint[65];	/* SHA-256 of the certificate DER, lowercase hex */
};

/*
 * Load the identity from <state_dir>/client.crt and client.key, creating
 * both on first use (ECDSA P-384, self-signed, CN berth@<hostname>, key
 * written 0600 in a directory made 0700). Refuses a key file readable or
 * writable by group or others, naming the file and its mode.
 */
int incus_identity_load(const char *state_dir, struct incus_identity *id,
			struct berr *err);
/* Free the contents; id is zeroed. Accepts NULL and a zeroed struct. */
void incus_identity_release(struct incus_identity *id);

/*
 * Rotating the key (`berth key rotate`). incus_identity_stage: the next
 * identity, <state_dir>/client.key.next and client.crt.next, made as
 * incus_identity_load makes the first one, or the one an unfinished
 * rotation staged. incus_identity_switch: next becomes berth's identity:
 * its key, then its certificate, renamed over client.key and client.crt
 * (the old key is gone); next's file names follow. A crash between the two
 * renames is finished by the next incus_identity_load(); a staged identity
 * is otherwise not used until switched.
 */
int incus_identity_stage(const char *state_dir, struct incus_identity *next,
			 struct berr *err);
int incus_identity_switch(const char *state_dir, struct incus_identity *next,
			  struct berr *err);

struct incus_opts {
	long connect_timeout_ms;	/* default 5000 */
	long request_timeout_ms;	/* GETs, default 30000 */
	/*
	 * Other requests, default 600000: Incus answers some writes only
	 * when they are done (creating a storage pool makes its volume
	 * group or file system first), and its error, not a timeout, is
	 * what an operator needs.
	 */
	long write_timeout_ms;
	int retries;			/* GET retries on transient errors: 0 means
					   the default 3, negative none */
	size_t max_response;		/* bytes of one response body, default
					   64 MiB; a longer one is an error */
};

struct incus_conn;

/*
 * A connection to the server named name (used in messages) at endpoint,
 * pinned to fingerprint (required for https; ignored for unix). Nothing is
 * sent yet. Free with incus_conn_free(), which accepts NULL.
 */
struct incus_conn *incus_conn_new(const char *name, const char *endpoint,
				  const char *fingerprint,
				  const struct incus_identity *id,
				  const struct incus_opts *opts, struct berr *err);
void incus_conn_free(struct incus_conn *c);

/* "host" (default) or "cluster": the word messages use before the name. */
void incus_conn_set_kind(struct incus_conn *c, const char *kind);

/*
 * 1 when the last request failed before a server answered (connection
 * refused or reset, timeout): another endpoint of a cluster may do better.
 */
int incus_conn_unreachable(const struct incus_conn *c);
const char *incus_conn_endpoint(const struct incus_conn *c);

struct incus_response {
	long http_status;
	json_t *metadata;	/* owned; NULL when the body had none */
	char etag[128];		/* the ETag header, "" when none */
	char operation[256];	/* async: the operation URL */
};

/*
 * One request. path starts with /1.0 and may carry a query string; body
 * (may be NULL) is sent as JSON; if_match (may be NULL) becomes If-Match.
 * Returns 0 with resp filled for a "sync" or "async" envelope; -1 with err
 * for transport failures, pinning failures, and "error" envelopes (err
 * names the server, the method and path, the HTTP status and Incus's
 * error). resp->http_status is set in both cases when a response arrived
 * (412: stale ETag). resp is zeroed first, so the caller releases it with
 * incus_response_release() whatever this returns; that accepts NULL and a
 * zeroed struct.
 */
int incus_request(struct incus_conn *c, const char *method, const char *path,
		  const json_t *body, const char *if_match,
		  struct incus_response *resp, struct berr *err);
void incus_response_release(struct incus_response *resp);

/*
 * GET path and hand over its metadata (caller json_decref()s; json null
 * when the response had none). NULL with err on failure.
 */
json_t *incus_get(struct incus_conn *c, const char *path, struct berr *err);

/*
 * Wait for an async operation (its URL from resp->operation) with
 * /1.0/operations/ID/wait?timeout=N in a loop until it ends or timeout_s
 * passes. 0 when it succeeded; -1 with err naming its error otherwise:
 * '<kind> "<name>": operation /1.0/operations/ID failed: <Incus's error>'
 * (Incus answers the wait of a failed operation with an "error" envelope,
 * HTTP 200).
 */
int incus_wait(struct incus_conn *c, const char *operation, long timeout_s,
	       struct berr *err);

/*
 * Requests sent (every attempt, retries included) and response body bytes
 * received on this connection.
 */
void incus_conn_stats(const struct incus_conn *c, unsigned long *requests,
		      unsigned long long *bytes);
/* New connections opened (1 while keep-alive holds). */
unsigned long incus_conn_connects(const struct incus_conn *c);

/*
 * Append s to b percent-encoded for a path segment or query value of a
 * request: everything but RFC 3986's unreserved characters
 * (A-Z a-z 0-9 - . _ ~) becomes %XX.
 */
void incus_path_escape(struct buf *b, const char *s);

/* SHA-256 fingerprint (lowercase hex) of the first certificate in a PEM. */
int incus_pem_fingerprint(const char *pem, char out[65], struct berr *err);

/*
 * May berth pin certificates with libcurl's TLS library ssl_version (as
 * curl_version_info() names it, "OpenSSL/3.0.15")? Only OpenSSL: pinning
 * turns libcurl's own verification off and checks the server in an
 * OpenSSL context callback, which any other library ignores (and would
 * then verify nothing). 0, or -1 with err naming the library found.
 */
int incus_tls_backend_ok(const char *ssl_version, struct berr *err);

/* curl_global_init once per process, before any thread starts. */
void incus_global_init(void);

#endif
