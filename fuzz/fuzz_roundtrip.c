/*
 * fuzz_roundtrip: frames serialized by wick (wick_frame_write, or
 * wick_frame_header_write + wick_mask_apply in pieces, or wick_prepare),
 * in both roles with input-chosen masks, are parsed back by a parser of
 * the other role fed in input-chosen chunks; every frame must come back
 * exactly as it went in. Also checks wick_frame_header_size, the error
 * returns of the writers, and that masking in pieces equals masking at once.
 *
 * Input: byte 0 = sender role (bit 0), RSV bits the receiver allows
 * (bits 1-3); byte 1 = chunking seed; then per frame: control byte
 * (opcode choice bits 0-2, FIN bit 3, RSV bits 4-6, writer choice bit 7),
 * a length byte (and 2 more bytes for long lengths), the mask (client) and
 * payload bytes (padded with a pattern when the input runs out).
 */
#include "fuzz_util.h"

#define MAX_FRAMES 64
#define MAX_WIRE   (1u << 20)

static const uint8_t opcodes[8] = {WICK_OP_CONT, WICK_OP_TEXT,  WICK_OP_BINARY, WICK_OP_CLOSE,
                                   WICK_OP_PING, WICK_OP_PONG, WICK_OP_TEXT,   WICK_OP_BINARY};

typedef struct sent_frame {
    wick_frame_header h;
    uint8_t *payload; /* unmasked */
} sent_frame;

static size_t pick_len(fz_in *in, bool control)
{
    uint8_t sel = fz_u8(in);
    if (control || sel < 200) {
        return sel % 126u;
    }
    switch (sel % 8u) {
    case 0:
        return 126;
    case 1:
        return 127;
    case 2:
        return 65535;
    case 3:
        return 65536;
    case 4:
        return 65537;
    default:
        return 126 + (size_t)fz_u16(in) * 2u; /* 2-byte and 8-byte forms */
    }
}

/* Masks buf in input-chosen pieces and checks it equals masking at once. */
static void mask_pieces(uint8_t *buf, size_t len, const uint8_t key[4], uint64_t *seed)
{
    uint8_t *once = fz_dup(buf, len);
    wick_mask_apply(once, len, key, NULL);
    size_t phase = 0, off = 0;
    while (off < len) {
        size_t n = fz_chunk(seed, len - off);
        wick_mask_apply(buf + off, n, key, &phase);
        FZ_CHECK(phase == (off + n) % 4);
        off += n;
    }
    FZ_CHECK(len == 0 || memcmp(once, buf, len) == 0);
    free(once);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t conf = fz_u8(&in);
    uint64_t seed = (uint64_t)fz_u8(&in) + 1;
    wick_role sender = (conf & 1) ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
    wick_role receiver = sender == WICK_ROLE_CLIENT ? WICK_ROLE_SERVER : WICK_ROLE_CLIENT;
    uint8_t rsv_allowed = (uint8_t)((conf << 3) & 0x70);
    bool masked = sender == WICK_ROLE_CLIENT;

    sent_frame frames[MAX_FRAMES];
    size_t nframes = 0;
    static uint8_t *wire; /* allocated once, for speed */
    if (wire == NULL) {
        wire = fz_alloc(MAX_WIRE);
    }
    size_t wlen = 0;

    /* Writers refuse what cannot be encoded. */
    size_t olen;
    uint8_t tmp[16];
    FZ_CHECK(wick_frame_write(16, true, 0, NULL, NULL, 0, tmp, sizeof(tmp), &olen) ==
             WICK_ERR_ARG);
    FZ_CHECK(wick_frame_write(WICK_OP_TEXT, true, 0x01, NULL, NULL, 0, tmp, sizeof(tmp), &olen) ==
             WICK_ERR_ARG);
    wick_frame_header big = {true, 0, WICK_OP_BINARY, false, {0, 0, 0, 0}, (uint64_t)1 << 63};
    FZ_CHECK(wick_frame_header_write(&big, tmp, sizeof(tmp), &olen) == WICK_ERR_ARG);

    while (in.n > 0 && nframes < MAX_FRAMES) {
        uint8_t ctl = fz_u8(&in);
        sent_frame *f = &frames[nframes];
        memset(&f->h, 0, sizeof(f->h));
        f->h.opcode = opcodes[ctl & 7];
        bool control = (f->h.opcode & 8) != 0;
        f->h.fin = control || (ctl & 8) != 0;
        f->h.rsv = (uint8_t)(ctl & 0x70 & rsv_allowed);
        f->h.masked = masked;
        size_t len = pick_len(&in, control);
        f->h.payload_len = len;
        if (masked) {
            const uint8_t *m;
            size_t got = fz_take(&in, 4, &m);
            memset(f->h.mask, 0, 4);
            memcpy(f->h.mask, m, got);
        }
        f->payload = fz_alloc(len);
        const uint8_t *src;
        size_t got = fz_take(&in, len, &src);
        if (got) {
            memcpy(f->payload, src, got);
        }
        for (size_t i = got; i < len; i++) {
            f->payload[i] = (uint8_t)(i * 31u + 7u);
        }
        size_t hsz = wick_frame_header_size(len, masked);
        if (wlen + hsz + len > MAX_WIRE) {
            free(f->payload);
            break;
        }
        size_t hlen = 0;
        if (ctl & 0x80) {
            /* Header alone, then the payload masked in pieces. */
            FZ_CHECK(wick_frame_header_write(&f->h, wire + wlen, hsz - 1, &hlen) ==
                     WICK_ERR_BUFFER_TOO_SMALL);
            FZ_CHECK(wick_frame_header_write(&f->h, wire + wlen, MAX_WIRE - wlen, &hlen) ==
                     WICK_OK);
            FZ_CHECK(hlen == hsz);
            if (len) {
                memcpy(wire + wlen + hlen, f->payload, len);
            }
            if (masked) {
                mask_pieces(wire + wlen + hlen, len, f->h.mask, &seed);
            }
            wlen += hlen + len;
        } else {
            size_t flen = 0;
            const uint8_t *mask = masked ? f->h.mask : NULL;
            FZ_CHECK(wick_frame_write(f->h.opcode, f->h.fin, f->h.rsv, mask, f->payload, len,
                                      wire + wlen, hsz + len - 1, &flen) ==
                     WICK_ERR_BUFFER_TOO_SMALL);
            FZ_CHECK(wick_frame_write(f->h.opcode, f->h.fin, f->h.rsv, mask, f->payload, len,
                                      wire + wlen, MAX_WIRE - wlen, &flen) == WICK_OK);
            FZ_CHECK(flen == hsz + len);
            if (!masked && !control && f->h.fin && f->h.rsv == 0 &&
                f->h.opcode != WICK_OP_CONT) {
                /* A prepared frame is the same bytes. */
                uint8_t *prep = fz_alloc(flen);
                wick_prepared pr;
                FZ_CHECK(wick_prepare(f->h.opcode, f->payload, len, prep, flen, &pr) == WICK_OK);
                FZ_CHECK(pr.len == flen && memcmp(pr.frame, wire + wlen, flen) == 0);
                free(prep);
            }
            wlen += flen;
        }
        nframes++;
    }

    /* Parse it all back in chunks. */
    wick_frame_parser p;
    wick_frame_parser_init(&p, receiver, rsv_allowed, 0);
    size_t fi = 0, off = 0;
    uint64_t pay_off = 0;
    bool in_frame = false;
    while (off < wlen || in_frame) {
        size_t clen = off < wlen ? fz_chunk(&seed, wlen - off) : 0;
        uint8_t *chunk = fz_dup(wire + off, clen);
        size_t pos = 0;
        for (;;) {
            size_t consumed;
            wick_frame_event ev;
            wick_err e = wick_frame_parser_feed(&p, chunk + pos, clen - pos, &consumed, &ev);
            FZ_CHECK(e == WICK_OK);
            FZ_CHECK(consumed <= clen - pos);
            pos += consumed;
            if (ev.type == WICK_FRAME_NONE) {
                FZ_CHECK(pos == clen);
                break;
            }
            FZ_CHECK(fi < nframes);
            const sent_frame *f = &frames[fi];
            if (ev.type == WICK_FRAME_HEADER) {
                FZ_CHECK(!in_frame);
                const wick_frame_header *h = &ev.header;
                FZ_CHECK(h->fin == f->h.fin && h->rsv == f->h.rsv && h->opcode == f->h.opcode);
                FZ_CHECK(h->masked == f->h.masked && h->payload_len == f->h.payload_len);
                FZ_CHECK(!masked || memcmp(h->mask, f->h.mask, 4) == 0);
                in_frame = true;
                pay_off = 0;
                continue;
            }
            FZ_CHECK(ev.type == WICK_FRAME_DATA && in_frame);
            FZ_CHECK(ev.offset == pay_off && ev.len <= f->h.payload_len - pay_off);
            FZ_CHECK(ev.len == 0 || memcmp(ev.data, f->payload + pay_off, ev.len) == 0);
            pay_off += ev.len;
            FZ_CHECK(ev.frame_end == (pay_off == f->h.payload_len));
            if (ev.frame_end) {
                in_frame = false;
                fi++;
            }
        }
        free(chunk);
        off += clen;
        /* A frame still open once all wire data is in: lost bytes. */
        FZ_CHECK(clen > 0 || !in_frame);
    }
    FZ_CHECK(fi == nframes);

    for (size_t i = 0; i < nframes; i++) {
        free(frames[i].payload);
    }
    return 0;
}
