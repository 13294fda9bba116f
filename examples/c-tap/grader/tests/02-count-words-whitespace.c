/* test: count_words handles empty strings, tabs, newlines and runs of spaces */
#include "check.h"
#include "text.h"

int main(void) {
    CHECK_SIZE(count_words(""), 0);
    CHECK_SIZE(count_words("   "), 0);
    CHECK_SIZE(count_words("  two   words  "), 2);
    CHECK_SIZE(count_words("one\ttwo\nthree"), 3);
    return failed_checks != 0;
}
