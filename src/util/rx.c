/*
 * rx.c - the matcher of rx.h.
 *
 * Compiling parses the pattern into a small tree, then builds a Glushkov
 * automaton from it: every character position of the pattern (a {m,n}
 * repeats its operand's positions up to n times) is one state, entered by
 * reading a byte its class accepts. The input is read framed by two
 * sentinel symbols, RX_BOT before the first byte and RX_EOT after the
 * last, and ^ and $ are positions accepting only those: that is exact as
 * long as no two anchors can match one after the other, which compiling
 * checks. A search starts a new thread before every symbol.
 *
 * Sets of positions are bitsets. When the subset construction stays
 * within RX_MAX_DFA states it is done once, at compile time, and matching
 * walks a table; otherwise matching steps the sets themselves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/rx.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define RX_BOT		256	/* symbol read before the input */
#define RX_EOT		257	/* symbol read after it */
#define RX_NSYM		258
#define RX_MAX_WORDS	(RX_MAX_POSITIONS / 64)
#define RX_MAX_COUNT	255	/* largest m or n in {m,n} */
#define RX_MAX_DEPTH	32	/* nested groups */
#define RX_MAX_DFA	512	/* DFA states; past that, simulate the NFA */

enum {
	RX_DFA_ACCEPT = 1,	/* a match ends here */
	RX_DFA_DEAD = 2,	/* no match can end from here on */
};

struct rx {
	size_t nwords;		/* 64-bit words in one state set */
	int nullable;		/* matches the empty string: matches anything */
	int anchored;		/* every first position is ^ */
	uint64_t *first;	/* positions a match can start with */
	uint64_t *last;		/* positions a match can end with */
	uint64_t *follow;	/* [pos * nwords]: positions that may come next */
	uint64_t *accepts;	/* [sym * nwords]: positions accepting sym */
	/* The NFA made deterministic when that takes at most RX_MAX_DFA states. */
	uint16_t *dfa;		/* [state * nclasses]: next state, or NULL */
	uint8_t *dfa_flags;	/* [state]: RX_DFA_* */
	size_t nclasses;
	uint16_t classes[RX_NSYM];	/* symbols accepted by the same positions */
};

/* ---- parsing -------------------------------------------------------- */

enum {
	RX_NODE_LEAF,
	RX_NODE_CAT,
	RX_NODE_ALT,
	RX_NODE_REP,
};

struct rx_node {
	int type;
	int nullable;
	int anchor;			/* leaf: RX_BOT, RX_EOT or 0 */
	int has_anchor;			/* an anchor in it */
	size_t a, b;			/* children (REP: a only) */
	int min, max;			/* REP: max -1 means unbounded */
	size_t npos;			/* positions, capped above the maximum */
	uint8_t set[32];		/* leaf: the bytes it accepts */
};

struct rx_parser {
	const char *s;
	struct rx_node *nodes;
	size_t nnodes, anodes;
	int depth;
};

static size_t
new_node(struct rx_parser *p, int type)
{
	struct rx_node *n;

	ALLOC_GROW(p->nodes, p->nnodes + 1, p->anodes);
	n = &p->nodes[p->nnodes];
	memset(n, 0, sizeof(*n));
	n->type = type;
	return p->nnodes++;
}

static size_t
cap_add(size_t a, size_t b)
{
	return a + b > RX_MAX_POSITIONS ? RX_MAX_POSITIONS + 1 : a + b;
}

static size_t
new_pair(struct rx_parser *p, int type, size_t a, size_t b)
{
	size_t i = new_node(p, type);
	struct rx_node *n = &p->nodes[i];

	n->a = a;
	n->b = b;
	if (type == RX_NODE_CAT)
		n->nullable = p->nodes[a].nullable && p->nodes[b].nullable;
	else
		n->nullable = p->nodes[a].nullable || p->nodes[b].nullable;
	n->has_anchor = p->nodes[a].has_anchor || p->nodes[b].has_anchor;
	n->npos = cap_add(p->nodes[a].npos, p->nodes[b].npos);
	return i;
}

static void
set_add(uint8_t *set, unsigned c)
{
	set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static int
is_quant(char c)
{
	return c == '*' || c == '+' || c == '?' || c == '{';
}

/* A count in {m,n}: 1 to 3 digits, at most RX_MAX_COUNT. */
static int
parse_count(struct rx_parser *p, int *out)
{
	int v = 0, k = 0;

	while (*p->s >= '0' && *p->s <= '9' && k < 4) {
		v = v * 10 + (*p->s++ - '0');
		k++;
	}
	if (!k || k > 3 || v > RX_MAX_COUNT)
		return -1;
	*out = v;
	return 0;
}

/* After '['. Backslashes, [: [= [. and non-ASCII bytes are refused. */
static int
parse_bracket(struct rx_parser *p, uint8_t *set)
{
	const unsigned char *s = (const unsigned char *)p->s;
	int neg = 0, first = 1;
	unsigned c, i;

	if (*s == '^') {
		neg = 1;
		s++;
	}
	for (;;) {
		c = *s;
		if (!c || c >= 0x80 || c == '\\')
			return -1;
		if (c == ']' && !first)
			break;
		if (c == '[' && (s[1] == ':' || s[1] == '=' || s[1] == '.'))
			return -1;
		if (s[1] == '-' && s[2] && s[2] != ']') {
			unsigned hi = s[2];

			if (c == '-' || hi >= 0x80 || hi == '\\' ||
			    hi == '[' || hi == '-' || hi < c)
				return -1;
			for (i = c; i <= hi; i++)
				set_add(set, i);
			s += 3;
		} else {
			if (c == '-' && !first && s[1] != ']')
				return -1;
			set_add(set, c);
			s++;
		}
		first = 0;
	}
	p->s = (const char *)s + 1;
	if (neg)
		for (i = 0; i < 32; i++)
			set[i] = (uint8_t)~set[i];
	return 0;
}

static int parse_alt(struct rx_parser *p, size_t *out);

/* One atom and its quantifier; at_start: first in its alternative. */
static int
parse_piece(struct rx_parser *p, int at_start, size_t *out)
{
	unsigned char c = (unsigned char)*p->s;
	size_t i;
	struct rx_node *n;
	int min, max;

	if (c == '(') {
		p->s++;
		if (++p->depth > RX_MAX_DEPTH || parse_alt(p, &i) ||
		    *p->s != ')')
			return -1;
		p->s++;
		p->depth--;
	} else {
		i = new_node(p, RX_NODE_LEAF);
		n = &p->nodes[i];
		n->npos = 1;
		p->s++;
		if (c == '^') {
			if (!at_start || is_quant(*p->s))
				return -1;
			n->anchor = RX_BOT;
			n->has_anchor = 1;
		} else if (c == '$') {
			if (*p->s && *p->s != '|' && *p->s != ')')
				return -1;
			n->anchor = RX_EOT;
			n->has_anchor = 1;
		} else if (c == '.') {
			memset(n->set, 0xff, sizeof(n->set));
			n->set[0] &= 0xfe;	/* regcomp: '.' never matches NUL */
		} else if (c == '[') {
			if (parse_bracket(p, n->set))
				return -1;
		} else if (c == '\\') {
			c = (unsigned char)*p->s++;
			/* \` \' \< \> are GNU anchors; letters and digits are classes */
			if (c < 0x21 || c >= 0x7f || strchr("`'<>", c) ||
			    (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z'))
				return -1;
			set_add(n->set, c);
		} else if (c && c < 0x80 && !strchr("*+?{}[])|", c)) {
			set_add(n->set, c);
		} else {
			return -1;
		}
	}
	if (!is_quant(*p->s)) {
		*out = i;
		return 0;
	}
	/* glibc loses anchors in repeated groups: (^a)+$ matches "aa" */
	if (p->nodes[i].nullable || p->nodes[i].has_anchor)
		return -1;
	c = (unsigned char)*p->s++;
	if (c == '*') {
		min = 0;
		max = -1;
	} else if (c == '+') {
		min = 1;
		max = -1;
	} else if (c == '?') {
		min = 0;
		max = 1;
	} else {
		if (parse_count(p, &min))
			return -1;
		max = min;
		if (*p->s == ',') {
			p->s++;
			max = -1;
			if (*p->s != '}' && parse_count(p, &max))
				return -1;
			if (max != -1 && max < min)
				return -1;
		}
		if (*p->s++ != '}')
			return -1;
	}
	if (is_quant(*p->s))
		return -1;
	*out = new_node(p, RX_NODE_REP);
	n = &p->nodes[*out];
	n->a = i;
	n->min = min;
	n->max = max;
	n->nullable = min == 0;
	{
		size_t reps = max == -1 ? (min ? (size_t)min : 1) : (size_t)max;
		size_t sub = p->nodes[i].npos;

		n->npos = sub && reps > (RX_MAX_POSITIONS + 1) / sub ?
			RX_MAX_POSITIONS + 1 : sub * reps;
	}
	return 0;
}

static int
parse_alt(struct rx_parser *p, size_t *out)
{
	size_t branch, piece;
	int have = 0;

	for (;;) {
		if (!*p->s || *p->s == '|' || *p->s == ')')
			return -1;	/* empty alternative */
		if (parse_piece(p, 1, &branch))
			return -1;
		while (*p->s && *p->s != '|' && *p->s != ')') {
			if (parse_piece(p, 0, &piece))
				return -1;
			branch = new_pair(p, RX_NODE_CAT, branch, piece);
		}
		*out = have ? new_pair(p, RX_NODE_ALT, *out, branch) : branch;
		have = 1;
		if (*p->s != '|')
			return 0;
		p->s++;
	}
}

/* ---- the automaton -------------------------------------------------- */

struct rx_frag {
	int nullable;
	uint64_t first[RX_MAX_WORDS];
	uint64_t last[RX_MAX_WORDS];
};

struct rx_builder {
	struct rx *rx;
	const struct rx_node *nodes;
	size_t npos;
	uint64_t anchors[RX_MAX_WORDS];
	uint64_t bots[RX_MAX_WORDS];
};

static void
bit_set(uint64_t *s, size_t i)
{
	s[i / 64] |= (uint64_t)1 << (i % 64);
}

static int
bit_test(const uint64_t *s, size_t i)
{
	return (s[i / 64] >> (i % 64)) & 1;
}

/* Every position in from.last may be followed by every one in to.first. */
static void
frag_link(struct rx_builder *b, const struct rx_frag *from, const uint64_t *to)
{
	size_t w, k, nw = b->rx->nwords;

	for (w = 0; w < nw; w++) {
		uint64_t bits = from->last[w];

		while (bits) {
			size_t q = w * 64 + (size_t)__builtin_ctzll(bits);

			bits &= bits - 1;
			for (k = 0; k < nw; k++)
				b->rx->follow[q * nw + k] |= to[k];
		}
	}
}

/* x = x followed by y. */
static void
frag_cat(struct rx_builder *b, struct rx_frag *x, const struct rx_frag *y)
{
	size_t k, nw = b->rx->nwords;

	frag_link(b, x, y->first);
	for (k = 0; k < nw; k++) {
		if (x->nullable)
			x->first[k] |= y->first[k];
		x->last[k] = y->last[k] | (y->nullable ? x->last[k] : 0);
	}
	x->nullable = x->nullable && y->nullable;
}

static void
frag_empty(struct rx_frag *f)
{
	memset(f, 0, sizeof(*f));
	f->nullable = 1;
}

static void build(struct rx_builder *b, size_t node, struct rx_frag *out);

/* (x(x(x)?)?)? with k copies of node x. */
static void
build_optional(struct rx_builder *b, size_t node, int k, struct rx_frag *out)
{
	struct rx_frag *tail;

	frag_empty(out);
	if (!k)
		return;
	tail = xmalloc(sizeof(*tail));
	build(b, node, out);
	build_optional(b, node, k - 1, tail);
	frag_cat(b, out, tail);
	out->nullable = 1;
	free(tail);
}

static void
build(struct rx_builder *b, size_t node, struct rx_frag *out)
{
	const struct rx_node *n = &b->nodes[node];
	struct rx_frag *y = xmalloc(sizeof(*y));
	size_t k, nw = b->rx->nwords;
	int i;

	memset(out, 0, sizeof(*out));
	switch (n->type) {
	case RX_NODE_LEAF: {
		size_t p = b->npos++;

		if (n->anchor) {
			bit_set(&b->rx->accepts[(size_t)n->anchor * nw], p);
			bit_set(b->anchors, p);
			if (n->anchor == RX_BOT)
				bit_set(b->bots, p);
		}
		for (k = 0; k < 256; k++)
			if ((n->set[k >> 3] >> (k & 7)) & 1)
				bit_set(&b->rx->accepts[k * nw], p);
		bit_set(out->first, p);
		bit_set(out->last, p);
		break;
	}
	case RX_NODE_CAT:
		build(b, n->a, out);
		build(b, n->b, y);
		frag_cat(b, out, y);
		break;
	case RX_NODE_ALT:
		build(b, n->a, out);
		build(b, n->b, y);
		for (k = 0; k < nw; k++) {
			out->first[k] |= y->first[k];
			out->last[k] |= y->last[k];
		}
		out->nullable = out->nullable || y->nullable;
		break;
	case RX_NODE_REP:
		frag_empty(out);
		for (i = 0; i < n->min; i++) {
			build(b, n->a, y);
			if (n->max == -1 && i == n->min - 1)
				frag_link(b, y, y->first);	/* the last copy loops */
			frag_cat(b, out, y);
		}
		if (n->max == -1 && n->min == 0) {
			build(b, n->a, y);
			frag_link(b, y, y->first);
			y->nullable = 1;
			frag_cat(b, out, y);
		} else if (n->max > n->min) {
			build_optional(b, n->a, n->max - n->min, y);
			frag_cat(b, out, y);
		}
		break;
	}
	free(y);
}

static void build_dfa(struct rx *rx);

int
rx_compile(struct rx **out, const char *pattern)
{
	struct rx_parser p = { .s = pattern };
	struct rx_builder b = { 0 };
	struct rx_frag *top = NULL;
	struct rx *rx = NULL;
	size_t root, nw, k, q;
	int ret = -1;

	*out = NULL;
	if (parse_alt(&p, &root) || *p.s)
		goto out;
	if (p.nodes[root].npos > RX_MAX_POSITIONS)
		goto out;
	nw = (p.nodes[root].npos + 63) / 64;
	if (!nw)
		nw = 1;
	rx = xcalloc(1, sizeof(*rx));
	rx->nwords = nw;
	rx->first = xcalloc(nw, sizeof(uint64_t));
	rx->last = xcalloc(nw, sizeof(uint64_t));
	rx->follow = xcalloc(p.nodes[root].npos * nw + 1, sizeof(uint64_t));
	rx->accepts = xcalloc((size_t)RX_NSYM * nw, sizeof(uint64_t));
	b.rx = rx;
	b.nodes = p.nodes;
	top = xmalloc(sizeof(*top));
	build(&b, root, top);

	/* Two anchors in a row (^^, $$, $^) are not one sentinel each. */
	for (q = 0; q < b.npos; q++) {
		if (!bit_test(b.anchors, q))
			continue;
		for (k = 0; k < nw; k++) {
			uint64_t next = rx->follow[q * nw + k] & b.anchors[k];

			if (bit_test(b.bots, q))
				next &= b.bots[k];
			if (next)
				goto out;
		}
	}
	rx->nullable = top->nullable;
	rx->anchored = 1;
	for (k = 0; k < nw; k++) {
		rx->first[k] = top->first[k];
		rx->last[k] = top->last[k];
		if (top->first[k] & ~b.bots[k])
			rx->anchored = 0;
	}
	build_dfa(rx);
	*out = rx;
	rx = NULL;
	ret = 0;
out:
	rx_free(rx);
	free(top);
	free(p.nodes);
	return ret;
}

/*
 * One step: next = (positions following cur, plus first) that accept sym.
 * Returns 1 when next holds a last position.
 */
static int
step(const struct rx *rx, const uint64_t *cur, uint64_t *next, unsigned sym)
{
	size_t w, k, nw = rx->nwords;
	const uint64_t *acc = &rx->accepts[(size_t)sym * nw];
	uint64_t hit = 0;

	memcpy(next, rx->first, nw * sizeof(uint64_t));
	for (w = 0; w < nw; w++) {
		uint64_t bits = cur[w];

		while (bits) {
			const uint64_t *f = &rx->follow[(w * 64 +
				(size_t)__builtin_ctzll(bits)) * nw];

			bits &= bits - 1;
			for (k = 0; k < nw; k++)
				next[k] |= f[k];
		}
	}
	for (k = 0; k < nw; k++) {
		next[k] &= acc[k];
		hit |= next[k] & rx->last[k];
	}
	return hit != 0;
}

static int
empty(const struct rx *rx, const uint64_t *s)
{
	size_t k;

	for (k = 0; k < rx->nwords; k++)
		if (s[k])
			return 0;
	return 1;
}

/*
 * Subset construction over classes of symbols: DFA state 0 is the empty
 * set (nothing read yet). States where a match ends are not expanded:
 * matching stops there. Leaves rx->dfa NULL past RX_MAX_DFA states.
 */
static void
build_dfa(struct rx *rx)
{
	size_t nw = rx->nwords, ncls = 0, n = 1, i, j, c, sym;
	uint16_t rep[RX_NSYM];
	uint64_t *sets = xcalloc((size_t)(RX_MAX_DFA + 1) * nw, sizeof(uint64_t));
	uint16_t *t = NULL;
	uint8_t *flags = xcalloc(RX_MAX_DFA, 1);
	int changed;

	for (sym = 0; sym < RX_NSYM; sym++) {
		for (c = 0; c < ncls; c++)
			if (!memcmp(&rx->accepts[sym * nw],
				    &rx->accepts[(size_t)rep[c] * nw],
				    nw * sizeof(uint64_t)))
				break;
		if (c == ncls)
			rep[ncls++] = (uint16_t)sym;
		rx->classes[sym] = (uint16_t)c;
	}
	t = xreallocarray(NULL, (size_t)RX_MAX_DFA * ncls, sizeof(*t));
	for (i = 0; i < n; i++) {
		for (c = 0; c < ncls; c++) {
			uint64_t *next = &sets[n * nw];
			int hit;

			if (flags[i] & RX_DFA_ACCEPT) {
				t[i * ncls + c] = (uint16_t)i;
				continue;
			}
			hit = step(rx, &sets[i * nw], next, rep[c]);
			for (j = 0; j < n; j++)
				if (!memcmp(&sets[j * nw], next,
					    nw * sizeof(uint64_t)))
					break;
			if (j == n) {
				if (n == RX_MAX_DFA)
					goto out;	/* too many: keep the NFA */
				flags[n++] = hit ? RX_DFA_ACCEPT : 0;
			}
			t[i * ncls + c] = (uint16_t)j;
		}
	}
	/* Dead: no accepting state reachable. */
	for (i = 0; i < n; i++)
		if (!(flags[i] & RX_DFA_ACCEPT))
			flags[i] |= RX_DFA_DEAD;
	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			if (!(flags[i] & RX_DFA_DEAD))
				continue;
			for (c = 0; c < ncls; c++)
				if (!(flags[t[i * ncls + c]] & RX_DFA_DEAD))
					break;
			if (c < ncls) {
				flags[i] &= (uint8_t)~RX_DFA_DEAD;
				changed = 1;
			}
		}
	} while (changed);
	rx->nclasses = ncls;
	rx->dfa = xreallocarray(t, n * ncls, sizeof(*t));
	rx->dfa_flags = flags;
	t = NULL;
	flags = NULL;
out:
	free(sets);
	free(t);
	free(flags);
}

int
rx_match(const struct rx *rx, const char *s, size_t len)
{
	uint64_t a[RX_MAX_WORDS] = { 0 }, b[RX_MAX_WORDS];
	uint64_t *cur = a, *next = b, *t;
	size_t i;

	if (rx->nullable)
		return 1;
	if (rx->dfa) {
		const uint16_t *table = rx->dfa;
		size_t state = table[rx->classes[RX_BOT]], nc = rx->nclasses;

		for (i = 0; i < len; i++) {
			if (rx->dfa_flags[state])
				return rx->dfa_flags[state] & RX_DFA_ACCEPT;
			state = table[state * nc + rx->classes[(unsigned char)s[i]]];
		}
		if (rx->dfa_flags[state])
			return rx->dfa_flags[state] & RX_DFA_ACCEPT;
		state = table[state * nc + rx->classes[RX_EOT]];
		return rx->dfa_flags[state] & RX_DFA_ACCEPT;
	}
	if (step(rx, cur, next, RX_BOT))
		return 1;
	for (i = 0; i < len; i++) {
		t = cur;
		cur = next;
		next = t;
		if (rx->anchored && empty(rx, cur))
			return 0;
		if (step(rx, cur, next, (unsigned char)s[i]))
			return 1;
	}
	return step(rx, next, cur, RX_EOT);
}

void
rx_free(struct rx *rx)
{
	if (!rx)
		return;
	free(rx->first);
	free(rx->last);
	free(rx->follow);
	free(rx->accepts);
	free(rx->dfa);
	free(rx->dfa_flags);
	free(rx);
}
