/* weak.c: references to an undefined weak function resolve to 0. */
extern int maybe(int) __attribute__((weak));

int (*maybe_ptr)(int) = maybe;
int call_maybe(int x) { return maybe ? maybe(x) : -1; }
