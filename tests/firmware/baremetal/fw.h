/* What the files of the bare-metal test share (tests/firmware/baremetal/):
 * counting results, printing numbers, a bounded text builder for the
 * traces the checks compare, stack-depth bookkeeping, and the two groups
 * of tests (fw_handshake.c, fw_engine.c). */
#ifndef WICK_FW_H
#define WICK_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Counts one check; prints "FAIL group: name: detail" when !ok. */
void fw_check(bool ok, const char *group, const char *name, const char *detail);
int fw_passed(void);
int fw_failed(void);

/* Prints v in decimal. */
void fw_put_uint(size_t v);

/* A NUL-terminated string that grows up to its size and then stops. */
typedef struct fw_text {
    char s[192];
    size_t n;
} fw_text;

void fw_add(fw_text *t, const char *s, size_t len);
void fw_str(fw_text *t, const char *s);
void fw_uint(fw_text *t, uint32_t v);
void fw_hex(fw_text *t, uint32_t v, int digits);
/* "<len>:<text>" for short text, ":<hex>" for short binary, "#<fnv>" for
 * anything over 16 bytes (FNV-1a, 32 bits). */
void fw_payload(fw_text *t, bool is_text, const uint8_t *p, size_t len);
/* FNV-1a, 32 bits. */
uint32_t fw_fnv1a(const uint8_t *p, size_t len);

/* Keeps in *base the deepest stack depth seen at a call site, so the part
 * of the high-water mark below the library call can be told apart. */
void fw_note_base(size_t *base);

/* The handshakes (fw_handshake.c) and the engine streams (fw_engine.c);
 * each sets *base to the stack depth at its library calls. */
void fw_test_handshakes(size_t *base);
void fw_test_engine(size_t *base);
/* permessage-deflate with wick's inflater and a 512-byte window
 * (fw_inflate.c). */
void fw_test_inflate(size_t *base);
/* The engine tests' server reassembly buffer, for the RAM report. */
size_t fw_engine_msg_cap(void);

#endif
