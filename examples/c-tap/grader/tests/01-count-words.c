/* test: count_words counts words separated by single spaces */
#include "check.h"
#include "text.h"

int main(void) {
    CHECK_SIZE(count_words("hello"), 1);
    CHECK_SIZE(count_words("hello world"), 2);
    CHECK_SIZE(count_words("the quick brown fox"), 4);
    return failed_checks != 0;
}
