/* __chk_fail: what glibc's _FORTIFY_SOURCE checks call when a write would
 * overflow its destination. glibc prints this message and aborts; here the
 * host ends the call with it (__abiscope_fail does not return). */
#include "rt.h"

void __chk_fail(void) __attribute__((noreturn));
void __chk_fail(void) { __abiscope_fail("*** buffer overflow detected ***: terminated"); }
