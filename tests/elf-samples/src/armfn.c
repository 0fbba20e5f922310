/* armfn.c: built in ARM state (-marm); calls a Thumb-state function. */
int thumb_func(int);
int thumb_calls_arm(int);

int arm_func(int x) { return x - 5; }
int arm_calls_thumb(int x) { return thumb_func(x) * 3; }

void _start(void)
{
	arm_calls_thumb(1);
	thumb_calls_arm(2);
	for (;;)
		;
}
