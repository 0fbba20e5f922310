/* b.c: calls back into a.c. */
int a_helper(int x);

int b_func(int x) { return a_helper(x) + 7; }
