#include "text.h"

#include <string.h>

/* A missing semicolon and a function left out: the grader says so, it does not crash. */
size_t count_words(const char *s) {
    size_t words = 0
    for (; *s; s++) {
        words += *s == ' ';
    }
    return words;
}

void reverse_string(char *s) {
    (void)s;
}
