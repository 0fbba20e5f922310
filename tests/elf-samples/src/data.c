/* data.c: data relocations. Built with -fcommon so that "counter" is COMMON. */
int a_func(int);
int b_func(int);

int counter;                             /* SHN_COMMON */
static int local_bss[8];                 /* .bss, referenced through the section symbol */
int table_data[4] = { 1, 2, 3, 4 };      /* .data */
int (*const ops[])(int) = { a_func, b_func };   /* .rodata: absolute code pointers */
int (*fptrs[])(int) = { b_func, a_func };       /* .data: absolute code pointers */
int *elem = &table_data[2];              /* symbol + addend 8 */
int *pcounter = &counter;                /* pointer to a COMMON symbol */
int *plocal = &local_bss[1];             /* section symbol + addend */
const char *greeting = "hello";          /* pointer into .rodata.str */

int get_counter(void) { return counter + local_bss[0] + table_data[1]; }
