/* big.c: 16 MiB of .bss, as a legitimate program may have (loaded as one region, quickly). */
char big_buffer[16 << 20];
int big_touch(int i, int v) { big_buffer[i] = (char)v; return big_buffer[i] + big_buffer[(16 << 20) - 1]; }
