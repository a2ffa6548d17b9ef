/* Unit tests of sandbox/arena: blocks are aligned, sized and re-used; freed blocks are wiped;
 * a reset puts the saved image back byte for byte, wipes everything else the heap touched (in
 * the region and in malloc'd blocks) and leaves the allocator as it was at the save. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/arena.h"

#define RESERVE   (1u << 20)
#define HDR_PROBE 20 /* a byte of the first block's payload */

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

static void test_arena_blocks_are_aligned_sized_and_reused(void **state)
{
    (void)state;
    struct nsl_arena a;
    assert_int_equal(nsl_arena_init(&a, RESERVE), 0);
    uint8_t *zero = nsl_arena_alloc(&a, 0), *next = nsl_arena_alloc(&a, 24);
    assert_non_null(zero);
    assert_non_null(next);
    assert_int_equal((uintptr_t)zero % 16, 0);
    assert_int_equal((uintptr_t)next % 16, 0);
    assert_int_equal(nsl_arena_size(zero), 0);
    assert_int_equal(nsl_arena_size(next), 24);
    memset(next, 0xAB, 24);
    nsl_arena_free(&a, zero); /* its free-list link must not reach into the next block */
    assert_int_equal(nsl_arena_size(next), 24);
    assert_int_equal(next[0], 0xAB);
    nsl_arena_free(&a, next);
    assert_true(all_zero(next + sizeof(void *), 24 - sizeof(void *))); /* wiped (but the link) */
    assert_ptr_equal(nsl_arena_alloc(&a, 20), next); /* same block size: re-used */
    assert_true(all_zero(next, 20));
    nsl_arena_free(&a, NULL);
}

static void test_arena_reset_restores_image_and_wipes_the_rest(void **state)
{
    (void)state;
    struct nsl_arena a;
    assert_int_equal(nsl_arena_init(&a, RESERVE), 0);
    /* Before the save, blocks of any size come from the region. */
    uint8_t *kept = nsl_arena_alloc(&a, 100), *large = nsl_arena_alloc(&a, 3 * NSL_ARENA_SMALL_MAX);
    uint8_t *freed = nsl_arena_alloc(&a, 40);
    memset(kept, 'k', 100);
    memset(large, 'l', 3 * NSL_ARENA_SMALL_MAX);
    nsl_arena_free(&a, freed);
    assert_int_equal(nsl_arena_save(&a), 0);
    size_t image_len = (size_t)(a.now.top - a.base);
    assert_int_equal(a.image_len, image_len);
    uint8_t *image = malloc(image_len);
    memcpy(image, a.base, image_len);

    /* A job: changes the image's blocks, re-uses the freed one, takes new ones from the region
     * and from malloc (a large one, once an image exists). */
    memset(kept, 'J', 100);
    memset(large, 'J', 3 * NSL_ARENA_SMALL_MAX);
    uint8_t *reused = nsl_arena_alloc(&a, 40);
    assert_ptr_equal(reused, freed);
    memset(reused, 'J', 40);
    uint8_t *fresh = nsl_arena_alloc(&a, 500);
    assert_true(fresh >= a.base + image_len);
    memset(fresh, 'J', 500);
    uint8_t *big = nsl_arena_alloc(&a, 4 * NSL_ARENA_SMALL_MAX);
    assert_true(big < a.base || big >= a.end);
    memset(big, 'J', 4 * NSL_ARENA_SMALL_MAX);
    assert_non_null(a.bigs);
    assert_int_equal(nsl_arena_save(&a), -1); /* a malloc'd block cannot be in an image */
    uint8_t *touched_end = a.high;

    nsl_arena_reset(&a);
    assert_memory_equal(a.base, image, image_len);
    assert_true(all_zero(a.base + image_len, (size_t)(touched_end - a.base) - image_len));
    assert_null(a.bigs);
    assert_ptr_equal(a.now.top, a.base + image_len);
    /* The allocator is as at the save: the freed block is handed out again, then the region. */
    assert_ptr_equal(nsl_arena_alloc(&a, 40), freed);
    assert_ptr_equal(nsl_arena_alloc(&a, 500), fresh);
    free(image);
}

/* The image the next job's heap is copied from cannot be written, even from inside the worker. */
static void test_arena_image_is_read_only(void **state)
{
    (void)state;
    struct nsl_arena a;
    assert_int_equal(nsl_arena_init(&a, RESERVE), 0);
    memset(nsl_arena_alloc(&a, 64), 'x', 64);
    assert_int_equal(nsl_arena_save(&a), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        ((volatile uint8_t *)a.image)[HDR_PROBE] = 'y';
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSEGV);
}

static void test_arena_full_region_spills_to_malloc(void **state)
{
    (void)state;
    struct nsl_arena a;
    assert_int_equal(nsl_arena_init(&a, 4096), 0);
    assert_int_equal(nsl_arena_save(&a), 0); /* an empty image */
    void *blocks[100];
    size_t outside = 0;
    for (size_t i = 0; i < 100; i++) {
        blocks[i] = nsl_arena_alloc(&a, 100);
        assert_non_null(blocks[i]);
        outside += (uint8_t *)blocks[i] < a.base || (uint8_t *)blocks[i] >= a.end;
    }
    assert_true(outside > 50);
    for (size_t i = 0; i < 100; i += 2)
        nsl_arena_free(&a, blocks[i]);
    nsl_arena_reset(&a); /* frees every block still listed */
    assert_null(a.bigs);
    assert_true(all_zero(a.base, 4096));
    assert_null(nsl_arena_alloc(&a, SIZE_MAX - 8));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_blocks_are_aligned_sized_and_reused),
        cmocka_unit_test(test_arena_reset_restores_image_and_wipes_the_rest),
        cmocka_unit_test(test_arena_image_is_read_only),
        cmocka_unit_test(test_arena_full_region_spills_to_malloc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
