/* arm_tail.c: ARM-state tail call (R_ARM_JUMP24) to a Thumb function: needs a veneer. */
int thumb_func(int);

int arm_tail(int x) { return thumb_func(x + 1); }
