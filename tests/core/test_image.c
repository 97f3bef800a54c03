/* test_image.c — a heap written to an image and read back is the same heap,
 * now and after the same operations applied to both. */
#include <string.h>

#include "digest.h"
#include "image.h"
#include "testutil.h"

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

static bool buf_sink(void *ctx, const void *p, size_t n)
{
    buf *b = ctx;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        unsigned char *q = realloc(b->p, cap);
        if (q == NULL)
            return false;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return true;
}

static buf save(hl_heap *h)
{
    buf b = {0};
    ck_assert_int_eq(hl_image_save(h, buf_sink, &b), HL_IMAGE_OK);
    ck_assert_heap_ok(h);
    return b;
}

static hl_heap *load(const buf *b)
{
    hl_heap *h = NULL;
    char why[256] = "";
    hl_image_status st = hl_image_load(b->p, b->len, &h, why, sizeof why);
    ck_assert_msg(st == HL_IMAGE_OK, "load: %d %s", (int)st, why);
    ck_assert_heap_ok(h);
    return h;
}

static void digest_of(const hl_heap *h, char hex[HL_DIGEST_HEX_SIZE])
{
    uint8_t d[HL_DIGEST_SIZE];
    hl_heap_digest(h, d);
    hl_digest_hex(d, hex);
}

static void assert_same(const hl_heap *a, const hl_heap *b)
{
    char da[HL_DIGEST_HEX_SIZE], db[HL_DIGEST_HEX_SIZE];
    digest_of(a, da);
    digest_of(b, db);
    ck_assert_str_eq(da, db);
}

/* ---- a random driver: every kind of operation, many of them failing ---- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t pick_id(hl_heap *h, uint64_t *s)
{
    uint64_t n = hl_heap_next_id(h);
    uint64_t id = hl_heap_next_live_id(h, rnd(s) % (n + 1));
    return id != 0 ? id : hl_heap_next_live_id(h, 0);
}

static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
static const char *const keys[] = {"x", "y", "z", "next", "prev"};

static void create_random(hl_heap *h, uint64_t *s, const char *name)
{
    uint64_t items[4];
    size_t n = rnd(s) % 4;
    for (size_t i = 0; i < n; i++)
        items[i] = pick_id(h, s);
    const char *ks[4] = {keys[0], keys[1], keys[2], keys[3]};
    char text[64];
    size_t tl = (size_t)snprintf(text, sizeof text, "s%llu", (unsigned long long)(rnd(s) % 1000));
    hl_create_spec spec = {.type = (hl_type)(rnd(s) % HL_TYPE_COUNT), .items = items, .nitems = n};
    switch (spec.type) {
    case HL_INT: spec.int_value = (int64_t)(rnd(s) % 600) - 100; break;
    case HL_FLOAT: spec.float_value = (double)(rnd(s) % 1000) / 7.0; break;
    case HL_STR: case HL_BYTES: spec.text = text; spec.text_len = rnd(s) % 8 == 0 ? 700 : tl; break;
    case HL_DICT: case HL_INSTANCE:
        spec.keys = ks;
        spec.values = items;
        spec.nkeys = n;
        spec.nitems = 0;
        spec.class_name = rnd(s) % 2 ? "Node" : "Leaf";
        spec.finalizer = rnd(s) % 4 == 0;
        spec.resurrect = spec.finalizer && rnd(s) % 3 == 0 ? "saved" : NULL;
        break;
    case HL_WEAKREF: {
        hl_create_result r;
        (void)hl_op_weakref(h, pick_id(h, s), rnd(s) % 2, name, &r);
        return;
    }
    default: break;
    }
    if (spec.type == HL_BYTES && spec.text_len == 700)
        spec.text = NULL;
    if (spec.type == HL_STR && spec.text_len == 700)
        spec.text_len = tl;
    hl_create_result r;
    (void)hl_op_create(h, &spec, name, &r);
}

static void random_op(hl_heap *h, uint64_t *s)
{
    const char *name = names[rnd(s) % 8];
    switch (rnd(s) % 12) {
    case 0: case 1: case 2: create_random(h, s, rnd(s) % 3 ? name : NULL); break;
    case 3: (void)hl_op_bind(h, name, pick_id(h, s)); break;
    case 4: (void)hl_op_unbind(h, name); break;
    case 5: case 6: {
        hl_ref_spec r = {(hl_ref_op)(rnd(s) % 5), (int64_t)(rnd(s) % 3), keys[rnd(s) % 5], pick_id(h, s)};
        (void)hl_op_add_ref(h, pick_id(h, s), &r);
        break;
    }
    case 7: {
        hl_unref_spec u = {(hl_unref_op)(rnd(s) % 4), (int64_t)(rnd(s) % 3) - 1, keys[rnd(s) % 5], pick_id(h, s)};
        (void)hl_op_remove_ref(h, pick_id(h, s), &u);
        break;
    }
    case 8: {
        hl_collect_result r;
        (void)hl_op_collect(h, (int)(rnd(s) % 3), &r);
        break;
    }
    case 9: {
        hl_gc_config g = {.nthresholds = 1, .thresholds = {(int)(rnd(s) % 40) + 5}};
        (void)hl_op_gc_config(h, &g);
        break;
    }
    case 10: (void)(rnd(s) % 8 == 0 ? hl_op_freeze(h) : hl_op_unfreeze(h)); break;
    default: {
        hl_create_spec sp = {.type = HL_LIST};
        hl_create_result r;
        (void)hl_op_create(h, &sp, NULL, &r); /* garbage: exercises free lists */
        break;
    }
    }
}

static hl_heap *random_heap_profile(int32_t phase, hl_profile profile, uint64_t *seed, int ops)
{
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    hl_heap_config_profile(&cfg, profile);
    cfg.arena_phase = phase;
    cfg.thresholds[0] = 50;
    hl_heap *h = hl_heap_new(&cfg);
    ck_assert_ptr_nonnull(h);
    for (int i = 0; i < ops; i++)
        random_op(h, seed);
    ck_assert_heap_ok(h);
    return h;
}

static hl_heap *random_heap(int32_t phase, uint64_t *seed, int ops)
{
    return random_heap_profile(phase, HL_PROFILE_3_11, seed, ops);
}

/* ---- tests ---- */

START_TEST(test_round_trip_then_same_future)
{
    static const int32_t phases[] = {-1, 0, 4096, 12288};
    uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)_i * 7919;
    hl_heap *a = random_heap_profile(phases[_i % 4], (hl_profile)(_i % HL_PROFILE_COUNT), &seed, 3000);
    buf b = save(a);
    hl_heap *c = load(&b);
    assert_same(a, c);
    uint64_t sa = seed, sc = seed;
    for (int i = 0; i < 3000; i++) {
        random_op(a, &sa);
        random_op(c, &sc);
        if (i % 500 == 0)
            assert_same(a, c);
    }
    ck_assert_heap_ok(c);
    assert_same(a, c);
    free(b.p);
    hl_heap_delete(a);
    hl_heap_delete(c);
}
END_TEST

/* An image of an image is the same heap again, and a fresh heap round-trips. */
START_TEST(test_reload_and_empty)
{
    hl_heap *empty = hl_heap_new(NULL);
    buf b0 = save(empty);
    hl_heap *e2 = load(&b0);
    assert_same(empty, e2);
    uint64_t seed = 42;
    hl_heap *a = random_heap(8192, &seed, 2000);
    buf b1 = save(a);
    hl_heap *c = load(&b1);
    buf b2 = save(c);
    hl_heap *d = load(&b2);
    assert_same(a, d);
    free(b0.p);
    free(b1.p);
    free(b2.p);
    hl_heap_delete(empty);
    hl_heap_delete(e2);
    hl_heap_delete(a);
    hl_heap_delete(c);
    hl_heap_delete(d);
}
END_TEST

/* Large values live in raw (malloc) blocks; a big list and dict too. */
START_TEST(test_raw_blocks)
{
    hl_heap *h = t_heap();
    uint64_t items[200];
    uint64_t big = t_list(h, "big", NULL, 0);
    for (int i = 0; i < 200; i++) {
        hl_create_spec s = {.type = HL_STR, .text = "0123456789abcdef0123456789abcdef", .text_len = 32};
        items[i] = t_create(h, &s, "tmp");
        hl_ref_spec r = {.op = HL_REF_APPEND, .target = items[i]};
        ck_assert_status(hl_op_add_ref(h, big, &r), HL_OK);
    }
    hl_create_spec t = {.type = HL_TUPLE, .items = items, .nitems = 100};
    t_create(h, &t, "tup");
    hl_create_spec bytes = {.type = HL_BYTES, .text_len = 5000};
    t_create(h, &bytes, "blob");
    hl_create_spec set = {.type = HL_SET, .items = items, .nitems = 0};
    uint64_t sid = t_create(h, &set, "members");
    for (int i = 0; i < 100; i++) {
        hl_ref_spec r = {.op = HL_REF_ADD_MEMBER, .target = items[i]};
        ck_assert_status(hl_op_add_ref(h, sid, &r), HL_OK);
    }
    buf b = save(h);
    hl_heap *c = load(&b);
    assert_same(h, c);
    free(b.p);
    hl_heap_delete(h);
    hl_heap_delete(c);
}
END_TEST

/* A list parked on the free list keeps its old size with no item array. */
START_TEST(test_parked_big_list)
{
    hl_heap *h = t_heap();
    uint64_t x = t_list(h, "x", NULL, 0), big = t_list(h, "big", NULL, 0);
    for (int i = 0; i < 1000; i++)
        t_append(h, big, x);
    ck_assert_status(hl_op_unbind(h, "big"), HL_OK);
    buf b = save(h);
    hl_heap *c = load(&b);
    assert_same(h, c);
    t_list(h, "again", NULL, 0);
    t_list(c, "again", NULL, 0);
    assert_same(h, c);
    free(b.p);
    hl_heap_delete(h);
    hl_heap_delete(c);
}
END_TEST

/* Every truncation is refused cleanly (no leak, no crash under ASan). */
START_TEST(test_truncated_and_foreign_images)
{
    uint64_t seed = 7;
    hl_heap *a = random_heap(0, &seed, 300);
    buf b = save(a);
    char why[256];
    for (size_t cut = 0; cut < b.len; cut += 1 + cut / 16) {
        hl_heap *h = (hl_heap *)1;
        ck_assert_int_eq(hl_image_load(b.p, cut, &h, why, sizeof why), HL_IMAGE_MALFORMED);
        ck_assert_ptr_null(h);
        ck_assert(strstr(why, "heap image") != NULL);
    }
    b.p[3] ^= 0x20;
    hl_heap *h = NULL;
    ck_assert_int_eq(hl_image_load(b.p, b.len, &h, why, sizeof why), HL_IMAGE_MALFORMED);
    ck_assert(strstr(why, "header") != NULL);
    free(b.p);
    hl_heap_delete(a);
}
END_TEST

static bool refuse(void *ctx, const void *p, size_t n)
{
    (void)ctx;
    (void)p;
    (void)n;
    return false;
}

START_TEST(test_sink_failure_leaves_heap_intact)
{
    uint64_t seed = 11;
    hl_heap *a = random_heap(-1, &seed, 500);
    char before[HL_DIGEST_HEX_SIZE], after[HL_DIGEST_HEX_SIZE];
    digest_of(a, before);
    ck_assert_int_eq(hl_image_save(a, refuse, NULL), HL_IMAGE_WRITE);
    digest_of(a, after);
    ck_assert_str_eq(before, after);
    ck_assert_heap_ok(a);
    hl_heap_delete(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("image");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_round_trip_then_same_future, 0, 8);
    tcase_add_test(tc, test_reload_and_empty);
    tcase_add_test(tc, test_raw_blocks);
    tcase_add_test(tc, test_parked_big_list);
    tcase_add_test(tc, test_truncated_and_foreign_images);
    tcase_add_test(tc, test_sink_failure_leaves_heap_intact);
    suite_add_tcase(s, tc);
    return t_run(s);
}
