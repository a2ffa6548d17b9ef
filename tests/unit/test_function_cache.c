/* The enclave's cache of deployed functions (services/function_cache.h): entries per account and
 * name, eviction, a load that raced an eviction is not cached, references outlive eviction, and
 * the entry and byte bounds hold. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/function_cache.h"

static struct nsl_function_code *code_of(int version, const char *source)
{
    struct nsl_function_code *code =
        nsl_function_code_new(json_pack("{s:i}", "version", version), source, strlen(source));
    assert_non_null(code);
    return code;
}

/* Puts a new entry at the current generation and drops the caller's reference. */
static void put(struct nsl_function_cache *c, const char *account, const char *name, int version,
                const char *source)
{
    struct nsl_function_code *code = code_of(version, source);
    nsl_function_cache_put(c, account, name, nsl_function_cache_generation(c), code);
    nsl_function_code_release(code);
}

static int cached_version(struct nsl_function_cache *c, const char *account, const char *name)
{
    const struct nsl_function_code *code = nsl_function_cache_get(c, account, name);
    if (!code)
        return -1;
    int v = (int)json_integer_value(json_object_get(code->meta, "version"));
    nsl_function_code_release(code);
    return v;
}

static void test_entries_are_per_account_and_name_until_evicted(void **state)
{
    (void)state;
    struct nsl_function_cache *c = nsl_function_cache_new();
    assert_int_equal(cached_version(c, "alice", "add"), -1);
    put(c, "alice", "add", 1, "function main() { return 1; }");
    put(c, "bob", "add", 7, "function main() { return 7; }");
    assert_int_equal(cached_version(c, "alice", "add"), 1);
    assert_int_equal(cached_version(c, "bob", "add"), 7);
    assert_int_equal(cached_version(c, "alice", "ad"), -1);
    put(c, "alice", "add", 2, "function main() { return 2; }");
    assert_int_equal(cached_version(c, "alice", "add"), 2);
    nsl_function_cache_evict(c, "alice", "add");
    assert_int_equal(cached_version(c, "alice", "add"), -1);
    assert_int_equal(cached_version(c, "bob", "add"), 7);
    nsl_function_cache_free(c);
}

/* A reader read the store before a redeploy evicted the name: what it read is not cached. */
static void test_a_load_that_raced_an_eviction_is_not_cached(void **state)
{
    (void)state;
    struct nsl_function_cache *c = nsl_function_cache_new();
    uint64_t before = nsl_function_cache_generation(c);
    struct nsl_function_code *old = code_of(1, "function main() { return 'old'; }");
    nsl_function_cache_evict(c, "alice", "f"); /* the redeploy, after its store write */
    nsl_function_cache_put(c, "alice", "f", before, old);
    assert_int_equal(cached_version(c, "alice", "f"), -1);
    /* Another name's eviction counts too: the check is conservative. */
    uint64_t g = nsl_function_cache_generation(c);
    nsl_function_cache_evict(c, "alice", "other");
    nsl_function_cache_put(c, "alice", "f", g, old);
    assert_int_equal(cached_version(c, "alice", "f"), -1);
    nsl_function_cache_put(c, "alice", "f", nsl_function_cache_generation(c), old);
    assert_int_equal(cached_version(c, "alice", "f"), 1);
    nsl_function_code_release(old);
    nsl_function_cache_free(c);
}

/* An invocation keeps running the code it took even when a deploy evicts it meanwhile. */
static void test_a_reference_outlives_eviction(void **state)
{
    (void)state;
    struct nsl_function_cache *c = nsl_function_cache_new();
    put(c, "alice", "f", 3, "function main() { return 3; }");
    const struct nsl_function_code *running = nsl_function_cache_get(c, "alice", "f");
    assert_non_null(running);
    nsl_function_cache_evict(c, "alice", "f");
    nsl_function_cache_free(c);
    assert_string_equal(running->source, "function main() { return 3; }");
    assert_int_equal(running->source_len, strlen(running->source));
    nsl_function_code_release(running); /* the last reference: ASan would see a leak or reuse */
}

static void test_entry_and_byte_bounds_hold(void **state)
{
    (void)state;
    struct nsl_function_cache *c = nsl_function_cache_new();
    char name[32];
    for (int i = 0; i < NSL_FUNCTION_CACHE_ENTRIES + 100; i++) {
        snprintf(name, sizeof name, "f%d", i);
        put(c, "alice", name, i, "function main() {}");
    }
    int present = 0;
    for (int i = 0; i < NSL_FUNCTION_CACHE_ENTRIES + 100; i++) {
        snprintf(name, sizeof name, "f%d", i);
        present += cached_version(c, "alice", name) == i;
    }
    assert_true(present > 0 && present <= NSL_FUNCTION_CACHE_ENTRIES);
    assert_int_equal(cached_version(c, "alice", name), NSL_FUNCTION_CACHE_ENTRIES + 99);

    /* Sources of a third of the byte budget: never more than three at once. */
    size_t big = NSL_FUNCTION_CACHE_BYTES / 3;
    char *text = malloc(big + 1);
    assert_non_null(text);
    memset(text, 'x', big);
    text[big] = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "big%d", i);
        put(c, "bob", name, i, text);
    }
    present = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "big%d", i);
        present += cached_version(c, "bob", name) == i;
    }
    assert_true(present >= 1 && present <= 3);
    assert_int_equal(cached_version(c, "bob", "big4"), 4);
    free(text);
    nsl_function_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries_are_per_account_and_name_until_evicted),
        cmocka_unit_test(test_a_load_that_raced_an_eviction_is_not_cached),
        cmocka_unit_test(test_a_reference_outlives_eviction),
        cmocka_unit_test(test_entry_and_byte_bounds_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
