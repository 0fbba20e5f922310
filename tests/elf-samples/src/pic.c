/* pic.c: built with -fPIC: the load of ext_var goes through a GOT entry. */
extern int ext_var;

int get_ext(void) { return ext_var; }
