/* pic.c: built with -fPIC: GOT relocations, which abiscope does not support. */
extern int ext_var;

int get_ext(void) { return ext_var; }
