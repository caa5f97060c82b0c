/* The board functions on a PC, to debug the bare-metal test itself:
 *   cc -std=c99 -Iinclude tests/firmware/baremetal/fw_*.c \
 *      tests/firmware/baremetal/host.c build/libwick.a && ./a.out
 * The stack is not measured here. */
#include <stdio.h>
#include <stdlib.h>

#include "board.h"

void board_puts(const char *s)
{
    fputs(s, stdout);
}

void board_exit(int ok)
{
    exit(ok ? 0 : 1);
}

void board_stack_mark(void)
{
}

size_t board_stack_used(void)
{
    return 0;
}

size_t board_stack_here(void)
{
    return 0;
}

size_t board_stack_size(void)
{
    return 0;
}

const char *board_cpu(void)
{
    return "host";
}
