/* a.c: calls into b.c (b_func) and is called back from it (a_helper). */
int b_func(int x);
extern int counter;

int a_helper(int x) { return x * 3 + counter; }

/* Not a tail call on purpose: "+ 1" keeps it a BL/CALL rather than a B/JMP. */
int a_func(int x) { return b_func(x) + 1; }

void _start(void)
{
	counter = a_func(2);
	for (;;)
		;
}
