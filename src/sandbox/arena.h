/* The memory of a worker's Duktape heap (worker.c): one region reserved once, handed out by
 * bumping a pointer and re-used through free lists of exact small sizes; blocks that do not fit
 * (large ones once an image is saved, any once the region is full) come from malloc and are
 * listed. nsl_arena_save keeps a copy of the region as it is (a freshly created heap with the
 * runtime installed, before any user code ran); nsl_arena_reset puts that copy back and wipes
 * everything else the heap ever held — the rest of the region it touched and every listed block —
 * so the next job starts from a heap byte-for-byte as it was when fresh and nothing of the last
 * job survives. The image is kept in a read-only mapping of its own. Every freed block is wiped at
 * once too. Not thread-safe (a worker runs one job). */
#ifndef NSL_SANDBOX_ARENA_H
#define NSL_SANDBOX_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Blocks of up to this many bytes (header included) are kept on free lists when freed. */
#define NSL_ARENA_SMALL_MAX 2048
#define NSL_ARENA_CLASSES   (NSL_ARENA_SMALL_MAX / 16 + 1)

/* What nsl_arena_save keeps beside the image and nsl_arena_reset puts back. */
struct nsl_arena_state {
    uint8_t *top;                        /* next unused byte of the region */
    void *free_lists[NSL_ARENA_CLASSES]; /* by block size / 16 */
};

struct nsl_arena {
    uint8_t *base, *end; /* the reserved region */
    uint8_t *high;       /* the highest top since the last reset: wiped down to the image */
    struct nsl_arena_state now, saved;
    uint8_t *image; /* read-only copy of [base, saved.top), or NULL before nsl_arena_save */
    size_t image_len;
    struct nsl_arena_big *bigs; /* blocks from malloc, still in use */
};

/* Reserves `reserve` bytes of address space (pages are only backed when touched). 0 or -1. */
int nsl_arena_init(struct nsl_arena *a, size_t reserve);
/* A block of size bytes (size > 0), 16-byte aligned, or NULL when out of memory. */
void *nsl_arena_alloc(struct nsl_arena *a, size_t size);
/* Wipes and releases a block of this arena (NULL: nothing). */
void nsl_arena_free(struct nsl_arena *a, void *p);
/* The size a block was allocated with. */
size_t nsl_arena_size(const void *p);
/* Keeps a copy of the region's used part and the allocator's state: nsl_arena_reset returns to
 * them. Blocks from malloc cannot be part of an image: 0, or -1 if there are any (or no memory). */
int nsl_arena_save(struct nsl_arena *a);
/* Back to the saved image: every block from malloc wiped and freed, the region's used part
 * overwritten with the image and the rest of what was touched wiped. */
void nsl_arena_reset(struct nsl_arena *a);

#endif
