/*
 * berth key - berth's own key: show it, rotate it.
 *
 * `berth key rotate` replaces the key and certificate hosts trust, without
 * a visit to each host:
 *   1. a new key is staged (<state>/client.key.next, client.crt.next);
 *   2. with the old key, every server of the manifests (a standalone host
 *      or a cluster, over https) is made to trust the new certificate;
 *   3. the rotation is recorded in the ledger (key.rotate), durably,
 *      before anything uses the new key;
 *   4. the new key takes the old one's place (the old key is gone);
 *   5. with the new key, every server forgets the old certificate;
 *   6. a checkpoint of the ledger is signed with the new key.
 * A server that step 2 cannot change stops the rotation before step 3
 * (nothing is switched; running it again goes on with the staged key)
 * unless --skip-unreachable, which leaves it to `berth host
 * trust-command`. The apply lock is held throughout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apply/lock.h"
#include "cmd/cmd.h"
#include "incus/client.h"
#include "incus/connect.h"
#include "incus/trust.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "util/xalloc.h"
#include "util/banned.h"

enum { O_SKIP = 1 };

static const struct opt opts[] = {
	{ "skip-unreachable", 0, 0, O_SKIP },
	{ NULL, 0, 0, 0 },
};

/* A server of the fleet that holds a trust store of its own. */
struct server {
	const char *name;
	int is_cluster;
	int trusts_next;	/* step 2 made it (or found it) trust the new key */
};

/* Standalone hosts and clusters with an https endpoint; rejected hosts are
 * not talked to. */
static size_t
servers_of(const struct fleet *f, struct server **out)
{
	struct server *v = xcalloc(f->nhosts + f->nclusters + 1, sizeof(*v));
	size_t i, n = 0;

	for (i = 0; i < f->nhosts; i++) {
		const struct m_host *h = &f->hosts[i];

		if (h->cluster || h->review == REVIEW_REJECTED ||
		    strncmp(h->endpoint, "https://", 8))
			continue;
		v[n].name = h->meta.name;
		v[n++].is_cluster = 0;
	}
	for (i = 0; i < f->nclusters; i++) {
		v[n].name = f->clusters[i].meta.name;
		v[n++].is_cluster = 1;
	}
	*out = v;
	return n;
}

/*
 * Add (add 1) the certificate pem to, or remove (add 0) the certificate fp
 * from, the trust store of server s, connected as id: 1 changed, 0 nothing
 * to do, -1 with err.
 */
static int
change_trust(const struct fleet *f, const struct server *s, const struct incus_identity *id,
	     int add, const char *pem, const char *fp, struct berr *err)
{
	struct incus_target t;
	struct incus_opts o = { 0 };
	struct incus_conn *c;
	int r;

	incus_target_init(&t, f, s->name, s->is_cluster);
	c = incus_target_connect(&t, id, &o, NULL, NULL, NULL, NULL, err);
	if (!c)
		r = -1;
	else
		r = add ? incus_trust_add(c, pem, "berth", err) : incus_trust_remove(c, fp, err);
	incus_conn_free(c);
	incus_target_release(&t);
	return r;
}

static json_t *
cert_json(const struct incus_identity *id)
{
	return json_pack("{s:s, s:s}", "fingerprint", id->fingerprint, "certificate",
			 id->cert_pem);
}

static int
rotate(struct ctx *ctx, int skip_unreachable)
{
	struct manifest_result res = { 0 };
	struct incus_identity old = { 0 }, next = { 0 };
	struct state_lock *lock = NULL;
	struct ledger *l = NULL;
	struct ledger_entry e = { 0 };
	struct server *sv = NULL;
	struct berr err;
	json_t *before = NULL, *after = NULL, *reached, *missed;
	size_t i, n = 0, nmissed = 0, nleft = 0;
	char *cp = NULL;
	int64_t seq = 0;
	int ret = EXIT_FAIL;

	if (state_lock_acquire(ctx->state_dir, "key rotate", 0, &lock, NULL, &err) < 0 ||
	    ledger_open(ctx->state_dir, &l, &err) < 0 ||
	    incus_identity_load(ctx->state_dir, &old, &err) < 0 ||
	    incus_identity_stage(ctx->state_dir, &next, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	if (load_valid_fleet(ctx, &res, ": berth's key not rotated") < 0)
		goto out;
	cmd_info(ctx, "rotating berth's key: certificate %.12s to %.12s", old.fingerprint,
		 next.fingerprint);

	/* 2. Every server trusts the new certificate, while the old one works. */
	reached = json_array();
	missed = json_array();
	n = servers_of(res.fleet, &sv);
	for (i = 0; i < n; i++) {
		int r = change_trust(res.fleet, &sv[i], &old, 1, next.cert_pem, NULL, &err);

		if (r < 0) {
			cmd_warn(ctx, "%s \"%s\" does not trust the new certificate: %s",
				 sv[i].is_cluster ? "cluster" : "host", sv[i].name, err.msg);
			json_array_append_new(missed, json_string(sv[i].name));
			nmissed++;
			continue;
		}
		sv[i].trusts_next = 1;
		json_array_append_new(reached, json_string(sv[i].name));
		printf("%s %s: trusts the new certificate%s\n", sv[i].is_cluster ? "cluster" :
		       "host", sv[i].name, r ? "" : " (already did)");
	}
	before = cert_json(&old);
	after = cert_json(&next);
	json_object_set_new(after, "trusted_by", reached);
	json_object_set_new(after, "not_reached", missed);
	if (nmissed && !skip_unreachable) {
		cmd_error(ctx, "%zu server%s could not be made to trust the new certificate:"
			  " berth's key not rotated (the new key stays staged: run `berth key"
			  " rotate` again, or with --skip-unreachable and then `berth host"
			  " trust-command NAME` on each)", nmissed, nmissed == 1 ? "" : "s");
		goto out;
	}

	/* 3. The ledger knows before anything uses the new key. */
	e.kind = "key.rotate";
	e.object = "berth/key";
	e.action = "rotate";
	e.before = before;
	e.after = after;
	e.result = "ok";
	if (ledger_append(l, &e, &err) < 0) {
		cmd_error(ctx, "the rotation cannot be recorded: %s: berth's key not rotated",
			  err.msg);
		goto out;
	}

	/* 4. The switch. */
	if (incus_identity_switch(ctx->state_dir, &next, &err) < 0) {
		cmd_error(ctx, "%s: berth's key not rotated (ledger entry %" PRId64 " records a"
			  " rotation: run `berth key rotate` again)", err.msg, e.seq);
		goto out;
	}
	printf("berth's certificate is now %s (ledger entry %" PRId64 ")\n", next.fingerprint,
	       e.seq);

	/* 5. The old certificate is forgotten where the new one is trusted. */
	for (i = 0; i < n; i++) {
		if (!sv[i].trusts_next)
			continue;
		if (change_trust(res.fleet, &sv[i], &next, 0, NULL, old.fingerprint, &err) < 0) {
			cmd_warn(ctx, "%s \"%s\" still trusts the old certificate: %s (on it, run"
				 " `incus config trust remove %s`)", sv[i].is_cluster ? "cluster" :
				 "host", sv[i].name, err.msg, old.fingerprint);
			nleft++;
		}
	}

	/* 6. A checkpoint with the new key. */
	if (!(cp = cmd_checkpoint_to_dir(ctx, l, &seq, &err)))
		cmd_warn(ctx, "ledger checkpoint: %s", err.msg);
	else
		printf("signed checkpoint of ledger entry %" PRId64 " with the new key: %s\n",
		       seq, cp);
	if (nmissed)
		cmd_warn(ctx, "%zu server%s do not trust berth's new certificate: on each, run"
			 " the output of `berth host trust-command NAME`", nmissed,
			 nmissed == 1 ? "" : "s");
	ret = nmissed || nleft ? EXIT_FAIL : EXIT_OK;
out:
	free(cp);
	free(sv);
	json_decref(before);
	json_decref(after);
	manifest_result_release(&res);
	incus_identity_release(&next);
	incus_identity_release(&old);
	ledger_close(l);
	state_lock_release(lock);
	return ret;
}

static int
show(struct ctx *ctx)
{
	struct incus_identity id = { 0 };
	struct berr err;

	if (incus_identity_load(ctx->state_dir, &id, &err) < 0)
		return cmd_berr(ctx, &err);
	if (ctx->format == FORMAT_JSON) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "format_version", "1.0",
				      "fingerprint", id.fingerprint, "certificate_file",
				      id.cert_file, "certificate", id.cert_pem);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(j);
	} else {
		printf("%s  %s\n", id.fingerprint, id.cert_file);
	}
	incus_identity_release(&id);
	return EXIT_OK;
}

int
cmd_key(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	const char *sub = NULL;
	int r, skip = 0;

	optparse_init(&p, ctx, argc, argv, opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case OPT_HELP:
			return command_help(ctx);
		case O_SKIP:
			skip = 1;
			break;
		case OPT_OPERAND:
			if (sub)
				return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
			sub = p.arg;
			break;
		default:
			return EXIT_FAIL;
		}
	}
	if (!sub)
		return usage_error(ctx, "want a subcommand: show or rotate");
	if (!strcmp(sub, "show")) {
		if (skip)
			return usage_error(ctx, "--skip-unreachable belongs to `berth key rotate`");
		return show(ctx);
	}
	if (!strcmp(sub, "rotate"))
		return rotate(ctx, skip);
	return usage_error(ctx, "unknown subcommand \"%s\": want show or rotate", sub);
}
