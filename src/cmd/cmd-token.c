/*
 * berth token - the bearer tokens of `berth serve`'s admin API:
 *
 *   create --admin | --provider P [--name N]   print a new token, once
 *   list                                       every token, revoked ones too
 *   revoke ID                                  refuse it from now on
 *
 * The state database keeps only each token's SHA-256 (serve/tokens.h);
 * create and revoke are ledger entries. A provider token's provider must
 * be a Provider of the manifests of the configured commit (or the
 * platform), so a typo does not make a token that sees nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cmd/cmd.h"
#include "ledger/ledger.h"
#include "manifest/manifest.h"
#include "serve/tokens.h"
#include "util/banned.h"

enum { O_ADMIN = 1, O_PROVIDER, O_NAME };

static const struct opt opts[] = {
	{ "admin", 0, 0, O_ADMIN },
	{ "provider", 0, 1, O_PROVIDER },
	{ "name", 0, 1, O_NAME },
	{ NULL, 0, 0, 0 },
};

static json_t *
info_json(const struct token_info *t)
{
	return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:s?}", "id", t->id,
			 "role", token_role_name(t->role), "provider",
			 t->role == TOKEN_PROVIDER ? t->provider : NULL, "name", t->name,
			 "created", t->created, "created_by", t->created_by,
			 "revoked", t->revoked[0] ? t->revoked : NULL);
}

static void
dump(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
}

/* A provider named in the manifests, or the platform: 0; else -1, said. */
static int
known_provider(struct ctx *ctx, const char *provider)
{
	struct manifest_result res = { 0 };
	int ret = 0;

	if (!strcmp(provider, "platform"))
		return 0;
	if (load_valid_fleet(ctx, &res, ": no token made") < 0)
		return -1;
	if (!fleet_provider(res.fleet, provider)) {
		cmd_error(ctx, "--provider: no Provider \"%s\" in the manifests of commit %.12s",
			  provider, res.commit);
		ret = -1;
	}
	manifest_result_release(&res);
	return ret;
}

static int
create(struct ctx *ctx, int admin, const char *provider, const char *name)
{
	char token[TOKEN_LEN + 1];
	struct token_info t;
	struct ledger *l = NULL;
	struct berr err;
	int ret = EXIT_FAIL;

	if (admin == !!provider)
		return usage_error(ctx, "create: want --admin or --provider P (one of them)");
	if (!name)
		name = admin ? "admin" : provider;
	if (provider && known_provider(ctx, provider) < 0)
		return EXIT_FAIL;
	if (ledger_open(ctx->state_dir, &l, &err) < 0 ||
	    token_create(l, ctx->state_dir, admin ? TOKEN_ADMIN : TOKEN_PROVIDER, provider, name,
			 token, &t, &err) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	if (ctx->format == FORMAT_JSON) {
		json_t *j = json_pack("{s:s, s:s}", "format_version", "1.0", "token", token);
		json_t *i = info_json(&t);

		json_object_update(j, i);
		json_decref(i);
		dump(j);
	} else {
		printf("%s\n", token);
	}
	cmd_info(ctx, "token %s made (%s%s%s, \"%s\"): it is shown this once, berth keeps only "
		 "its hash; send it as \"Authorization: Bearer TOKEN\"", t.id,
		 token_role_name(t.role), provider ? " " : "", provider ? provider : "", t.name);
	ret = EXIT_OK;
out:
	OPENSSL_cleanse(token, sizeof(token));
	ledger_close(l);
	return ret;
}

static int
list_one(void *ctx, const struct token_info *t)
{
	json_t *a = ctx;

	json_array_append_new(a, info_json(t));
	return 0;
}

static int
list(struct ctx *ctx)
{
	json_t *all = json_array(), *t;
	struct berr err;
	size_t i, w[4] = { 2, 4, 8, 4 };

	if (token_list(ctx->state_dir, list_one, all, &err) < 0) {
		json_decref(all);
		return cmd_berr(ctx, &err);
	}
	if (ctx->format == FORMAT_JSON) {
		dump(json_pack("{s:s, s:o}", "format_version", "1.0", "tokens", all));
		return EXIT_OK;
	}
	if (!json_array_size(all)) {
		cmd_info(ctx, "no tokens yet: `berth token create --admin` makes one");
		json_decref(all);
		return EXIT_OK;
	}
	json_array_foreach(all, i, t) {
		const char *p = json_string_value(json_object_get(t, "provider"));
		size_t n;

		n = strlen(json_string_value(json_object_get(t, "id")));
		w[0] = n > w[0] ? n : w[0];
		n = strlen(json_string_value(json_object_get(t, "role")));
		w[1] = n > w[1] ? n : w[1];
		n = p ? strlen(p) : 1;
		w[2] = n > w[2] ? n : w[2];
		n = strlen(json_string_value(json_object_get(t, "name")));
		w[3] = n > w[3] ? n : w[3];
	}
	printf("%-*s  %-*s  %-*s  %-*s  %-24s  %s\n", (int)w[0], "ID", (int)w[1], "ROLE",
	       (int)w[2], "PROVIDER", (int)w[3], "NAME", "CREATED", "STATUS");
	json_array_foreach(all, i, t) {
		const char *p = json_string_value(json_object_get(t, "provider"));
		const char *rev = json_string_value(json_object_get(t, "revoked"));

		printf("%-*s  %-*s  %-*s  %-*s  %-24s  %s%s\n",
		       (int)w[0], json_string_value(json_object_get(t, "id")),
		       (int)w[1], json_string_value(json_object_get(t, "role")),
		       (int)w[2], p ? p : "-",
		       (int)w[3], json_string_value(json_object_get(t, "name")),
		       json_string_value(json_object_get(t, "created")),
		       rev ? "revoked " : "active", rev ? rev : "");
	}
	json_decref(all);
	return EXIT_OK;
}

static int
revoke(struct ctx *ctx, const char *id)
{
	struct token_info t;
	struct ledger *l = NULL;
	struct berr err;
	int r, ret = EXIT_FAIL;

	if (!id)
		return usage_error(ctx, "revoke: want the id of a token (berth token list)");
	if (ledger_open(ctx->state_dir, &l, &err) < 0 ||
	    (r = token_revoke(l, ctx->state_dir, id, &t, &err)) < 0) {
		cmd_berr(ctx, &err);
		goto out;
	}
	if (r == 1)
		cmd_info(ctx, "token %s (\"%s\") was revoked already, at %s", t.id, t.name,
			 t.revoked);
	else
		cmd_info(ctx, "token %s (%s%s%s, \"%s\") revoked: refused from now on", t.id,
			 token_role_name(t.role), t.provider[0] ? " " : "", t.provider, t.name);
	ret = EXIT_OK;
out:
	ledger_close(l);
	return ret;
}

int
cmd_token(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	const char *sub = NULL, *id = NULL, *provider = NULL, *name = NULL;
	int r, admin = 0;

	optparse_init(&p, ctx, argc, argv, opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case OPT_HELP: return command_help(ctx);
		case O_ADMIN: admin = 1; break;
		case O_PROVIDER: provider = p.arg; break;
		case O_NAME: name = p.arg; break;
		case OPT_OPERAND:
			if (!sub && (!strcmp(p.arg, "create") || !strcmp(p.arg, "list") ||
				     !strcmp(p.arg, "revoke")))
				sub = p.arg;
			else if (sub && !strcmp(sub, "revoke") && !id)
				id = p.arg;
			else
				return usage_error(ctx, "unexpected argument \"%s\" (want create, "
						   "list or revoke ID)", p.arg);
			break;
		default:
			return EXIT_FAIL;
		}
	}
	if (!sub)
		return usage_error(ctx, "want create, list or revoke ID");
	if (strcmp(sub, "create") && (admin || provider || name))
		return usage_error(ctx, "%s: --admin, --provider and --name are create's", sub);
	if (!strcmp(sub, "create"))
		return create(ctx, admin, provider, name);
	if (!strcmp(sub, "list"))
		return list(ctx);
	return revoke(ctx, id);
}
