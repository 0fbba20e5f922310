/* thumb.c: built in Thumb state; calls an ARM-state function. */
int arm_func(int);

int thumb_func(int x) { return x + 100; }
int thumb_calls_arm(int x) { return arm_func(x) * 2; }
int (*thumb_ptr)(int) = thumb_func;      /* R_ARM_ABS32 to a Thumb function: bit 0 set */
