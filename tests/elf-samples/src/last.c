/* last.c: linked last, its one-byte .bss leaves the end of .bss unaligned, so the COMMON
   symbols placed after it ("counter" from data.c) must be aligned explicitly. */
char last_byte = 0;
