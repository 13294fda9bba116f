#include "text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

size_t count_words(const char *s) {
    size_t words = 0;
    int in_word = 0;
    for (; *s; s++) {
        if (isspace((unsigned char)*s)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    return words;
}

void reverse_string(char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n / 2; i++) {
        char c = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = c;
    }
}

char *repeat(const char *s, int times) {
    if (times < 0) {
        return NULL;
    }
    size_t n = strlen(s);
    char *out = malloc(n * (size_t)times + 1);
    if (out == NULL) {
        return NULL;
    }
    for (int i = 0; i < times; i++) {
        memcpy(out + n * (size_t)i, s, n);
    }
    out[n * (size_t)times] = '\0';
    return out;
}

/* Students may keep a main() of their own for trying things out: the grader renames it. */
int main(void) {
    return count_words("a b") == 2 ? 0 : 1;
}
