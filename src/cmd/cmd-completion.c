/*
 * berth completion bash|zsh|fish - the shell completion scripts, made from
 * the command table: its commands, the options and subcommands their help
 * texts name, and what each option's value is (usage.h reads the texts).
 *
 * What a value is comes from its placeholder: KIND/NAME is a target, NAME
 * (or P) of an option named after a kind (--plan, --host, --provider) a
 * name of that kind, FILE and F a file, DIR and R a directory, a lowercase
 * word or words (jsonl|csv) the choices; the operand NAME of a command
 * named after a kind (host trust-command NAME) a name of that kind.
 * Names come from the hidden `berth __complete`, run with the --repo,
 * --ref, --path, --worktree and --state of the command line being
 * completed; it prints nothing for a remote repository, which a
 * completion does not fetch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "cmd/usage.h"
#include "manifest/manifest.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* An option ("--out") and what its value is ("files"; NULL: it takes none). */
struct c_opt {
	char *name;
	char *value;
	char *help;
};

/* A subcommand ("trust-command") and what its operand is ("names Host"). */
struct c_sub {
	char *name;
	char *operand;
	char *help;
};

struct c_cmd {
	const char *name;	/* "" for the global options */
	const char *summary;
	struct c_opt *opts;
	size_t nopts, aopts;
	struct c_sub *subs;
	size_t nsubs, asubs;
	char *operand;		/* of a command without subcommands, or NULL */
};

/* "host" -> "Host" when that is a kind; NULL otherwise. */
static const char *
kind_of(const char *word, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%s", word);
	if (buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 'a' + 'A');
	return kind_from_name(buf) >= 0 ? buf : NULL;
}

/* "jsonl|csv" -> "words jsonl csv". Caller frees. */
static char *
words_of(const char *choices)
{
	char *s = xasprintf("words %s", choices), *p;

	for (p = s; *p; p++)
		if (*p == '|')
			*p = ' ';
	return s;
}

static int
ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), m = strlen(end);

	return n >= m && !strcmp(s + n - m, end);
}

/* What the value placeholder ph of option opt ("--plan") is. Caller frees. */
static char *
value_of(const char *opt, const char *ph)
{
	char kind[64];

	if (strstr(ph, "KIND/NAME"))
		return xstrdup("targets");
	if ((!strcmp(ph, "NAME") || !strcmp(ph, "P")) && kind_of(opt + 2, kind, sizeof(kind)))
		return xasprintf("names %s", kind);
	if (usage_is_literal(ph))
		return words_of(ph);
	if (ends_with(ph, "FILE") || !strcmp(ph, "F"))
		return xstrdup("files");
	if (!strcmp(ph, "DIR") || !strcmp(ph, "R"))
		return xstrdup("dirs");
	return xstrdup("none");
}

/* What the operand placeholder ph of command cmd is. Caller frees. */
static char *
operand_of(const char *cmd, const char *ph)
{
	char kind[64];

	if (!strcmp(ph, "NAME") && kind_of(cmd, kind, sizeof(kind)))
		return xasprintf("names %s", kind);
	if (ends_with(ph, "FILE"))
		return xstrdup("files");
	return xstrdup("none");
}

static void
add_opt(struct c_cmd *c, const struct c_cmd *global, const char *name, const char *ph,
	const char *help)
{
	struct c_opt *o;
	size_t i;

	for (i = 0; i < c->nopts; i++)
		if (!strcmp(c->opts[i].name, name))
			return;
	ALLOC_GROW(c->opts, c->nopts + 1, c->aopts);
	o = &c->opts[c->nopts++];
	o->name = xstrdup(name);
	o->value = ph ? value_of(name, ph) : NULL;
	o->help = xstrdup(help);
	/* settle's --format csv: and the global text and json */
	for (i = 0; global && o->value && i < global->nopts; i++) {
		const struct c_opt *g = &global->opts[i];

		if (!strcmp(g->name, name) && g->value && !strncmp(g->value, "words ", 6) &&
		    !strncmp(o->value, "words ", 6)) {
			char *v = xasprintf("%s %s", g->value, o->value + 6);

			free(o->value);
			o->value = v;
		}
	}
}

static void
add_sub(struct c_cmd *c, const char *name, const char *help)
{
	ALLOC_GROW(c->subs, c->nsubs + 1, c->asubs);
	c->subs[c->nsubs].name = xstrdup(name);
	c->subs[c->nsubs].operand = xstrdup("none");
	c->subs[c->nsubs].help = xstrdup(help);
	c->nsubs++;
}

/*
 * Read one entry's term: subcommands first ("run|once"), an operand
 * placeholder ("FILE", or the NAME of "trust-command NAME"), options
 * with their placeholders ("--out FILE").
 */
static void
read_entry(struct c_cmd *c, const struct c_cmd *global, const struct usage_entry *e)
{
	const char *w[USAGE_MAX_WORDS];
	char buf[512], *alts, *save = NULL, *s;
	size_t n, i = 0, first_sub = c->nsubs, j;
	int operand_seen = 0;
	char *help = NULL;

	n = usage_words(e->term, buf, sizeof(buf), w, USAGE_MAX_WORDS);
	if (n && usage_is_literal(w[0])) {
		alts = xstrdup(w[0]);
		for (s = strtok_r(alts, "|", &save); s; s = strtok_r(NULL, "|", &save))
			add_sub(c, s, e->desc);
		free(alts);
		/* its options: "list: entries in seq order ..." */
		help = xasprintf("%s: %s", w[0], e->desc);
		i = 1;
	}
	for (; i < n; i++) {
		if (!strncmp(w[i], "--", 2)) {
			const char *ph = i + 1 < n && w[i + 1][0] != '-' ? w[i + 1] : NULL;

			add_opt(c, global, w[i], ph, help ? help : e->desc);
			if (ph)
				i++;
		} else if (w[i][0] == '-') {
			continue;	/* -q of "-q, --quiet" */
		} else if (!operand_seen) {
			operand_seen = 1;
			if (c->nsubs > first_sub) {
				for (j = first_sub; j < c->nsubs; j++) {
					free(c->subs[j].operand);
					c->subs[j].operand = operand_of(c->name, w[i]);
				}
			} else if (!c->operand) {
				c->operand = operand_of(c->name, w[i]);
			}
		}
	}
	free(help);
}

static void
c_cmd_init(struct c_cmd *c, const char *name, const char *summary, const char *text,
	   const struct c_cmd *global)
{
	struct usage u = USAGE_INIT;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->summary = summary;
	usage_parse(&u, text ? text : "");
	for (i = 0; i < u.n; i++)
		read_entry(c, global, &u.v[i]);
	usage_release(&u);
}

static void
c_cmd_release(struct c_cmd *c)
{
	size_t i;

	for (i = 0; i < c->nopts; i++) {
		free(c->opts[i].name);
		free(c->opts[i].value);
		free(c->opts[i].help);
	}
	for (i = 0; i < c->nsubs; i++) {
		free(c->subs[i].name);
		free(c->subs[i].operand);
		free(c->subs[i].help);
	}
	free(c->opts);
	free(c->subs);
	free(c->operand);
}

/* The model of every visible command; global options in *global. */
struct model {
	struct c_cmd global;
	struct c_cmd *cmds;
	size_t n;
	struct buf names;	/* "validate plan ..." */
};

static void
model_init(struct model *m)
{
	size_t i;

	c_cmd_init(&m->global, "", "", global_usage, NULL);
	m->cmds = xcalloc(ncommands, sizeof(*m->cmds));
	m->n = 0;
	buf_init(&m->names, 0);
	for (i = 0; i < ncommands; i++) {
		if (commands[i].needs & HIDDEN)
			continue;
		buf_addf(&m->names, "%s%s", m->names.len ? " " : "", commands[i].name);
	}
	for (i = 0; i < ncommands; i++) {
		struct c_cmd *c;

		if (commands[i].needs & HIDDEN)
			continue;
		c = &m->cmds[m->n++];
		c_cmd_init(c, commands[i].name, commands[i].summary, commands[i].usage,
			   &m->global);
		if (!strcmp(c->name, "help") && !c->operand)
			c->operand = xasprintf("words %s", m->names.buf);
	}
}

static void
model_release(struct model *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		c_cmd_release(&m->cmds[i]);
	free(m->cmds);
	c_cmd_release(&m->global);
	buf_release(&m->names);
}

/* ---- bash and zsh ------------------------------------------------------ */

/*
 * The data of both scripts, as shell functions they share:
 *   _berth_value CMD OPTION   what OPTION's value is; fails when it takes none
 *   _berth_options CMD        CMD's options and the global ones
 *   _berth_operand CMD SUB N  what the operand after CMD is, when N
 *                             operands (the first SUB) came before it
 */
static void
sh_data(struct buf *b, const struct model *m)
{
	size_t i, j;

	buf_addf(b, "_berth_commands='%s'\n\n", m->names.buf);
	buf_addstr(b, "_berth_value() {\n\tcase $1:$2 in\n");
	for (i = 0; i < m->n; i++)
		for (j = 0; j < m->cmds[i].nopts; j++)
			if (m->cmds[i].opts[j].value)
				buf_addf(b, "\t(%s:%s) printf '%%s\\n' %s; return 0 ;;\n",
					 m->cmds[i].name, m->cmds[i].opts[j].name,
					 m->cmds[i].opts[j].value);
	buf_addstr(b, "\tesac\n\tcase $2 in\n");
	for (j = 0; j < m->global.nopts; j++)
		if (m->global.opts[j].value)
			buf_addf(b, "\t(%s) printf '%%s\\n' %s; return 0 ;;\n",
				 m->global.opts[j].name, m->global.opts[j].value);
	buf_addstr(b, "\tesac\n\treturn 1\n}\n\n");

	buf_addstr(b, "_berth_options() {\n\tcase $1 in\n");
	for (i = 0; i < m->n; i++) {
		if (!m->cmds[i].nopts)
			continue;
		buf_addf(b, "\t(%s) printf '%%s\\n'", m->cmds[i].name);
		for (j = 0; j < m->cmds[i].nopts; j++)
			buf_addf(b, " %s", m->cmds[i].opts[j].name);
		buf_addstr(b, " ;;\n");
	}
	buf_addstr(b, "\tesac\n\tprintf '%s\\n'");
	for (j = 0; j < m->global.nopts; j++)
		buf_addf(b, " %s", m->global.opts[j].name);
	buf_addstr(b, "\n}\n\n");

	buf_addstr(b, "_berth_operand() {\n\tcase $1:$2:$3 in\n");
	for (i = 0; i < m->n; i++) {
		const struct c_cmd *c = &m->cmds[i];

		if (c->nsubs) {
			buf_addf(b, "\t(%s::0) printf '%%s\\n' words", c->name);
			for (j = 0; j < c->nsubs; j++)
				buf_addf(b, " %s", c->subs[j].name);
			buf_addstr(b, " ;;\n");
			for (j = 0; j < c->nsubs; j++)
				if (strcmp(c->subs[j].operand, "none"))
					buf_addf(b, "\t(%s:%s:1) printf '%%s\\n' %s ;;\n", c->name,
						 c->subs[j].name, c->subs[j].operand);
		} else if (c->operand && strcmp(c->operand, "none")) {
			buf_addf(b, "\t(%s::0) printf '%%s\\n' %s ;;\n", c->name, c->operand);
		}
	}
	buf_addstr(b, "\t(*) printf '%s\\n' none ;;\n\tesac\n}\n\n");
}

static const char bash_main[] =
	"# The command line up to the word being completed: the command, its\n"
	"# operands, and the options that choose the manifests (for names).\n"
	"_berth() {\n"
	"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= sub= w act i n=0\n"
	"\tlocal -a g=()\n"
	"\tCOMPREPLY=()\n"
	"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tcase $w in\n"
	"\t\t(--repo|--ref|--path|--state) g+=(\"$w\" \"${COMP_WORDS[i+1]-}\") ;;\n"
	"\t\t(--worktree) g+=(\"$w\") ;;\n"
	"\t\tesac\n"
	"\t\tif [[ $w == -* ]]; then\n"
	"\t\t\tif _berth_value \"$cmd\" \"$w\" >/dev/null; then i=$((i + 1)); fi\n"
	"\t\telif [[ -z $cmd ]]; then\n"
	"\t\t\tcmd=$w\n"
	"\t\telse\n"
	"\t\t\tif [[ $n == 0 ]]; then sub=$w; fi\n"
	"\t\t\tn=$((n + 1))\n"
	"\t\tfi\n"
	"\tdone\n"
	"\tif ((COMP_CWORD > 1)); then prev=${COMP_WORDS[COMP_CWORD-1]}; fi\n"
	"\tif [[ $prev == -* ]] && act=$(_berth_value \"$cmd\" \"$prev\"); then\n"
	"\t\t:\n"
	"\telif [[ $cur == -* ]]; then\n"
	"\t\tact=\"words $(_berth_options \"$cmd\")\"\n"
	"\telif [[ -z $cmd ]]; then\n"
	"\t\tact=\"words $_berth_commands\"\n"
	"\telse\n"
	"\t\tact=$(_berth_operand \"$cmd\" \"$sub\" \"$n\")\n"
	"\tfi\n"
	"\tset -- $act\n"
	"\tlocal IFS=$'\\n' what=$1\n"
	"\tshift\n"
	"\tcase $what in\n"
	"\t(files) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	"\t(dirs) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n"
	"\t(targets) COMPREPLY=($(compgen -W \"$(\"${COMP_WORDS[0]}\" \"${g[@]}\" __complete targets 2>/dev/null)\" -- \"$cur\")) ;;\n"
	"\t(names) COMPREPLY=($(compgen -W \"$(\"${COMP_WORDS[0]}\" \"${g[@]}\" __complete names \"$@\" 2>/dev/null)\" -- \"$cur\")) ;;\n"
	"\t(words) COMPREPLY=($(compgen -W \"$*\" -- \"$cur\")) ;;\n"
	"\tesac\n"
	"\treturn 0\n"
	"}\n"
	"\n"
	"complete -F _berth berth\n";

static const char zsh_main[] =
	"_berth() {\n"
	"\tlocal cur=${words[CURRENT]} prev= cmd= sub= w act\n"
	"\tlocal -a g a\n"
	"\tlocal -i i n=0\n"
	"\tfor ((i = 2; i < CURRENT; i++)); do\n"
	"\t\tw=${words[i]}\n"
	"\t\tcase $w in\n"
	"\t\t(--repo|--ref|--path|--state) g+=(\"$w\" \"${words[i+1]}\") ;;\n"
	"\t\t(--worktree) g+=(\"$w\") ;;\n"
	"\t\tesac\n"
	"\t\tif [[ $w == -* ]]; then\n"
	"\t\t\tif _berth_value \"$cmd\" \"$w\" >/dev/null; then i=i+1; fi\n"
	"\t\telif [[ -z $cmd ]]; then\n"
	"\t\t\tcmd=$w\n"
	"\t\telse\n"
	"\t\t\tif ((n == 0)); then sub=$w; fi\n"
	"\t\t\tn=n+1\n"
	"\t\tfi\n"
	"\tdone\n"
	"\tif ((CURRENT > 2)); then prev=${words[CURRENT-1]}; fi\n"
	"\tif [[ $prev == -* ]] && act=$(_berth_value \"$cmd\" \"$prev\"); then\n"
	"\t\t:\n"
	"\telif [[ $cur == -* ]]; then\n"
	"\t\tact=\"words $(_berth_options \"$cmd\")\"\n"
	"\telif [[ -z $cmd ]]; then\n"
	"\t\tact=\"words $_berth_commands\"\n"
	"\telse\n"
	"\t\tact=$(_berth_operand \"$cmd\" \"$sub\" $n)\n"
	"\tfi\n"
	"\ta=(${=act})\n"
	"\tcase $a[1] in\n"
	"\t(files) _files ;;\n"
	"\t(dirs) _files -/ ;;\n"
	"\t(targets) a=(${(f)\"$(${words[1]} $g __complete targets 2>/dev/null)\"}); compadd -a a ;;\n"
	"\t(names) a=(${(f)\"$(${words[1]} $g __complete names $a[2,-1] 2>/dev/null)\"}); compadd -a a ;;\n"
	"\t(words) compadd -- $a[2,-1] ;;\n"
	"\t(*) return 1 ;;\n"
	"\tesac\n"
	"}\n"
	"\n"
	"_berth \"$@\"\n";

/* ---- fish ---------------------------------------------------------------- */

/* " -d 'what'": s up to its first ';' or '(' as a fish description; nothing
 * when that is empty. */
static void
fish_desc(struct buf *b, const char *s)
{
	size_t len = strcspn(s, ";(");

	while (len && s[len - 1] == ' ')
		len--;
	if (!len)
		return;
	buf_addstr(b, " -d '");
	for (; len--; s++) {
		if (*s == '\'' || *s == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *s);
	}
	buf_addch(b, '\'');
}

/* fish's arguments for a value or operand: " -x -a ...", " -r -F", ... */
static void
fish_value(struct buf *b, const char *value)
{
	if (!strcmp(value, "files"))
		buf_addstr(b, " -r -F");
	else if (!strcmp(value, "dirs"))
		buf_addstr(b, " -x -a '(__fish_complete_directories (commandline -ct))'");
	else if (!strcmp(value, "targets"))
		buf_addstr(b, " -x -a '(__berth_names targets)'");
	else if (!strncmp(value, "names ", 6))
		buf_addf(b, " -x -a '(__berth_names names %s)'", value + 6);
	else if (!strncmp(value, "words ", 6))
		buf_addf(b, " -x -a '%s'", value + 6);
	else
		buf_addstr(b, " -x");
}

static const char fish_helpers[] =
	"# The words of the command line after berth that are not options nor\n"
	"# their values: the command, then its operands.\n"
	"function __berth_args\n"
	"\tset -l t (commandline -opc)\n"
	"\tset -e t[1]\n"
	"\tset -l skip 0\n"
	"\tfor w in $t\n"
	"\t\tif test $skip = 1\n"
	"\t\t\tset skip 0\n"
	"\t\t\tcontinue\n"
	"\t\tend\n"
	"\t\tif contains -- $w $__berth_takes_value\n"
	"\t\t\tset skip 1\n"
	"\t\telse if not string match -q -- '-*' $w\n"
	"\t\t\techo $w\n"
	"\t\tend\n"
	"\tend\n"
	"end\n"
	"\n"
	"# __berth_at CMD N [SUB]: the command is CMD and N operands (the first\n"
	"# SUB) come before the word being completed.\n"
	"function __berth_at\n"
	"\tset -l a (__berth_args)\n"
	"\ttest (count $a) -eq (math $argv[2] + 1); or return 1\n"
	"\ttest \"$a[1]\" = \"$argv[1]\"; or return 1\n"
	"\tset -q argv[3]; and test \"$a[2]\" != \"$argv[3]\"; and return 1\n"
	"\treturn 0\n"
	"end\n"
	"\n"
	"function __berth_command_is\n"
	"\tset -l a (__berth_args)\n"
	"\ttest \"$a[1]\" = \"$argv[1]\"\n"
	"end\n"
	"\n"
	"function __berth_no_command\n"
	"\ttest (count (__berth_args)) -eq 0\n"
	"end\n"
	"\n"
	"# Names from the manifests that the command line's --repo, --ref, --path,\n"
	"# --worktree and --state choose.\n"
	"function __berth_names\n"
	"\tset -l t (commandline -opc)\n"
	"\tset -l g\n"
	"\tset -l n (count $t)\n"
	"\tfor i in (seq 2 $n)\n"
	"\t\tswitch $t[$i]\n"
	"\t\tcase --repo --ref --path --state\n"
	"\t\t\tif test $i -lt $n\n"
	"\t\t\t\tset -a g $t[$i] $t[(math $i + 1)]\n"
	"\t\t\tend\n"
	"\t\tcase --worktree\n"
	"\t\t\tset -a g $t[$i]\n"
	"\t\tend\n"
	"\tend\n"
	"\t$t[1] $g __complete $argv 2>/dev/null\n"
	"end\n"
	"\n";

static void
fish_opts(struct buf *b, const struct c_cmd *c)
{
	size_t j;

	for (j = 0; j < c->nopts; j++) {
		buf_addstr(b, "complete -c berth");
		if (*c->name)
			buf_addf(b, " -n '__berth_command_is %s'", c->name);
		buf_addf(b, " -l %s", c->opts[j].name + 2);
		if (c->opts[j].value)
			fish_value(b, c->opts[j].value);
		fish_desc(b, c->opts[j].help);
		buf_addch(b, '\n');
	}
}

static void
fish_script(struct buf *b, const struct model *m)
{
	struct buf seen = BUF_INIT;
	size_t i, j;

	/* every option that takes a value, whatever its command */
	buf_addstr(&seen, " ");
	for (i = 0; i <= m->n; i++) {
		const struct c_cmd *c = i < m->n ? &m->cmds[i] : &m->global;

		for (j = 0; j < c->nopts; j++) {
			char word[80];

			snprintf(word, sizeof(word), " %s ", c->opts[j].name);
			if (c->opts[j].value && !strstr(seen.buf, word))
				buf_addstr(&seen, word + 1);
		}
	}
	buf_setlen(&seen, seen.len - 1);
	buf_addf(b, "set -g __berth_takes_value%s\n\n", seen.buf);
	buf_release(&seen);
	buf_addstr(b, fish_helpers);
	buf_addstr(b, "complete -c berth -f\n");
	for (i = 0; i < m->n; i++) {
		buf_addf(b, "complete -c berth -n __berth_no_command -a %s", m->cmds[i].name);
		fish_desc(b, m->cmds[i].summary);
		buf_addch(b, '\n');
	}
	fish_opts(b, &m->global);
	for (i = 0; i < m->n; i++) {
		const struct c_cmd *c = &m->cmds[i];

		fish_opts(b, c);
		for (j = 0; j < c->nsubs; j++) {
			buf_addf(b, "complete -c berth -n '__berth_at %s 0' -a %s", c->name,
				 c->subs[j].name);
			fish_desc(b, c->subs[j].help);
			buf_addch(b, '\n');
			if (strcmp(c->subs[j].operand, "none")) {
				buf_addf(b, "complete -c berth -n '__berth_at %s 1 %s'", c->name,
					 c->subs[j].name);
				fish_value(b, c->subs[j].operand);
				buf_addch(b, '\n');
			}
		}
		if (c->operand && strcmp(c->operand, "none")) {
			buf_addf(b, "complete -c berth -n '__berth_at %s 0'", c->name);
			fish_value(b, c->operand);
			buf_addch(b, '\n');
		}
	}
}

int
cmd_completion(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct model m;
	struct buf b = BUF_INIT;
	const char *shell = NULL;
	int r;

	optparse_init(&p, ctx, argc, argv, NULL);
	while ((r = opt_next(&p)) != OPT_END) {
		if (r == OPT_HELP)
			return command_help(ctx);
		if (r != OPT_OPERAND)
			return EXIT_FAIL;
		if (shell)
			return usage_error(ctx, "unexpected argument \"%s\"", p.arg);
		shell = p.arg;
	}
	if (!shell)
		return usage_error(ctx, "want a shell: bash, zsh or fish");
	if (strcmp(shell, "bash") && strcmp(shell, "zsh") && strcmp(shell, "fish"))
		return usage_error(ctx, "want bash, zsh or fish, have \"%s\"", shell);
	model_init(&m);
	if (!strcmp(shell, "zsh"))
		buf_addstr(&b, "#compdef berth\n");
	buf_addf(&b, "# %s completion for berth(1); generated by `berth completion %s`.\n\n",
		 shell, shell);
	if (!strcmp(shell, "fish")) {
		fish_script(&b, &m);
	} else {
		sh_data(&b, &m);
		buf_addstr(&b, !strcmp(shell, "bash") ? bash_main : zsh_main);
	}
	fwrite(b.buf, 1, b.len, stdout);
	buf_release(&b);
	model_release(&m);
	return EXIT_OK;
}

/* ---- berth __complete ----------------------------------------------------- */

static const char *
json_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/*
 * berth __complete targets: KIND/NAME of every object --target takes;
 * berth __complete names KIND...: the names of those kinds. One a line,
 * from the documents as they parse (a schema error does not hide a
 * name). Nothing, and exit 1, when the manifests cannot be read or are
 * remote: a completion does not fetch.
 */
int
cmd_complete(struct ctx *ctx, int argc, char **argv)
{
	struct optparse p;
	struct source_opts so;
	struct manifest_result res;
	struct diags d = DIAGS_INIT;
	struct berr err;
	const char *what = NULL, *kinds[KIND__COUNT];
	size_t nkinds = 0, i, k;
	int r, targets;
	char t[256];

	optparse_init(&p, ctx, argc, argv, NULL);
	while ((r = opt_next(&p)) != OPT_END) {
		if (r != OPT_OPERAND)
			return EXIT_FAIL;
		if (!what)
			what = p.arg;
		else if (nkinds < KIND__COUNT && kind_from_name(p.arg) >= 0)
			kinds[nkinds++] = p.arg;
	}
	if (!what || (strcmp(what, "targets") && strcmp(what, "names")))
		return usage_error(ctx, "want targets or names KIND...");
	targets = !strcmp(what, "targets");
	if (source_is_remote(ctx->repo))
		return EXIT_FAIL;
	ctx_source_opts(ctx, &so);
	so.waiting = NULL;
	if (manifest_load(&so, MANIFEST_PARSE, &res, &d, &err) < 0) {
		diags_release(&d);
		return EXIT_FAIL;
	}
	for (i = 0; i < res.docs.n; i++) {
		json_t *root = res.docs.v[i].root;
		const char *kind = json_str(root, "kind");
		const char *name = json_str(json_object_get(root, "metadata"), "name");

		if (!kind || !name || strchr(name, '\n'))
			continue;
		snprintf(t, sizeof(t), "%s/%s", kind, name);
		if (targets) {
			if (opt_valid_target(t))
				printf("%s\n", t);
			continue;
		}
		for (k = 0; k < nkinds; k++)
			if (!strcmp(kinds[k], kind))
				printf("%s\n", name);
	}
	manifest_result_release(&res);
	diags_release(&d);
	return EXIT_OK;
}
