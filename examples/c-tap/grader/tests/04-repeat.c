/* test: repeat builds a new string, empty for 0 and NULL below 0 */
#include <stdlib.h>

#include "check.h"
#include "text.h"

int main(void) {
    char *three = repeat("ab", 3), *none = repeat("ab", 0), *one = repeat("", 5);
    CHECK_STR(three, "ababab");
    CHECK_STR(none, "");
    CHECK_STR(one, "");
    CHECK(repeat("ab", -1) == NULL);
    free(three);
    free(none);
    free(one);
    return failed_checks != 0;
}
