/*
 * usage.h - the help texts of the command table, read back as entries:
 * what berth(1) and the completion scripts are made from.
 *
 * A help text has one entry a line, indented by two or six spaces: a term
 * ("--out FILE", "list [--since T]", "-q, --quiet", "FILE"), then two or
 * more spaces and what it does; lines indented further go on with the
 * description of the entry above. A line of a term alone has no
 * description of its own on that line.
 */
#ifndef BERTH_CMD_USAGE_H
#define BERTH_CMD_USAGE_H

#include <stddef.h>

/* Lines indented this far or more go on with the entry above. */
#define USAGE_CONT_INDENT 12
/* Words in one term. */
#define USAGE_MAX_WORDS 16

struct usage_entry {
	int indent;		/* spaces before the term */
	char *term;
	char *desc;		/* its lines joined by single spaces; "" when none */
};

struct usage {
	struct usage_entry *v;
	size_t n;
	size_t alloc;
	int min_indent;		/* of its entries; 0 when it has none */
};

#define USAGE_INIT { NULL, 0, 0, 0 }

/* Read text into u (USAGE_INIT); release it with usage_release(). */
void usage_parse(struct usage *u, const char *text);
void usage_release(struct usage *u);

/*
 * The words of a term, split at spaces, without the brackets of optional
 * parts and trailing commas ("[--since T]" -> "--since", "T"): up to max
 * pointers into buf (of size bufsz, which they are copied into). Returns
 * how many.
 */
size_t usage_words(const char *term, char *buf, size_t bufsz, const char **words,
		   size_t max);

/* A word naming a subcommand or choices: lowercase letters, digits, '-', '|'
 * ("trust-command", "run|once", "jsonl|csv"); 0 for placeholders (FILE,
 * unix:///PATH) and options. */
int usage_is_literal(const char *word);

#endif
