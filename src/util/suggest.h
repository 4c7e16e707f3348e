/*
 * suggest.h - "did you mean": the nearest candidate to a misspelt word.
 */
#ifndef BERTH_UTIL_SUGGEST_H
#define BERTH_UTIL_SUGGEST_H

#include <stddef.h>

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * transpositions), bytewise. */
size_t edit_distance(const char *a, const char *b);
/*
 * The candidate nearest to word when it is close enough to be a likely
 * typo (distance at most a third of the word's length, and at least 1 for
 * short words; or word is a prefix of exactly one candidate), else NULL.
 * cands is an array of n strings (NULL entries skipped).
 */
const char *suggest(const char *word, const char *const *cands, size_t n);

#endif
