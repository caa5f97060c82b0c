/* What the bare-metal test needs from its board (startup.c on a Cortex-M
 * under qemu-system-arm with semihosting; host.c on a PC, for debugging the
 * test itself). */
#ifndef WICK_FW_BOARD_H
#define WICK_FW_BOARD_H

#include <stddef.h>

/* Writes a NUL-terminated string to the console. */
void board_puts(const char *s);

/* Ends the program: exit status 0 when ok, 1 otherwise. Never returns. */
void board_exit(int ok);

/* The stack is painted with a pattern before main() runs. board_stack_mark()
 * paints again what lies below the current stack pointer, so the next
 * board_stack_used() measures from that point; board_stack_used() returns
 * the deepest the stack has been since, in bytes from its top. */
void board_stack_mark(void);
size_t board_stack_used(void);
size_t board_stack_size(void);
/* How deep the stack is at the caller (bytes from its top), so the depth
 * below a call can be told from the harness's own frames. */
size_t board_stack_here(void);

/* A name for the CPU, e.g. "cortex-m0". */
const char *board_cpu(void);

#endif
