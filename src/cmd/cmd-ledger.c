/*
 * berth ledger - read and verify the audit ledger.
 *
 * Its subcommands and options are those of its entry in the command table
 * (src/main.c), which `berth ledger --help` prints.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "incus/client.h"
#include "ledger/ledger.h"
#include "util/fs.h"
#include "util/banned.h"

enum {
	O_SINCE = 1, O_KIND, O_OBJECT, O_RUN, O_LIMIT, O_CHECKPOINT, O_AS, O_OUT,
};

static const struct opt opts[] = {
	{ "since", 0, 1, O_SINCE },
	{ "kind", 0, 1, O_KIND },
	{ "object", 0, 1, O_OBJECT },
	{ "run", 0, 1, O_RUN },
	{ "limit", 0, 1, O_LIMIT },
	{ "checkpoint", 0, 1, O_CHECKPOINT },
	{ "as", 0, 1, O_AS },
	{ "out", 0, 1, O_OUT },
	{ NULL, 0, 0, 0 },
};

static const char *const subcommands[] = { "list", "show", "verify", "checkpoint", "export",
					    "backup" };

/* Which options each subcommand takes. */
static int
takes(const char *sub, int o)
{
	if (!strcmp(sub, "list"))
		return o >= O_SINCE && o <= O_LIMIT;
	if (!strcmp(sub, "verify"))
		return o == O_CHECKPOINT;
	if (!strcmp(sub, "export"))
		return o == O_AS;
	if (!strcmp(sub, "checkpoint"))
		return o == O_OUT;
	return 0;
}

static const char *
str(const json_t *e, const char *key)
{
	return json_string_value(json_object_get(e, key));
}

static json_int_t
seq_of(const json_t *e)
{
	return json_integer_value(json_object_get(e, "seq"));
}

static int
print_line(void *ctx, const json_t *e)
{
	const char *parts[] = { str(e, "target"), str(e, "object"), str(e, "action") };
	const char *result = str(e, "result"), *error = str(e, "error");
	const char *signer = json_string_value(json_object_get(
		json_object_get(json_object_get(e, "after"), "signer"), "principal"));
	size_t i;

	(void)ctx;
	printf("%6" JSON_INTEGER_FORMAT "  %s  %-14s", seq_of(e), str(e, "time"),
	       str(e, "kind") ? str(e, "kind") : "?");
	for (i = 0; i < 3; i++)
		if (parts[i])
			printf(" %s", parts[i]);
	if (result)
		printf(" -> %s", result);
	if (error)
		printf(": %s", error);
	if (signer)
		printf(" signed by %s", signer);
	printf("  [%s", str(e, "actor") ? str(e, "actor") : "?");
	if (str(e, "run_id"))
		printf(" %s", str(e, "run_id"));
	printf("]\n");
	return 0;
}

static int
collect(void *ctx, const json_t *e)
{
	json_array_append((json_t *)ctx, (json_t *)e);
	return 0;
}

static void
dump_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

static json_t *
versioned(void)
{
	return json_pack("{s:s}", "format_version", "1.0");
}

static int
print_entry(const json_t *e)
{
	static const char *const keys[] = {
		"seq", "time", "actor", "run_id", "git_commit", "kind", "target", "object",
		"action", "result", "error", "before", "after", "prev_hash", "hash",
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		json_t *v = json_object_get(e, keys[i]);

		if (!v || json_is_null(v))
			continue;
		if (json_is_string(v)) {
			printf("%-11s%s\n", keys[i], json_string_value(v));
		} else if (json_is_integer(v)) {
			printf("%-11s%" JSON_INTEGER_FORMAT "\n", keys[i], json_integer_value(v));
		} else {
			char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);

			printf("%s\n", keys[i]);
			if (s) {
				const char *line = s, *nl;

				do {
					nl = strchr(line, '\n');
					printf("  %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
					line = nl ? nl + 1 : NULL;
				} while (line);
			}
			free(s);
		}
	}
	return 0;
}

static int
parse_seq(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 1 || *s == '+')
		return -1;
	*out = v;
	return 0;
}

/* CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
static void
csv_field(const char *s)
{
	const char *p;

	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	fputc('"', stdout);
	for (p = s; *p; p++) {
		if (*p == '"')
			fputc('"', stdout);
		fputc(*p, stdout);
	}
	fputc('"', stdout);
}

static const char *const export_keys[] = {
	"seq", "time", "actor", "run_id", "git_commit", "kind", "target", "object",
	"action", "before", "after", "result", "error", "prev_hash", "hash",
};

static int
export_csv(void *ctx, const json_t *e)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < sizeof(export_keys) / sizeof(*export_keys); i++) {
		json_t *v = json_object_get(e, export_keys[i]);

		if (i)
			fputc(',', stdout);
		if (!v || json_is_null(v))
			continue;
		if (json_is_string(v)) {
			csv_field(json_string_value(v));
		} else {
			char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

			csv_field(s);
			free(s);
		}
	}
	fputs("\r\n", stdout);
	return 0;
}

static int
export_jsonl(void *ctx, const json_t *e)
{
	(void)ctx;
	json_dumpf(e, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	fputc('\n', stdout);
	return 0;
}

/* A signed checkpoint of l, to file (0644: it holds nothing secret). */
static int
write_checkpoint(struct ctx *ctx, struct ledger *l, const char *file)
{
	struct berr err;
	int64_t seq = 0;
	char *text = cmd_signed_checkpoint(ctx, l, &seq, &err);
	int ret = EXIT_FAIL;

	if (!text || fs_write_atomic(file, text, strlen(text), 0644, &err) < 0) {
		cmd_berr(ctx, &err);
	} else {
		cmd_info(ctx, "signed checkpoint of entry %" PRId64 " written to %s; `berth"
			 " ledger verify --checkpoint %s` proves the ledger still extends it",
			 seq, file, file);
		ret = EXIT_OK;
	}
	free(text);
	return ret;
}

/*
 * Verify l, with checkpoint: "SEQ:HASH", or the file of a signed
 * checkpoint (which must be this berth's).
 */
static int
verify_with(struct ctx *ctx, struct ledger *l, const char *checkpoint,
	    struct ledger_verify_result *r, struct berr *err)
{
	struct incus_identity id = { 0 };
	char *data = NULL;
	size_t len = 0;
	json_t *cp = NULL;
	int ret;

	if (!checkpoint || access(checkpoint, F_OK) != 0)
		return ledger_verify(l, checkpoint, r, err);
	if ((ret = fs_read_file(checkpoint, 1 << 20, &data, &len, err)) < 0 ||
	    !(cp = ledger_checkpoint_parse(data, len, err)) ||
	    incus_identity_load(ctx->state_dir, &id, err) < 0 ||
	    ledger_checkpoint_check(l, cp, id.fingerprint, r, err) < 0) {
		berr_prefix(err, "%s", checkpoint);
		ret = -1;
	}
	free(data);
	json_decref(cp);
	incus_identity_release(&id);
	return ret;
}

static int
do_verify(struct ctx *ctx, struct ledger *l, const char *checkpoint, int for_checkpoint)
{
	struct ledger_verify_result r;
	struct berr err;

	if (verify_with(ctx, l, checkpoint, &r, &err) < 0) {
		cmd_berr(ctx, &err);
		return EXIT_FAIL;
	}
	if (ctx->format == FORMAT_JSON && !for_checkpoint) {
		json_t *j = versioned();

		json_object_set_new(j, "ok", json_boolean(r.ok));
		json_object_set_new(j, "head_seq", json_integer(r.head_seq));
		json_object_set_new(j, "head_hash", json_string(r.head_hash));
		if (checkpoint)
			json_object_set_new(j, "checkpoint", json_string(checkpoint));
		if (!r.ok) {
			json_object_set_new(j, "bad_seq", json_integer(r.bad_seq));
			json_object_set_new(j, "why", json_string(r.why));
			json_object_set_new(j, "message", json_string(r.msg));
		}
		dump_json(j);
		json_decref(j);
	}
	if (!r.ok) {
		cmd_error(ctx, "the ledger does not verify: %s", r.msg);
		if (r.head_seq == 1)
			cmd_info(ctx, "entry 1 verifies (hash %s)", r.head_hash);
		else if (r.head_seq > 1)
			cmd_info(ctx, "entries 1 to %" PRId64 " verify (hash %s)", r.head_seq, r.head_hash);
		return EXIT_FAIL;
	}
	if (for_checkpoint) {
		if (ctx->format == FORMAT_JSON) {
			json_t *j = versioned();
			char cp[96];

			snprintf(cp, sizeof(cp), "%" PRId64 ":%s", r.head_seq, r.head_hash);
			json_object_set_new(j, "seq", json_integer(r.head_seq));
			json_object_set_new(j, "hash", json_string(r.head_hash));
			json_object_set_new(j, "checkpoint", json_string(cp));
			dump_json(j);
			json_decref(j);
		} else {
			printf("%" PRId64 ":%s\n", r.head_seq, r.head_hash);
		}
		cmd_info(ctx, "keep this line somewhere berth's host cannot change it (another "
		     "machine, a ticket, paper); `berth ledger verify --checkpoint %" PRId64
		     ":%s` proves the ledger still extends it", r.head_seq, r.head_hash);
		return EXIT_OK;
	}
	if (ctx->format != FORMAT_JSON) {
		printf("ok: %" PRId64 " entries verify; head %" PRId64 " %s\n", r.head_seq,
		       r.head_seq, r.head_hash);
		if (checkpoint)
			printf("the ledger extends checkpoint %s\n", checkpoint);
	}
	return EXIT_OK;
}

/* berth ledger backup FILE: a copy of berth.db as of now. */
static int
do_backup(struct ctx *ctx, struct ledger *l, const char *file)
{
	struct berr err;
	char hash[65];
	int64_t seq;

	if (ledger_backup(l, file, &seq, hash, &err) < 0) {
		cmd_error(ctx, "backup: %s", err.msg);
		return EXIT_FAIL;
	}
	if (ctx->format == FORMAT_JSON) {
		json_t *j = versioned();

		json_object_set_new(j, "file", json_string(file));
		json_object_set_new(j, "head", json_pack("{s:I, s:s}", "seq", (json_int_t)seq,
							 "hash", hash));
		dump_json(j);
		json_decref(j);
	} else {
		printf("backed up %s/berth.db to %s: ledger head %" PRId64 " %s\n", ctx->state_dir,
		       file, seq, hash);
	}
	return EXIT_OK;
}

int
cmd_ledger(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct ledger_filter f = { 0 };
	struct ledger *l = NULL;
	struct berr err;
	const char *sub = NULL, *operand = NULL, *checkpoint = NULL, *as = "jsonl";
	const char *out_file = NULL;
	int r, ret = EXIT_FAIL, seen[O_OUT + 1] = { 0 };
	size_t i;

	optparse_init(&p, ctx, argc, argv, opts);
	while ((r = opt_next(&p)) != OPT_END) {
		switch (r) {
		case OPT_HELP: return command_help(ctx);
		case OPT_OPERAND:
			if (!sub) {
				sub = p.arg;
			} else if ((!strcmp(sub, "show") || !strcmp(sub, "backup")) && !operand) {
				operand = p.arg;
			} else {
				return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
			}
			break;
		case O_SINCE: f.since = p.arg; seen[r] = 1; break;
		case O_KIND: f.kind = p.arg; seen[r] = 1; break;
		case O_OBJECT: f.object = p.arg; seen[r] = 1; break;
		case O_RUN: f.run_id = p.arg; seen[r] = 1; break;
		case O_LIMIT: {
			int64_t v;

			if (parse_seq(p.arg, &v) < 0)
				return usage_error(ctx, "--limit: want a number from 1, have \"%s\"", p.arg);
			f.limit = (size_t)v;
			seen[r] = 1;
			break;
		}
		case O_CHECKPOINT: checkpoint = p.arg; seen[r] = 1; break;
		case O_OUT: out_file = p.arg; seen[r] = 1; break;
		case O_AS:
			if (strcmp(p.arg, "jsonl") && strcmp(p.arg, "csv"))
				return usage_error(ctx, "--as: want jsonl or csv, have \"%s\"", p.arg);
			as = p.arg;
			seen[r] = 1;
			break;
		default: return EXIT_FAIL;
		}
	}
	if (!sub)
		return usage_error(ctx, "want a subcommand: list, show, verify, checkpoint, export"
				   " or backup");
	for (i = 0; i < sizeof(subcommands) / sizeof(*subcommands); i++)
		if (!strcmp(sub, subcommands[i]))
			break;
	if (i == sizeof(subcommands) / sizeof(*subcommands))
		return usage_error(ctx, "unknown subcommand \"%s\" (want list, show, verify, "
				   "checkpoint, export or backup)", sub);
	for (i = 1; i <= O_OUT; i++) {
		if (seen[i] && !takes(sub, (int)i))
			return usage_error(ctx, "option \"--%s\" does not apply to `ledger %s`",
					   opts[i - 1].name, sub);
	}
	if (!strcmp(sub, "show")) {
		if (!operand)
			return usage_error(ctx, "show: want the seq of an entry");
		if (parse_seq(operand, &f.seq) < 0)
			return usage_error(ctx, "show: want the seq of an entry (a number from 1), "
					   "have \"%s\"", operand);
	}

	if (!strcmp(sub, "backup") && !operand)
		return usage_error(ctx, "backup: want the file to write the copy to");

	if (ledger_open(ctx->state_dir, &l, &err) < 0) {
		cmd_berr(ctx, &err);
		return EXIT_FAIL;
	}
	if (!strcmp(sub, "verify")) {
		ret = do_verify(ctx, l, checkpoint, 0);
	} else if (!strcmp(sub, "backup")) {
		ret = do_backup(ctx, l, operand);
	} else if (!strcmp(sub, "checkpoint")) {
		ret = do_verify(ctx, l, NULL, 1);
		if (ret == EXIT_OK && out_file)
			ret = write_checkpoint(ctx, l, out_file);
	} else if (!strcmp(sub, "export")) {
		if (!strcmp(as, "csv")) {
			for (i = 0; i < sizeof(export_keys) / sizeof(*export_keys); i++)
				printf("%s%s", i ? "," : "", export_keys[i]);
			fputs("\r\n", stdout);
		}
		if (ledger_query(l, NULL, !strcmp(as, "csv") ? export_csv : export_jsonl, NULL,
				 &err) < 0) {
			cmd_berr(ctx, &err);
			goto out;
		}
		ret = EXIT_OK;
	} else {
		json_t *all = json_array();

		if (ledger_query(l, &f, collect, all, &err) < 0) {
			cmd_berr(ctx, &err);
			json_decref(all);
			goto out;
		}
		if (!strcmp(sub, "show") && json_array_size(all) == 0) {
			cmd_error(ctx, "no ledger entry has seq %" PRId64, f.seq);
		} else if (ctx->format == FORMAT_JSON) {
			json_t *j = versioned();

			if (!strcmp(sub, "show"))
				json_object_set(j, "entry", json_array_get(all, 0));
			else
				json_object_set(j, "entries", all);
			dump_json(j);
			json_decref(j);
			ret = EXIT_OK;
		} else if (!strcmp(sub, "show")) {
			ret = print_entry(json_array_get(all, 0));
		} else {
			for (i = 0; i < json_array_size(all); i++)
				print_line(NULL, json_array_get(all, i));
			if (json_array_size(all) == 0)
				cmd_info(ctx, "no ledger entries%s", f.since || f.kind || f.object ||
				     f.run_id ? " match" : " yet");
			ret = EXIT_OK;
		}
		json_decref(all);
	}
out:
	ledger_close(l);
	return ret;
}
