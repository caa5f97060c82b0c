/* Startup for the bare-metal test on an emulated Cortex-M (qemu-system-arm,
 * tests/firmware/qemu.sh): the vector table, a reset handler that sets up
 * .data and .bss, paints the stack and calls main(), and console output
 * and exit through ARM semihosting (BKPT 0xAB), which qemu implements with
 * -semihosting-config enable=on. The linker script is link.ld. */
#include <stdint.h>

#include "board.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];

int main(void);
void reset_handler(void);
void fault_handler(void);

/* What never appears in a stack by chance (often enough to matter). */
#define PAINT 0xA5C3A5C3U

/* ARMv6-M / ARMv7-M: the initial stack pointer, then the handlers. */
struct vector_table {
    uint32_t *sp;
    void (*handler[15])(void);
};

__attribute__((section(".vectors"), used)) static const struct vector_table vectors = {
    __stack_top,
    {reset_handler, fault_handler, fault_handler, fault_handler, fault_handler, fault_handler}};

/* Semihosting call: operation in r0, argument in r1, result in r0. */
static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_puts(const char *s)
{
    (void)semihost(0x04, s); /* SYS_WRITE0 */
}

void board_exit(int ok)
{
    /* SYS_EXIT with ADP_Stopped_ApplicationExit (qemu exits with status 0)
     * or ADP_Stopped_InternalError (status 1). The 32-bit call takes the
     * reason itself in r1. */
    for (;;) {
        (void)semihost(0x18, (const void *)(uintptr_t)(ok ? 0x20026U : 0x20024U));
    }
}

static uint32_t *stack_pointer(void)
{
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Paints from the bottom of the stack up to a little below the current
 * stack pointer (this function's own frame is above it). */
void board_stack_mark(void)
{
    uint32_t *end = stack_pointer() - 8;
    for (uint32_t *p = __stack_bottom; p < end; p++) {
        *p = PAINT;
    }
}

size_t board_stack_used(void)
{
    uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == PAINT) {
        p++;
    }
    return (size_t)(__stack_top - p) * sizeof(uint32_t);
}

size_t board_stack_here(void)
{
    return (size_t)(__stack_top - stack_pointer()) * sizeof(uint32_t);
}

size_t board_stack_size(void)
{
    return (size_t)(__stack_top - __stack_bottom) * sizeof(uint32_t);
}

const char *board_cpu(void)
{
#if defined(__ARM_FP)
    return "Cortex-M4F (ARMv7E-M, hard float)";
#elif defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__)
    return "Cortex-M3/M4 (ARMv7-M)";
#else
    return "Cortex-M0/M0+ (ARMv6-M)";
#endif
}

void fault_handler(void)
{
    board_puts("HardFault (or another exception): failed\n");
    board_exit(0);
}

void reset_handler(void)
{
#if defined(__ARM_FP)
    /* A hard-float build may use FPU registers: enable CP10/CP11 first. */
    *(volatile uint32_t *)0xE000ED88U |= 0xFU << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    const uint32_t *src = __data_load;
    for (uint32_t *p = __data_start; p < __data_end; p++) {
        *p = *src++;
    }
    for (uint32_t *p = __bss_start; p < __bss_end; p++) {
        *p = 0;
    }
    board_stack_mark();
    board_exit(main() == 0);
}
