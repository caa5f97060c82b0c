/* Counting, failing allocator hook; see failalloc.h. */
#include "support/failalloc.h"

#include <stdlib.h>
#include <string.h>

/* Each block carries its size in front so free() can check the size the
 * engine passes back. */
typedef struct block_head {
    size_t size;
    size_t pad; /* keeps the payload 16-byte aligned on 64-bit targets */
} block_head;

static void *fa_alloc(size_t n, void *ud)
{
    failalloc *f = ud;
    f->attempts++;
    if (f->fail_at != 0 && f->attempts == f->fail_at) {
        return NULL;
    }
    block_head *h = malloc(sizeof(block_head) + n);
    if (h == NULL) {
        return NULL;
    }
    h->size = n;
    h->pad = 0;
    f->allocs++;
    f->live += n;
    if (f->live > f->peak) {
        f->peak = f->live;
    }
    return h + 1;
}

static void fa_free(void *p, size_t n, void *ud)
{
    failalloc *f = ud;
    if (p == NULL) {
        return;
    }
    block_head *h = (block_head *)p - 1;
    if (h->size != n) {
        f->bad_frees++;
    }
    f->frees++;
    f->live -= h->size;
    free(h);
}

void failalloc_init(failalloc *f, unsigned fail_at)
{
    memset(f, 0, sizeof(*f));
    f->a.alloc = fa_alloc;
    f->a.free = fa_free;
    f->a.ud = f;
    f->fail_at = fail_at;
}
