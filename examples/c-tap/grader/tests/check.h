/* A few checks for the tests: each prints what it expected on failure and counts it; a test
 * program returns the number of failed checks, so its exit status 0 means every check held. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>

static int failed_checks;

#define CHECK_SIZE(actual, expected)                                                            \
    do {                                                                                        \
        size_t a_ = (actual), e_ = (expected);                                                  \
        if (a_ != e_) {                                                                         \
            printf("%s gave %zu, expected %zu\n", #actual, a_, e_);                            \
            failed_checks++;                                                                    \
        }                                                                                       \
    } while (0)

#define CHECK_STR(actual, expected)                                                             \
    do {                                                                                        \
        const char *a_ = (actual), *e_ = (expected);                                            \
        if (a_ == NULL || strcmp(a_, e_) != 0) {                                                \
            printf("%s gave \"%s\", expected \"%s\"\n", #actual, a_ ? a_ : "(NULL)", e_);      \
            failed_checks++;                                                                    \
        }                                                                                       \
    } while (0)

#define CHECK(condition)                                                                        \
    do {                                                                                        \
        if (!(condition)) {                                                                     \
            printf("check failed: %s\n", #condition);                                           \
            failed_checks++;                                                                    \
        }                                                                                       \
    } while (0)

#endif
