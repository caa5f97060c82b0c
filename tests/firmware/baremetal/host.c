/* The board functions on a PC, to debug the bare-metal test itself:
 *   make lib WICK_ZLIB=0 BUILD=build/nozlib
 *   cc -std=c99 -Iinclude tests/firmware/baremetal/fw_*.c \
 *      tests/firmware/baremetal/host.c build/nozlib/libwick.a && ./a.out
 * (WICK_ZLIB=0 as on the boards: fw_inflate.c's 4 KiB arena holds wick's
 * inflater with a 512-byte window, not zlib's.)
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
