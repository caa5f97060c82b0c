/* permessage-deflate on the board (issue 16): a client connection with
 * wick's own inflater and a 512-byte window (server_max_window_bits=9,
 * decompress-only, the whole compression state in a 4 KiB arena) takes a
 * recorded stream of three compressed server messages; the third refers
 * back into the first two (context takeover). The frames were made on a
 * host with zlib (raw deflate, windowBits 9, a sync flush per message,
 * its 00 00 ff ff removed, RFC 7692 7.2.1); the expected lengths and
 * FNV-1a hashes of the plain messages were computed there too, not with
 * wick. Fed 1, 7 and all bytes at a time. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "fw.h"
#include "wick.h"

static const uint8_t session[] = {
    0xc1, 0x53, 0x1c, 0xcc, 0xc1, 0x0d, 0x80, 0x20, 0x0c, 0x40, 0xd1, 0x55, 0x9a, 0x9e, 0x99, 0xc0,
    0x8b, 0xb3, 0x14, 0xac, 0x29, 0x09, 0x5a, 0x83, 0x4d, 0x90, 0x18, 0x77, 0xb7, 0x70, 0x7c, 0xff,
    0xf0, 0x5f, 0xb4, 0x7e, 0x31, 0x2e, 0x98, 0x84, 0x0c, 0x03, 0x56, 0xd5, 0xc3, 0x55, 0x34, 0xc6,
    0xee, 0xdc, 0xeb, 0x24, 0x95, 0x9c, 0xd8, 0x69, 0xfc, 0x98, 0x53, 0xb8, 0x14, 0x05, 0x13, 0xae,
    0x1c, 0x40, 0xb4, 0x41, 0xbe, 0x87, 0xa0, 0x31, 0x8d, 0x08, 0xf9, 0x9c, 0x9c, 0x13, 0x30, 0xdd,
    0xa8, 0xaf, 0xf8, 0xfd, 0x00, 0xc1, 0x1b, 0xaa, 0x26, 0xca, 0xa6, 0xa4, 0xfc, 0x24, 0x74, 0x7b,
    0xc0, 0x96, 0xeb, 0xe0, 0xb6, 0x00, 0x68, 0x79, 0x5a, 0x66, 0x5e, 0x2a, 0xc4, 0x22, 0xa5, 0x5a,
    0x00, 0x00, 0xc1, 0x0a, 0x22, 0xce, 0x1e, 0xfa, 0xf9, 0x68, 0x68, 0xd9, 0x04, 0x00};

#define N_MSGS 3
static const size_t want_len[N_MSGS] = {106, 104, 318};
static const uint32_t want_fnv[N_MSGS] = {0x452db016U, 0x91442f32U, 0xc8f4a572U};

typedef struct inflate_run {
    unsigned got;
    unsigned bad;
    unsigned errors;
} inflate_run;

static int on_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    inflate_run *r = user;
    if (r->got >= N_MSGS || opcode != WICK_OP_TEXT || len != want_len[r->got] ||
        fw_fnv1a(data, len) != want_fnv[r->got]) {
        r->bad++;
    }
    r->got++;
    return 0;
}

static void on_error(wick_conn *c, wick_err err, void *user)
{
    (void)c;
    (void)err;
    ((inflate_run *)user)->errors++;
}

static int fill_random(void *user, uint8_t *out, size_t n)
{
    (void)user;
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(0x3C + 7 * i);
    }
    return 0;
}

static const wick_callbacks cb = {
    .on_message = on_message, .on_error = on_error, .random = fill_random};

static wick_pmd pmd;
static uint8_t arena[4096];
static wick_conn conn;
static uint8_t out_buf[WICK_OUT_MIN];
static uint8_t msg_buf[512];
static uint8_t rx[WICK_RECV_MIN];

static void run(size_t step, size_t *base)
{
    static const char *const names[] = {"1 byte at a time", "7 bytes at a time", "all at once"};
    const char *name = names[step == 1 ? 0 : step == 7 ? 1 : 2];
    wick_pmd_config cfg;
    wick_pmd_config_default(&cfg);
    cfg.flags = WICK_PMD_DECOMPRESS_ONLY;
    cfg.budget = sizeof arena;
    wick_pmd_params p = {true, false, false, 9, 9};
    size_t need = wick_pmd_arena_size(&cfg, &p, WICK_ROLE_CLIENT);
    bool ok = need != 0 && need <= sizeof arena &&
              wick_pmd_init(&pmd, &cfg, &p, WICK_ROLE_CLIENT, arena, sizeof arena) == WICK_OK;
    fw_check(ok, "inflate", name, "wick_pmd_init in a 4 KiB arena");
    if (!ok) {
        return;
    }
    wick_conn_config cc;
    wick_conn_config_default(&cc, WICK_ROLE_CLIENT);
    cc.out_buf = out_buf;
    cc.out_cap = sizeof out_buf;
    cc.msg_buf = msg_buf;
    cc.msg_cap = sizeof msg_buf;
    cc.extension = wick_pmd_extension(&pmd);
    inflate_run r = {0, 0, 0};
    fw_check(wick_conn_init(&conn, &cc, &cb, &r) == WICK_OK, "inflate", name, "init");
    size_t have = 0;
    wick_err e = WICK_OK;
    for (size_t off = 0; off < sizeof session && wick_err_is_error(e) == false;) {
        size_t n = sizeof session - off;
        if (n > step) {
            n = step;
        }
        if (n > sizeof rx - have) {
            n = sizeof rx - have;
        }
        memcpy(rx + have, session + off, n);
        off += n;
        have += n;
        size_t used = 0;
        fw_note_base(base);
        e = wick_conn_recv(&conn, rx, have, &used);
        memmove(rx, rx + used, have - used);
        have -= used;
    }
    fw_check(e == WICK_OK || e == WICK_NEED_MORE, "inflate", name, "recv status");
    fw_check(r.got == N_MSGS && r.bad == 0 && r.errors == 0 && have == 0, "inflate", name,
             "three messages, each the expected length and hash");
    if (step == 1) {
        board_puts("permessage-deflate with wick's inflater, 512-byte window: arena ");
        fw_put_uint(wick_pmd_arena_used(&pmd));
        board_puts(" of ");
        fw_put_uint(need);
        board_puts(" bytes needed\n");
    }
    wick_pmd_release(&pmd);
}

void fw_test_inflate(size_t *base)
{
    run(1, base);
    run(7, base);
    run(sizeof session, base);
}
