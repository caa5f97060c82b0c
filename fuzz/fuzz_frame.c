/*
 * fuzz_frame: the incremental frame parser (wick_frame_parser_feed) in both
 * roles, against an independent whole-buffer decoder written here from
 * RFC 6455 5.2.
 *
 * Input: byte 0 = receiver role (bit 0), allowed RSV bits (bits 1-3),
 * max_frame choice (bits 4-5); byte 1 = seed of the chunking; the rest is
 * the wire data, fed in input-chosen chunks, each copied into a block of
 * its exact size so overreads are caught.
 *
 * Invariants: HEADER events match the reference headers; DATA offsets are
 * contiguous from 0; payload bytes equal the reference's unmasked bytes;
 * frame_end comes exactly once per frame, when the payload is complete
 * (one empty DATA event for an empty payload); the total payload equals
 * the header's length; the parser fails exactly where the reference finds
 * a broken rule, with an error the reference allows there; the error is
 * sticky; the whole-input run and the chunked run agree on the error.
 */
#include "fuzz_util.h"

/* One frame as the reference decoder sees it. */
typedef struct ref_frame {
    bool fin, masked;
    uint8_t rsv, opcode;
    uint8_t mask[4];
    uint64_t len;
    size_t payload_at; /* offset of the payload in the wire data */
    size_t hdr_bytes;  /* header bytes available (complete when == need) */
    size_t hdr_need;
} ref_frame;

typedef struct ref_result {
    ref_frame *frames;
    size_t num;          /* frames whose header is complete and valid */
    bool error;          /* a complete header broke a rule (frame `num`) */
    bool maybe_error;    /* the last header is incomplete but already broken */
    uint32_t allowed;    /* bit i: error code i (see err_bit) allowed */
} ref_result;

static uint32_t err_bit(wick_err e)
{
    switch (e) {
    case WICK_ERR_PROTO_RSV:
        return 1u << 0;
    case WICK_ERR_PROTO_OPCODE:
        return 1u << 1;
    case WICK_ERR_PROTO_CONTROL_FRAGMENTED:
        return 1u << 2;
    case WICK_ERR_PROTO_CONTROL_TOO_BIG:
        return 1u << 3;
    case WICK_ERR_PROTO_MASK:
        return 1u << 4;
    case WICK_ERR_PROTO_LENGTH:
        return 1u << 5;
    case WICK_ERR_FRAME_TOO_BIG:
        return 1u << 6;
    default:
        return 1u << 31; /* never allowed */
    }
}

/* Decodes the wire data; stops at the first broken rule or at the end. */
static void ref_decode(const uint8_t *w, size_t n, wick_role role, uint8_t rsv_allowed,
                       uint64_t max_frame, ref_result *r)
{
    size_t pos = 0;
    r->frames = fz_alloc((n / 2 + 1) * sizeof(ref_frame));
    r->num = 0;
    r->error = false;
    r->maybe_error = false;
    r->allowed = 0;
    while (pos < n) {
        ref_frame *f = &r->frames[r->num];
        memset(f, 0, sizeof(*f));
        size_t avail = n - pos;
        uint32_t bad = 0;
        uint8_t b0 = w[pos];
        f->fin = (b0 & 0x80) != 0;
        f->rsv = b0 & 0x70;
        f->opcode = b0 & 0x0F;
        bool control = (f->opcode & 0x08) != 0;
        if (f->rsv & ~rsv_allowed) {
            bad |= err_bit(WICK_ERR_PROTO_RSV);
        }
        if (!(f->opcode <= 2 || (f->opcode >= 8 && f->opcode <= 10))) {
            bad |= err_bit(WICK_ERR_PROTO_OPCODE);
        }
        if (control && !f->fin) {
            bad |= err_bit(WICK_ERR_PROTO_CONTROL_FRAGMENTED);
        }
        f->hdr_need = 2;
        if (avail >= 2) {
            uint8_t b1 = w[pos + 1];
            f->masked = (b1 & 0x80) != 0;
            uint8_t l7 = b1 & 0x7F;
            if (f->masked != (role == WICK_ROLE_SERVER)) {
                bad |= err_bit(WICK_ERR_PROTO_MASK);
            }
            if (control && l7 > 125) {
                bad |= err_bit(WICK_ERR_PROTO_CONTROL_TOO_BIG);
            }
            size_t ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
            f->hdr_need = 2 + ext + (f->masked ? 4 : 0);
            if (avail >= 2 + ext) {
                uint64_t len = l7;
                if (ext) {
                    len = 0;
                    for (size_t i = 0; i < ext; i++) {
                        len = (len << 8) | w[pos + 2 + i];
                    }
                }
                f->len = len;
                if (len >> 63) {
                    bad |= err_bit(WICK_ERR_PROTO_LENGTH);
                } else if (control && len > 125) {
                    bad |= err_bit(WICK_ERR_PROTO_CONTROL_TOO_BIG);
                } else if (max_frame && len > max_frame) {
                    bad |= err_bit(WICK_ERR_FRAME_TOO_BIG);
                }
            }
        }
        f->hdr_bytes = avail < f->hdr_need ? avail : f->hdr_need;
        if (f->hdr_bytes < f->hdr_need) {
            /* Incomplete header: the parser may report a rule already
             * broken, or wait. */
            if (bad) {
                r->maybe_error = true;
                r->allowed = bad;
            }
            return;
        }
        if (bad) {
            r->error = true;
            r->allowed = bad;
            return;
        }
        if (f->masked) {
            memcpy(f->mask, w + pos + f->hdr_need - 4, 4);
        }
        f->payload_at = pos + f->hdr_need;
        r->num++;
        pos += f->hdr_need;
        if ((uint64_t)(n - pos) <= f->len) {
            return; /* the payload runs to the end of the input */
        }
        pos += (size_t)f->len;
    }
}

typedef struct run_result {
    wick_err err;
    size_t frames_seen; /* HEADER events */
} run_result;

/* Feeds the wire data in chunks and checks every event against ref. */
static run_result run(const uint8_t *w, size_t n, wick_role role, uint8_t rsv_allowed,
                      uint64_t max_frame, uint64_t seed, bool one_shot, const ref_result *ref)
{
    wick_frame_parser p;
    wick_frame_parser_init(&p, role, rsv_allowed, max_frame);
    run_result rr = {WICK_OK, 0};
    bool in_frame = false; /* a HEADER came and its frame_end did not */
    uint64_t next_off = 0;
    const ref_frame *cur = NULL;
    size_t off = 0;
    bool first = true;
    while (first || off < n) {
        first = false;
        size_t clen = one_shot ? n - off : fz_chunk(&seed, n - off);
        if (n == 0) {
            clen = 0;
        }
        uint8_t *chunk = fz_dup(w + off, clen);
        size_t pos = 0;
        unsigned stalls = 0;
        for (;;) {
            size_t consumed = (size_t)-1;
            wick_frame_event ev;
            memset(&ev, 0xA5, sizeof(ev));
            wick_err e = wick_frame_parser_feed(&p, chunk + pos, clen - pos, &consumed, &ev);
            if (e != WICK_OK) {
                FZ_CHECK(e < 0);
                /* Sticky: the parser stays failed. */
                size_t c2;
                wick_frame_event ev2;
                uint8_t zero = 0;
                FZ_CHECK(wick_frame_parser_feed(&p, &zero, 1, &c2, &ev2) == e);
                rr.err = e;
                free(chunk);
                return rr;
            }
            FZ_CHECK(consumed <= clen - pos);
            size_t before = pos;
            pos += consumed;
            if (ev.type == WICK_FRAME_NONE) {
                FZ_CHECK(pos == clen);
                break;
            }
            stalls = consumed == 0 ? stalls + 1 : 0;
            FZ_CHECK(stalls < 4);
            if (ev.type == WICK_FRAME_HEADER) {
                FZ_CHECK(!in_frame);
                FZ_CHECK(rr.frames_seen < ref->num);
                cur = &ref->frames[rr.frames_seen++];
                const wick_frame_header *h = &ev.header;
                FZ_CHECK(h->fin == cur->fin && h->rsv == cur->rsv && h->opcode == cur->opcode);
                FZ_CHECK(h->masked == cur->masked && h->payload_len == cur->len);
                if (h->masked) {
                    FZ_CHECK(memcmp(h->mask, cur->mask, 4) == 0);
                }
                in_frame = true;
                next_off = 0;
                continue;
            }
            FZ_CHECK(ev.type == WICK_FRAME_DATA);
            FZ_CHECK(in_frame && cur != NULL);
            FZ_CHECK(ev.header.opcode == cur->opcode && ev.header.payload_len == cur->len);
            FZ_CHECK(ev.offset == next_off);
            FZ_CHECK(ev.len <= cur->len - next_off);
            if (ev.len > 0) {
                /* The chunk lies in what this call consumed. */
                FZ_CHECK(ev.data >= chunk + before && ev.data + ev.len <= chunk + pos);
                for (size_t i = 0; i < ev.len; i++) {
                    uint64_t k = ev.offset + i;
                    uint8_t want = w[cur->payload_at + (size_t)k];
                    if (cur->masked) {
                        want ^= cur->mask[k & 3];
                    }
                    FZ_CHECK(ev.data[i] == want);
                }
            }
            next_off += ev.len;
            FZ_CHECK(ev.frame_end == (next_off == cur->len));
            if (ev.len == 0) {
                /* Only an empty payload gives an empty chunk. */
                FZ_CHECK(cur->len == 0);
            }
            if (ev.frame_end) {
                in_frame = false;
            }
        }
        free(chunk);
        off += clen;
    }
    /* Every payload byte available was delivered. */
    if (in_frame) {
        FZ_CHECK(cur != NULL && cur->payload_at + next_off == n);
    }
    FZ_CHECK(rr.frames_seen == ref->num);
    return rr;
}

static const uint64_t max_frames[4] = {0, 125, 65535, 1u << 20};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t conf = fz_u8(&in);
    uint8_t seed = fz_u8(&in);
    wick_role role = (conf & 1) ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
    uint8_t rsv_allowed = (uint8_t)((conf << 3) & 0x70);
    uint64_t max_frame = max_frames[(conf >> 4) & 3];
    const uint8_t *w = in.p;
    size_t n = in.n;

    ref_result ref;
    ref_decode(w, n, role, rsv_allowed, max_frame, &ref);

    run_result whole = run(w, n, role, rsv_allowed, max_frame, 0, true, &ref);
    run_result chunked = run(w, n, role, rsv_allowed, max_frame, (uint64_t)seed + 1, false, &ref);
    const run_result *rs[2] = {&whole, &chunked};
    for (int i = 0; i < 2; i++) {
        const run_result *r = rs[i];
        if (ref.error) {
            FZ_CHECK(r->err != WICK_OK);
        }
        if (r->err != WICK_OK) {
            FZ_CHECK(ref.error || ref.maybe_error);
            FZ_CHECK((err_bit(r->err) & ref.allowed) != 0);
        }
    }
    /* Split invariance: when both failed they failed the same way. */
    if (whole.err != WICK_OK && chunked.err != WICK_OK) {
        FZ_CHECK(whole.err == chunked.err);
    }
    free(ref.frames);
    return 0;
}
