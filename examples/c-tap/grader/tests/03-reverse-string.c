/* test: reverse_string reverses in place */
#include "check.h"
#include "text.h"

int main(void) {
    char odd[] = "abc", even[] = "abcd", one[] = "x", empty[] = "";
    reverse_string(odd);
    reverse_string(even);
    reverse_string(one);
    reverse_string(empty);
    CHECK_STR(odd, "cba");
    CHECK_STR(even, "dcba");
    CHECK_STR(one, "x");
    CHECK_STR(empty, "");
    return failed_checks != 0;
}
