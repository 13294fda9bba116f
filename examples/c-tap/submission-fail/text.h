/* The assignment's interface: students implement these in text.c (the starter repo has this
 * header too). The hidden tests in tests/ include it and call them. */
#ifndef TEXT_H
#define TEXT_H

#include <stddef.h>

/* How many words `s` holds: runs of characters other than spaces, tabs and newlines. */
size_t count_words(const char *s);

/* Reverses `s` in place. */
void reverse_string(char *s);

/* A new string (free it) holding `s` `times` times over; "" for 0, NULL when times < 0. */
char *repeat(const char *s, int times);

#endif
