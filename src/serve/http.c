/*
 * http.c - `berth serve`'s HTTP server (http.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "serve/api.h"
#include "serve/dashboard.h"
#include "serve/http.h"
#include "sched/place.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_PEM (64 * 1024)

/*
 * A connection, for the header deadline: libmicrohttpd's idle timeout
 * restarts with every byte, so a client sending its headers a byte at a
 * time would hold its connection for ever. The watchdog shuts down a
 * connection that is between requests (no request's headers complete)
 * for longer than the timeout. Entries leave the list in the "closed"
 * notification, which libmicrohttpd makes before it closes the socket:
 * while the watchdog holds the lock, every fd in the list is still that
 * connection's.
 */
struct track {
	struct track *prev, *next;
	int fd;
	int64_t since_ms;	/* waiting for a request's headers since */
	int in_request;		/* headers complete, request not ended */
	int cut;
};

struct http_server {
	struct MHD_Daemon *d;
	pthread_mutex_t tmu;		/* the list and every entry */
	struct track *tracks;
	pthread_cond_t wd_wake;
	pthread_t watchdog;
	int wd_started, wd_stop;	/* under tmu */
	struct intake *in;
	struct api *api;		/* HTTP_READS */
	char *cert, *key;
	unsigned port;
	atomic_int in_flight;		/* reports suspended, waiting for the writer */
	atomic_int stopping;		/* refuse new reports: the server is stopping */
	unsigned timeout_s;
	unsigned serves;		/* HTTP_REPORTS | HTTP_READS */
	atomic_size_t buffered;		/* Content-Length of the bodies held */
	size_t max_buffered;
};

/* What one request carries between the access handler's calls. */
struct req {
	int is_report;
	int is_place;		/* POST /v1/place */
	size_t reserved;	/* of s->buffered, given back when the request ends */
	int too_large;
	int answered;
	struct buf body;
	char remote[64];
	struct http_server *s;
	struct MHD_Connection *c;
	struct intake_item *item;	/* with the writer; the connection is suspended */
	struct intake_result res;
	int64_t deadline_ms;		/* the whole body must arrive before (monotonic) */
	struct token_info who;		/* the admin API: whose token it is */
};

static void
remote_addr(struct MHD_Connection *c, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, n, "?");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)n);
}

static enum MHD_Result
send_buf(struct MHD_Connection *c, unsigned status, const char *type, const char *data, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
send_answer(struct MHD_Connection *c, struct api_answer *a, const char *www_auth)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(a->len, a->body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	free(a->body);
	a->body = NULL;
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", a->type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (www_auth)
		MHD_add_response_header(r, "WWW-Authenticate", www_auth);
	ret = MHD_queue_response(c, a->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	enum MHD_Result ret;

	json_decref(j);
	if (!s)
		return MHD_NO;
	ret = send_buf(c, status, "application/json", s, strlen(s));
	free(s);
	return ret;
}

static enum MHD_Result
send_verdict(struct MHD_Connection *c, const struct intake_result *res)
{
	if (res->reason == INTAKE_OK)
		return send_json(c, 200, json_pack("{s:b, s:I}", "accepted", 1, "seq",
						   (json_int_t)res->seq));
	return send_json(c, (unsigned)intake_reason_http(res->reason),
			 json_pack("{s:b, s:s, s:s}", "accepted", 0, "reason",
				   intake_reason_name(res->reason), "detail", res->detail));
}

static enum MHD_Result
refuse_large(struct http_server *s, struct MHD_Connection *c, struct req *q, const char *why)
{
	struct intake_result res = { .reason = INTAKE_TOO_LARGE };

	snprintf(res.detail, sizeof(res.detail), "%s: want at most %d bytes", why, REPORT_MAX_BODY);
	intake_refuse(s->in, INTAKE_TOO_LARGE,
		      MHD_lookup_connection_value(c, MHD_HEADER_KIND, REPORT_H_HOST),
		      res.detail, q->remote);
	q->answered = 1;
	return send_verdict(c, &res);
}

/* The writer decided: let MHD call access_cb again to answer. */
static void
report_done(void *ctx)
{
	struct req *q = ctx;

	MHD_resume_connection(q->c);
}

/*
 * Check the report on this pool thread (the signature is the costly
 * part), then suspend the connection while the writer commits it: the
 * thread goes on with other connections instead of waiting.
 */
static enum MHD_Result
handle_report(struct http_server *s, struct MHD_Connection *c, struct req *q)
{
	const char *h[6];

	if (q->item) {		/* resumed: the writer has decided */
		intake_item_free(q->item);
		q->item = NULL;
		atomic_fetch_sub(&s->in_flight, 1);
		q->answered = 1;
		return send_verdict(c, &q->res);
	}
	/* Counted before the check: http_stop() waits for every one counted. */
	atomic_fetch_add(&s->in_flight, 1);
	if (atomic_load(&s->stopping)) {
		atomic_fetch_sub(&s->in_flight, 1);
		q->answered = 1;
		return send_json(c, 503, json_pack("{s:b, s:s, s:s}", "accepted", 0, "reason",
						   "store_error", "detail", "the intake is stopping"));
	}
	for (int i = 0; i < 6; i++)
		h[i] = MHD_lookup_connection_value(c, MHD_HEADER_KIND, report_header_names[i]);
	q->item = intake_check(s->in, h, q->body.buf, q->body.len, q->remote, &q->res);
	if (!q->item) {
		atomic_fetch_sub(&s->in_flight, 1);
		q->answered = 1;
		return send_verdict(c, &q->res);
	}
	q->s = s;
	q->c = c;
	MHD_suspend_connection(c);	/* before the writer can resume it */
	intake_enqueue(s->in, q->item, report_done, q);
	return MHD_YES;
}

static const char *
query_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* GET /: the dashboard (dashboard.h), with the headers that keep it to itself. */
static enum MHD_Result
send_dashboard(struct MHD_Connection *c)
{
	const struct dashboard *d = dashboard_page();
	struct MHD_Response *r = MHD_create_response_from_buffer(d->len, (void *)d->html,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
	MHD_add_response_header(r, "Content-Security-Policy", d->csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
handle_get(struct http_server *s, struct MHD_Connection *c, struct req *q, const char *url)
{
	struct api_answer a;

	if (!strcmp(url, "/healthz"))
		return send_buf(c, 200, "text/plain", "ok\n", 3);
	if (!(s->serves & HTTP_READS))
		return send_json(c, 404, json_pack("{s:s}", "error", "not found"));
	if (!strcmp(url, "/"))
		return send_dashboard(c);
	api_get(s->api, &q->who, url, query_arg, c, clock_now_ms(), &a);
	return send_answer(c, &a, NULL);
}

/* ---- the admin API's token ----------------------------------------------- */

static enum MHD_Result
seen_token_in_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	int *found = cls;

	(void)kind;
	if (token_in_query(key, value)) {
		*found = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result
count_authorization(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	int *n = cls;

	(void)kind;
	(void)value;
	if (key && !strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION))
		(*n)++;
	return MHD_YES;
}

/*
 * The token of a request to the admin API, into q->who: 1 when it may go
 * on; 0 when it was answered (400 for a token in the URL or two headers,
 * 401 without a token that works, 503 when the tokens cannot be read).
 */
static int
authorize(struct http_server *s, struct MHD_Connection *c, struct req *q, enum MHD_Result *ret)
{
	struct api_answer a;
	const char *h;
	int in_query = 0, nauth = 0;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, seen_token_in_query, &in_query);
	MHD_get_connection_values(c, MHD_HEADER_KIND, count_authorization, &nauth);
	if (in_query) {
		api_error(&a, 400, "a token in the URL is refused (URLs end up in logs and "
			  "browser histories; revoke a token sent this way): send the header "
			  "\"Authorization: Bearer TOKEN\"");
		*ret = send_answer(c, &a, NULL);
		return 0;
	}
	if (nauth > 1) {
		api_error(&a, 400, "more than one Authorization header: send one");
		*ret = send_answer(c, &a, NULL);
		return 0;
	}
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	switch (api_auth(s->api, h, &q->who)) {
	case TOKEN_OK:
		return 1;
	case TOKEN_MISSING:
		api_error(&a, 401, "no token: send the header \"Authorization: Bearer TOKEN\" "
			  "(`berth token create` makes one)");
		*ret = send_answer(c, &a, "Bearer realm=\"berth\"");
		return 0;
	case TOKEN_NOT_BEARER:
		api_error(&a, 401, "want the header \"Authorization: Bearer TOKEN\", have another "
			  "scheme or no token");
		*ret = send_answer(c, &a, "Bearer realm=\"berth\", error=\"invalid_request\"");
		return 0;
	case TOKEN_REVOKED:
		api_error(&a, 401, "token %s was revoked", q->who.id);
		break;
	case TOKEN_STORE_ERROR:
		api_error(&a, 503, "the tokens cannot be read now: retry later");
		*ret = send_answer(c, &a, NULL);
		return 0;
	case TOKEN_UNKNOWN:
	default:
		api_error(&a, 401, "unknown token");
		break;
	}
	memset(&q->who, 0, sizeof(q->who));
	*ret = send_answer(c, &a, "Bearer realm=\"berth\", error=\"invalid_token\"");
	return 0;
}

#define PLACE_MAX_BODY	4096

/*
 * POST /v1/place {"plan": NAME, "count": N}: berth place's answer, from the
 * reports in memory. 400 for a body that is not such an object, 404 for an
 * unknown plan; 200 with "unplaced" > 0 when fewer than N fit.
 */
static enum MHD_Result
handle_place(struct http_server *s, struct MHD_Connection *c, struct req *q)
{
	const struct m_offer *o;
	struct status *st;
	struct placer p;
	struct place_decision d;
	struct berr err;
	json_t *out;
	char *plan;
	size_t count;

	if (q->too_large)
		return send_json(c, 413, json_pack("{s:s}", "error", "the body is over 4096 bytes"));
	if (place_request_parse(q->body.buf, q->body.len, &plan, &count, &err) < 0)
		return send_json(c, 400, json_pack("{s:s}", "error", err.msg));
	st = intake_status(s->in, clock_now_ms());
	if (!(o = fleet_offer(st->fleet, plan))) {
		out = json_pack("{s:o}", "error",
				json_sprintf("no Plan \"%.200s\" in the manifests", plan));
		intake_status_release(s->in, st);
		free(plan);
		return send_json(c, 404, out);
	}
	placer_init(&p, st);
	place_decide(&p, o, count, &d);
	out = place_decision_to_json(&d);
	place_decision_release(&d);
	placer_release(&p);
	intake_status_release(s->in, st);
	free(plan);
	return send_json(c, 200, out);
}

/* ---- the header deadline (struct track) ---------------------------------- */

static void
notify_cb(void *cls, struct MHD_Connection *c, void **socket_context,
	  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	struct track *t = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		t = xcalloc(1, sizeof(*t));
		t->fd = ci ? ci->connect_fd : -1;
		t->since_ms = clock_mono_ms();
		pthread_mutex_lock(&s->tmu);
		t->next = s->tracks;
		if (s->tracks)
			s->tracks->prev = t;
		s->tracks = t;
		pthread_mutex_unlock(&s->tmu);
		*socket_context = t;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && t) {
		pthread_mutex_lock(&s->tmu);
		if (t->prev)
			t->prev->next = t->next;
		else
			s->tracks = t->next;
		if (t->next)
			t->next->prev = t->prev;
		pthread_mutex_unlock(&s->tmu);
		free(t);
		*socket_context = NULL;
	}
}

/* A request of c began (its headers are complete) or ended. */
static void
track_request(struct http_server *s, struct MHD_Connection *c, int begins)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct track *t = ci ? ci->socket_context : NULL;

	if (!t)
		return;
	pthread_mutex_lock(&s->tmu);
	t->in_request = begins;
	if (!begins)
		t->since_ms = clock_mono_ms();
	pthread_mutex_unlock(&s->tmu);
}

static void *
watchdog(void *arg)
{
	struct http_server *s = arg;

	pthread_mutex_lock(&s->tmu);
	while (!s->wd_stop) {
		struct timespec until;
		int64_t now = clock_mono_ms();

		for (struct track *t = s->tracks; t; t = t->next)
			if (!t->in_request && !t->cut && t->fd >= 0 &&
			    now - t->since_ms > (int64_t)s->timeout_s * 1000) {
				shutdown(t->fd, SHUT_RDWR);
				t->cut = 1;
			}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->wd_wake, &s->tmu, &until);
	}
	pthread_mutex_unlock(&s->tmu);
	return NULL;
}

/* Take n bytes of the server's body budget for q; 0 when they would pass it. */
static int
reserve(struct http_server *s, struct req *q, size_t n)
{
	size_t cur = atomic_load(&s->buffered);

	do {
		if (cur + n > s->max_buffered || cur + n < cur)
			return 0;
	} while (!atomic_compare_exchange_weak(&s->buffered, &cur, cur + n));
	q->reserved = n;
	return 1;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct req *q = *con_cls;

	(void)version;
	if (!q) {
		const char *cl;

		track_request(s, c, 1);
		q = xcalloc(1, sizeof(*q));
		*con_cls = q;
		buf_init(&q->body, REPORT_MAX_BODY);
		remote_addr(c, q->remote, sizeof(q->remote));
		q->is_report = !strcmp(url, "/v1/reports");
		/*
		 * The agents' listener takes reports (and /healthz) only; the
		 * admin listener everything else, with a token, but /healthz
		 * and the dashboard's page, which asks for a token itself.
		 */
		if (q->is_report ? !(s->serves & HTTP_REPORTS) :
		    strcmp(url, "/healthz") && !(s->serves & HTTP_READS)) {
			q->answered = 1;
			return send_json(c, 404, json_pack("{s:s}", "error", "not found"));
		}
		if (!q->is_report && strcmp(url, "/healthz") &&
		    (strcmp(url, "/") || !(s->serves & HTTP_READS))) {
			enum MHD_Result ret;

			if (!authorize(s, c, q, &ret)) {
				q->answered = 1;
				return ret;
			}
			q->is_place = !strcmp(url, "/v1/place");
		}
		if (q->is_place && strcmp(method, "POST")) {
			q->answered = 1;
			return send_json(c, 405, json_pack("{s:s}", "error", "want POST"));
		}
		if (q->is_place && q->who.role != TOKEN_ADMIN) {
			q->answered = 1;
			return send_json(c, 403, json_pack("{s:s}", "error",
							   "/v1/place needs an admin token"));
		}
		if (q->is_place) {
			q->body.max = PLACE_MAX_BODY;
			return MHD_YES;
		}
		if (q->is_report && strcmp(method, "POST")) {
			q->answered = 1;
			return send_json(c, 405, json_pack("{s:s}", "error", "want POST"));
		}
		if (!q->is_report && strcmp(method, "GET") && strcmp(method, "HEAD")) {
			q->answered = 1;
			return send_json(c, 405, json_pack("{s:s}", "error", "want GET"));
		}
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (q->is_report && !cl) {
			/* No chunked bodies: the size is known, and refused, before reading. */
			q->answered = 1;
			intake_refuse(s->in, INTAKE_MALFORMED,
				      MHD_lookup_connection_value(c, MHD_HEADER_KIND, REPORT_H_HOST),
				      "no Content-Length (chunked bodies are not taken)", q->remote);
			return send_json(c, 411, json_pack("{s:b, s:s, s:s}", "accepted", 0, "reason",
							   "malformed", "detail",
							   "want a Content-Length header"));
		}
		if (q->is_report && strtoull(cl, NULL, 10) > REPORT_MAX_BODY)
			return refuse_large(s, c, q, "Content-Length is over the limit");
		if (q->is_report && !reserve(s, q, (size_t)strtoull(cl, NULL, 10))) {
			q->answered = 1;
			intake_count_busy(s->in);
			return send_json(c, 503, json_pack("{s:b, s:s, s:s}", "accepted", 0, "reason",
							   "busy", "detail", "too many reports are being "
							   "received at once: retry later"));
		}
		q->deadline_ms = clock_mono_ms() + (int64_t)s->timeout_s * 1000;
		return MHD_YES;
	}
	if (q->answered && !q->is_report) {
		*upload_size = 0;	/* answered on the first call: drop the body */
		return MHD_YES;
	}
	if (q->is_place) {
		if (*upload_size) {
			if (buf_add(&q->body, upload, *upload_size) < 0)
				q->too_large = 1;
			*upload_size = 0;
			return MHD_YES;
		}
		return handle_place(s, c, q);
	}
	if (!q->is_report)
		return handle_get(s, c, q, url);
	if (q->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->item)
		return handle_report(s, c, q);
	if (*upload_size) {
		/* The idle timeout restarts with every byte: a body also has a deadline. */
		if (clock_mono_ms() > q->deadline_ms)
			return MHD_NO;
		if (!q->too_large && buf_add(&q->body, upload, *upload_size) < 0)
			q->too_large = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->too_large)
		return refuse_large(s, c, q, "the body is over the limit");
	return handle_report(s, c, q);
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct req *q = *con_cls;

	if (!q)
		return;
	track_request(s, c, 0);
	if (q->item) {
		/* Decided by the writer (it resumed us), the client gone before the answer. */
		intake_item_free(q->item);
		q->item = NULL;
		atomic_fetch_sub(&s->in_flight, 1);
		q->answered = 1;
	}
	/* The budget first: whoever sees the truncation counted finds it free. */
	if (q->reserved)
		atomic_fetch_sub(&s->buffered, q->reserved);
	q->reserved = 0;
	if (q->is_report && !q->answered && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
		char detail[160];

		snprintf(detail, sizeof(detail), "the connection ended after %zu bytes of the body (%s)",
			 q->body.len, toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timed out" :
			 "closed by the client");
		intake_refuse(s->in, INTAKE_TRUNCATED,
			      MHD_lookup_connection_value(c, MHD_HEADER_KIND, REPORT_H_HOST),
			      detail, q->remote);
	}
	buf_release(&q->body);
	free(q);
	*con_cls = NULL;
}

static void
quiet_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls; (void)fmt; (void)ap;
}

static int
parse_listen(const char *opt, const char *spec, struct sockaddr_storage *ss, struct berr *err)
{
	char host[128];
	const char *colon;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof(host))
			goto bad;
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof(host))
			goto bad;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535)
		goto bad;
	if (!host[0])
		snprintf(host, sizeof(host), "127.0.0.1");
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
	}
	return 0;
bad:
	return berr_set(err, "%s: want ADDRESS:PORT like 127.0.0.1:8080 or [::1]:8080 "
			"(an IP address, not a name), have \"%s\"", opt, spec);
}


int
http_start(const struct http_opts *o, struct intake *in, struct http_server **out,
	   struct berr *err)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	unsigned limit = o->conn_limit ? o->conn_limit : 1024;
	unsigned timeout = o->timeout_s ? o->timeout_s : 30;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned pool = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (unsigned)ncpu;
	const union MHD_DaemonInfo *di;

	*out = NULL;
	s->in = in;
	pthread_mutex_init(&s->tmu, NULL);
	pthread_cond_init(&s->wd_wake, NULL);
	s->timeout_s = timeout;
	s->serves = o->serves ? o->serves : HTTP_REPORTS;
	s->api = o->api;
	if ((s->serves & HTTP_READS) && !s->api) {
		berr_set(err, "http: the admin API's reads need its tokens (no api given)");
		goto fail;
	}
	s->max_buffered = o->max_buffered ? o->max_buffered : (size_t)64 << 20;
	if (parse_listen(o->option ? o->option : "--listen", o->listen ? o->listen : "127.0.0.1:8080",
			 &ss, err) < 0)
		goto fail;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (!o->tls_cert != !o->tls_key) {
		berr_set(err, "--tls-cert and --tls-key go together: give both or neither");
		goto fail;
	}
	if (o->tls_cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			berr_set(err, "this libmicrohttpd was built without TLS: cannot serve HTTPS");
			goto fail;
		}
		if (fs_read_file(o->tls_cert, MAX_PEM, &s->cert, NULL, err) < 0 ||
		    fs_read_file(o->tls_key, MAX_PEM, &s->key, NULL, err) < 0)
			goto fail;
		flags |= MHD_USE_TLS;
	}
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, limit,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, limit / 4 ? limit / 4 : 1,
				MHD_OPTION_CONNECTION_TIMEOUT, timeout,
				MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
				MHD_OPTION_NOTIFY_CONNECTION, notify_cb, s,
				MHD_OPTION_THREAD_POOL_SIZE, pool,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_EXTERNAL_LOGGER, quiet_logger, NULL,
				s->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->cert,
				MHD_OPTION_HTTPS_MEM_KEY, s->key,
				MHD_OPTION_END);
	if (!s->d) {
		berr_set(err, "cannot listen on %s: %s (another process on that port?)",
			 o->listen ? o->listen : "127.0.0.1:8080",
			 errno ? strerror(errno) : "libmicrohttpd refused the settings");
		goto fail;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	if (pthread_create(&s->watchdog, NULL, watchdog, s) != 0) {
		berr_set(err, "cannot start a thread: %s", strerror(errno));
		MHD_stop_daemon(s->d);
		goto fail;
	}
	s->wd_started = 1;
	*out = s;
	return 0;
fail:
	pthread_cond_destroy(&s->wd_wake);
	pthread_mutex_destroy(&s->tmu);
	free(s->cert);
	free(s->key);
	free(s);
	return -1;
}

unsigned
http_port(const struct http_server *s)
{
	return s->port;
}

void
http_stop(struct http_server *s)
{
	if (!s)
		return;
	/*
	 * Suspended connections must be resumed before the daemon stops:
	 * refuse new reports and let the writer finish those it has. It
	 * always does, at worst with store_error once its database gives up.
	 */
	atomic_store(&s->stopping, 1);
	while (atomic_load(&s->in_flight) > 0)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	if (s->wd_started) {
		pthread_mutex_lock(&s->tmu);
		s->wd_stop = 1;
		pthread_cond_signal(&s->wd_wake);
		pthread_mutex_unlock(&s->tmu);
		pthread_join(s->watchdog, NULL);
	}
	MHD_stop_daemon(s->d);	/* notifies every connection closed */
	pthread_cond_destroy(&s->wd_wake);
	pthread_mutex_destroy(&s->tmu);
	free(s->cert);
	free(s->key);
	free(s);
}
