/* The bare-metal test's harness: results, numbers on the console, the
 * trace text builder (declared in fw.h). */
#include <string.h>

#include "board.h"
#include "fw.h"

static int passed, failed;

int fw_passed(void)
{
    return passed;
}

int fw_failed(void)
{
    return failed;
}

void fw_note_base(size_t *base)
{
    size_t here = board_stack_here();
    *base = here > *base ? here : *base;
}

/* --- Console ------------------------------------------------------------ */

void fw_put_uint(size_t v)
{
    char b[24];
    size_t i = sizeof b - 1;
    b[i] = '\0';
    do {
        b[--i] = (char)('0' + v % 10U);
        v /= 10U;
    } while (v != 0 && i > 0);
    board_puts(b + i);
}

void fw_check(bool ok, const char *group, const char *name, const char *detail)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    board_puts("FAIL ");
    board_puts(group);
    board_puts(": ");
    board_puts(name);
    if (detail != NULL) {
        board_puts(": ");
        board_puts(detail);
    }
    board_puts("\n");
}

/* --- A bounded text builder for traces ------------------------------------ */

void fw_add(fw_text *t, const char *s, size_t len)
{
    for (size_t i = 0; i < len && t->n + 1 < sizeof t->s; i++) {
        t->s[t->n++] = s[i];
    }
    t->s[t->n] = '\0';
}

void fw_str(fw_text *t, const char *s)
{
    fw_add(t, s, strlen(s));
}

void fw_uint(fw_text *t, uint32_t v)
{
    char b[12];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10U);
        v /= 10U;
    } while (v != 0);
    fw_add(t, b + i, sizeof b - i);
}

void fw_hex(fw_text *t, uint32_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        char ch = hex[(v >> (4 * i)) & 0xFU];
        fw_add(t, &ch, 1);
    }
}

uint32_t fw_fnv1a(const uint8_t *p, size_t len)
{
    uint32_t h = 2166136261U;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 16777619U;
    }
    return h;
}

void fw_payload(fw_text *t, bool is_text, const uint8_t *p, size_t len)
{
    fw_uint(t, (uint32_t)len);
    if (len > 16) {
        fw_str(t, "#");
        fw_hex(t, fw_fnv1a(p, len), 8);
        return;
    }
    fw_str(t, ":");
    for (size_t i = 0; i < len; i++) {
        if (is_text) {
            fw_add(t, (const char *)p + i, 1);
        } else {
            fw_hex(t, p[i], 2);
        }
    }
}
