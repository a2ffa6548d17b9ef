/* A Duktape heap's memory (arena.h). A block in the region is a 16-byte header (its size) and
 * the payload; a block from malloc has a 32-byte header (list links, then its size), so the size
 * is always the 8 bytes 16 before the payload. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sandbox/arena.h"

#define HDR 16
/* Wiping a range this big gives its pages back instead of writing zeros over them. */
#define WIPE_BY_UNMAP (64u << 10)

struct nsl_arena_big {
    struct nsl_arena_big *prev, *next;
    size_t size, pad;
};

int nsl_arena_init(struct nsl_arena *a, size_t reserve)
{
    *a = (struct nsl_arena){0};
    void *p = mmap(NULL, reserve, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    a->base = a->now.top = a->high = p;
    a->end = a->base + reserve;
    return 0;
}

static bool in_region(const struct nsl_arena *a, const void *p)
{
    return (const uint8_t *)p >= a->base && (const uint8_t *)p < a->end;
}

size_t nsl_arena_size(const void *p)
{
    size_t size;
    memcpy(&size, (const uint8_t *)p - HDR, sizeof size);
    return size;
}

/* The payload's room: its size rounded up to keep blocks 16-byte aligned, and at least 16 bytes
 * (a free block holds its free-list link there, even one allocated with size 0). */
static size_t room(size_t size)
{
    return ((size ? size : 1) + 15) & ~(size_t)15;
}

static void *from_malloc(struct nsl_arena *a, size_t size)
{
    struct nsl_arena_big *b = size > SIZE_MAX - sizeof *b ? NULL : malloc(sizeof *b + size);
    if (!b)
        return NULL;
    *b = (struct nsl_arena_big){.next = a->bigs, .size = size};
    if (a->bigs)
        a->bigs->prev = b;
    a->bigs = b;
    return b + 1;
}

void *nsl_arena_alloc(struct nsl_arena *a, size_t size)
{
    if (size > SIZE_MAX - 2 * HDR)
        return NULL;
    size_t bs = HDR + room(size);
    uint8_t *block = NULL;
    void **list = bs <= NSL_ARENA_SMALL_MAX ? &a->now.free_lists[bs / 16] : NULL;
    if (list && *list) {
        block = (uint8_t *)*list - HDR;
        memcpy(list, block + HDR, sizeof *list);
        memset(block + HDR, 0, sizeof *list); /* the link */
    } else if ((list || !a->image) && (size_t)(a->end - a->now.top) >= bs) {
        /* Large blocks come from the region only for the image: after it, a large block freed
         * could not be re-used before the next reset. */
        block = a->now.top;
        a->now.top += bs;
        if (a->now.top > a->high)
            a->high = a->now.top;
    } else
        return from_malloc(a, size);
    memcpy(block, &size, sizeof size);
    return block + HDR;
}

void nsl_arena_free(struct nsl_arena *a, void *p)
{
    if (!p)
        return;
    size_t size = nsl_arena_size(p);
    if (!in_region(a, p)) {
        struct nsl_arena_big *b = (struct nsl_arena_big *)p - 1;
        if (b->prev)
            b->prev->next = b->next;
        else
            a->bigs = b->next;
        if (b->next)
            b->next->prev = b->prev;
        explicit_bzero(b, sizeof *b + size);
        free(b);
        return;
    }
    size_t bs = HDR + room(size);
    explicit_bzero(p, room(size));
    if (bs <= NSL_ARENA_SMALL_MAX) { /* else it stays unused until the next reset */
        void **list = &a->now.free_lists[bs / 16];
        memcpy(p, list, sizeof *list);
        *list = p;
    }
}

int nsl_arena_save(struct nsl_arena *a)
{
    if (a->bigs)
        return -1;
    size_t len = (size_t)(a->now.top - a->base);
    /* Its own read-only mapping: what a job could scribble over (through an interpreter bug)
     * is the heap, never the image the next job's heap is copied from. */
    uint8_t *image =
        mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (image == MAP_FAILED)
        return -1;
    memcpy(image, a->base, len);
    if (mprotect(image, len ? len : 1, PROT_READ) != 0) {
        munmap(image, len ? len : 1);
        return -1;
    }
    if (a->image)
        munmap(a->image, a->image_len ? a->image_len : 1);
    a->image = image;
    a->image_len = len;
    a->saved = a->now;
    a->high = a->now.top;
    return 0;
}

/* Zeros [from, to): pages wholly inside a large range are given back (they read as zeros). */
static void wipe(uint8_t *from, uint8_t *to)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if ((size_t)(to - from) >= WIPE_BY_UNMAP) {
        uint8_t *first = (uint8_t *)(((uintptr_t)from + page - 1) & ~(uintptr_t)(page - 1));
        uint8_t *last = (uint8_t *)((uintptr_t)to & ~(uintptr_t)(page - 1));
        if (madvise(first, (size_t)(last - first), MADV_DONTNEED) == 0) {
            explicit_bzero(from, (size_t)(first - from));
            explicit_bzero(last, (size_t)(to - last));
            return;
        }
    }
    explicit_bzero(from, (size_t)(to - from));
}

void nsl_arena_reset(struct nsl_arena *a)
{
    while (a->bigs)
        nsl_arena_free(a, a->bigs + 1);
    memcpy(a->base, a->image, (size_t)(a->saved.top - a->base));
    if (a->high > a->saved.top)
        wipe(a->saved.top, a->high);
    a->now = a->saved;
    a->high = a->saved.top;
}
