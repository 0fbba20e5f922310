/* thumb_tail.c: Thumb-state tail call (R_ARM_THM_JUMP24) to an ARM function: needs a veneer. */
int arm_func(int);

int thumb_tail(int x) { return arm_func(x + 1); }
