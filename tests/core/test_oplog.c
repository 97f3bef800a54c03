/* test_oplog.c — the operation log (oplog.h): a random run's records, replayed
 * into a fresh heap with the same configuration, rebuild the same heap; failed
 * calls record nothing; damaged records are refused whole, changing nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "oplog.h"
#include "testutil.h"

/* ---- a journal in memory ---- */
#define T_LOG_MAX 4096
typedef struct t_log {
    unsigned char *rec[T_LOG_MAX];
    size_t len[T_LOG_MAX];
    size_t n;
} t_log;

static void t_log_record(void *ctx, const void *record, size_t len)
{
    t_log *l = ctx;
    ck_assert_msg(record != NULL && len >= 2, "a successful call could not be recorded");
    ck_assert_uint_lt(l->n, T_LOG_MAX);
    /* An exact-size copy, so that a sanitizer sees any read past its end. */
    ck_assert_ptr_nonnull(l->rec[l->n] = malloc(len));
    memcpy(l->rec[l->n], record, len);
    l->len[l->n++] = len;
}

static t_log *t_log_new(void)
{
    t_log *l = calloc(1, sizeof *l);
    ck_assert_ptr_nonnull(l);
    return l;
}

static void t_log_free(t_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->rec[i]);
    free(l);
}

static void t_replay_ok(hl_heap *h, const t_log *l, size_t from, size_t to)
{
    char why[256];
    for (size_t i = from; i < to; i++) {
        hl_replay_status st = hl_oplog_replay(h, l->rec[i], l->len[i], why, sizeof why);
        ck_assert_msg(st == HL_REPLAY_OK, "record %zu (opcode %d): status %d: %s", i, l->rec[i][1], st, why);
    }
}

/* ---- random operations ---- */
static uint64_t rng;

static uint64_t below(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

#define T_COUNT(a) (sizeof(a) / sizeof((a)[0]))
static const char *const names[] = {"a", "b", "c", "d", "e", "f",  "g",  "h",  "i",  "j",  "k",  "l",  "m",  "n",
                                    "o", "p", "q", "r", "s", "t",  "u",  "v",  "w",  "y",  "é",  "名前", "x1", "x2",
                                    "x3", "x4", "x5", "x6", "x7", "x8", "x9", "z1", "z2", "z3", "z4", "z5"};
static const char *const keys[] = {"k", "", "ключ", "x", "y", "z", "next", "ü", "🙂"};
static const char *const texts[] = {"", "a", "hello", "é", "名", "🙂", "\xff", "x"};

#define T_HASHABLE (1u << HL_INT | 1u << HL_FLOAT | 1u << HL_STR | 1u << HL_BYTES | 1u << HL_TUPLE | 1u << HL_INSTANCE)
#define T_HOLDERS (1u << HL_LIST | 1u << HL_DICT | 1u << HL_SET | 1u << HL_INSTANCE)
#define T_ANY ((1u << HL_TYPE_COUNT) - 1)

static const char *any_name(void)
{
    return below(40) == 0 ? "" : names[below(T_COUNT(names))];
}

/* A live id of one of the types, mostly; sometimes any id at all, dead or
 * never made, so that calls fail too. */
static uint64_t pick(const hl_heap *h, unsigned types)
{
    static uint64_t live[8192];
    size_t n = 0;
    for (uint64_t id = hl_heap_next_live_id(h, 0); id != 0 && n < T_COUNT(live); id = hl_heap_next_live_id(h, id)) {
        hl_object_info info;
        if (hl_heap_object_info(h, id, &info) == HL_OK && (types >> info.type & 1))
            live[n++] = id;
    }
    if (n == 0 || below(12) == 0)
        return 1 + below(hl_heap_next_id(h) + 3);
    return live[below(n)];
}

static hl_type type_of(const hl_heap *h, uint64_t id)
{
    hl_object_info info;
    return hl_heap_object_info(h, id, &info) == HL_OK ? info.type : HL_WEAKREF;
}

/* One of a holder's references, chosen at random, for a call to remove. */
typedef struct t_pick_ref {
    size_t seen;
    uint64_t target;
    char key[64];
} t_pick_ref;

static bool pick_ref(void *ctx, const hl_ref *r)
{
    t_pick_ref *p = ctx;
    if (r->kind != HL_SLOT_DICT_KEY && below(++p->seen) == 0) {
        p->target = r->target;
        snprintf(p->key, sizeof p->key, "%s", r->name ? r->name : "");
    }
    return true;
}

typedef struct t_spec_store {
    char text[64];
    uint64_t ids[8];
    const char *keys[8];
} t_spec_store;

static void random_spec(const hl_heap *h, hl_create_spec *s, t_spec_store *st)
{
    static const int64_t ints[] = {0, 1, -5, 256, 257, -6, 1000, INT64_MAX, INT64_MIN, 42};
    memset(s, 0, sizeof *s);
    s->type = (hl_type)below(HL_TYPE_COUNT);
    s->int_value = ints[below(T_COUNT(ints))];
    s->float_value = (double)below(1000) / 8.0 - 60.0;
    for (uint64_t k = below(5); k > 0; k--) { /* text holds 4 of the longest */
        const char *t = texts[below(T_COUNT(texts))];
        memcpy(st->text + s->text_len, t, strlen(t));
        s->text_len += strlen(t);
    }
    if (s->type == HL_BYTES && below(3) == 0) { /* zero-filled, or with NULs inside */
        s->text_len = below(2) ? below(600) : 3;
        memcpy(st->text, "a\0b", 3);
        s->text = s->text_len == 3 ? st->text : NULL;
    } else {
        s->text = st->text;
    }
    size_t n = below(T_COUNT(st->ids) + 1);
    for (size_t i = 0; i < n; i++) {
        st->ids[i] = pick(h, s->type == HL_SET ? T_HASHABLE : T_ANY);
        st->keys[i] = keys[below(T_COUNT(keys))];
    }
    s->items = st->ids;
    s->nitems = n;
    s->keys = st->keys;
    s->values = st->ids;
    s->nkeys = n;
    if (s->type == HL_INSTANCE) {
        static const char *const classes[] = {"A", "B", "Node"};
        s->class_name = below(4) == 0 ? NULL : classes[below(T_COUNT(classes))];
        s->finalizer = below(3) == 0;
        s->resurrect = s->finalizer && below(3) == 0 ? any_name() : NULL;
    }
}

static hl_status random_add_ref(hl_heap *h)
{
    uint64_t holder = pick(h, T_HOLDERS);
    static const hl_ref_op fitting[] = {[HL_LIST] = HL_REF_APPEND, [HL_DICT] = HL_REF_SET_KEY,
                                        [HL_SET] = HL_REF_ADD_MEMBER, [HL_INSTANCE] = HL_REF_SET_ATTR};
    hl_type t = type_of(h, holder);
    hl_ref_spec r = {.op = (hl_ref_op)below(5), .index = (int64_t)below(9) - 4, .key = keys[below(T_COUNT(keys))]};
    if (t != HL_WEAKREF && below(8) != 0)
        r.op = t == HL_LIST && below(3) == 0 ? HL_REF_SET_INDEX : fitting[t];
    /* Containers often, for cycles for the collector to find. */
    r.target = pick(h, r.op == HL_REF_ADD_MEMBER ? T_HASHABLE : below(2) ? T_HOLDERS : T_ANY);
    return hl_op_add_ref(h, holder, &r);
}

static hl_status random_remove_ref(hl_heap *h)
{
    uint64_t holder = pick(h, T_HOLDERS);
    static const hl_unref_op fitting[] = {[HL_LIST] = HL_UNREF_TARGET, [HL_DICT] = HL_UNREF_KEY,
                                          [HL_SET] = HL_UNREF_TARGET, [HL_INSTANCE] = HL_UNREF_ATTR};
    hl_type t = type_of(h, holder);
    t_pick_ref p = {.target = pick(h, T_ANY)};
    snprintf(p.key, sizeof p.key, "%s", keys[below(T_COUNT(keys))]);
    if (t != HL_WEAKREF && below(6) != 0)
        hl_heap_referents(h, holder, pick_ref, &p);
    hl_unref_spec u = {.op = (hl_unref_op)below(4), .index = (int64_t)below(9) - 4, .key = p.key, .target = p.target};
    if (t != HL_WEAKREF && below(8) != 0)
        u.op = t == HL_LIST && below(2) == 0 ? HL_UNREF_INDEX : fitting[t];
    return hl_op_remove_ref(h, holder, &u);
}

/* One call of a random kind and its status; some fail. */
static hl_status random_op(hl_heap *h)
{
    hl_create_spec spec;
    t_spec_store store;
    hl_create_result made;
    uint64_t k = below(100);
    if (k < 30) {
        random_spec(h, &spec, &store);
        return hl_op_create(h, &spec, below(5) ? any_name() : NULL, below(2) ? &made : NULL);
    }
    if (k < 38)
        return hl_op_bind(h, any_name(), pick(h, T_ANY));
    if (k < 44)
        return hl_op_unbind(h, any_name());
    if (k < 66)
        return random_add_ref(h);
    if (k < 78)
        return random_remove_ref(h);
    if (k < 88) {
        uint64_t target = pick(h, 1u << HL_INSTANCE | 1u << HL_SET);
        return hl_op_weakref(h, target, below(2), below(2) ? any_name() : NULL, below(2) ? &made : NULL);
    }
    if (k < 93) {
        hl_collect_result r;
        return hl_op_collect(h, (int)below(4), below(2) ? &r : NULL);
    }
    if (k < 98) {
        hl_gc_config c = {.set_enabled = below(2), .enabled = below(4) != 0, .nthresholds = (int)below(4)};
        for (int i = 0; i < 3; i++)
            c.thresholds[i] = (int)below(41) - 1;
        return hl_op_gc_config(h, &c);
    }
    return k == 98 ? hl_op_freeze(h) : hl_op_unfreeze(h);
}

/* ---- the public state of a heap, as text, to compare two heaps ---- */
typedef struct t_text {
    char *s;
    size_t len, cap;
} t_text;

static void add(t_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(t_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    while (t->len + (size_t)n + 1 > t->cap) {
        t->cap = t->cap ? 2 * t->cap : 4096;
        t->s = realloc(t->s, t->cap);
        ck_assert_ptr_nonnull(t->s);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static bool describe_ref(void *ctx, const hl_ref *r)
{
    add(ctx, " %d:%llu:%s>%llu", r->kind, (unsigned long long)r->index, r->name ? r->name : "-",
        (unsigned long long)r->target);
    return true;
}

static void describe_object(const hl_heap *h, uint64_t id, t_text *t)
{
    hl_object_info i;
    ck_assert_status(hl_heap_object_info(h, id, &i), HL_OK);
    add(t, "%llu t%d rc%u sz%zu tr%d g%d cls%d fin%d/%d len%llu %s", (unsigned long long)i.id, i.type, i.refcount,
        i.size, i.tracked, i.generation, i.size_class, i.finalizer, i.finalized, (unsigned long long)i.length,
        i.class_name ? i.class_name : "-");
    int64_t iv;
    double fv;
    char buf[1024];
    size_t len;
    uint64_t target;
    bool cb;
    if (hl_heap_int_value(h, id, &iv) == HL_OK)
        add(t, " =%lld", (long long)iv);
    if (hl_heap_float_value(h, id, &fv) == HL_OK)
        add(t, " =%a", fv);
    if (hl_heap_text_value(h, id, buf, sizeof buf, &len) == HL_OK)
        for (size_t k = 0; k < len && k < sizeof buf; k++)
            add(t, "%s%02x", k == 0 ? " x" : "", (unsigned char)buf[k]);
    if (hl_heap_weakref_target(h, id, &target, &cb) == HL_OK)
        add(t, " ->%llu cb%d", (unsigned long long)target, cb);
    ck_assert_status(hl_heap_referents(h, id, describe_ref, t), HL_OK);
    add(t, "\n");
}

static bool describe_name(void *ctx, const char *name, uint64_t id)
{
    add(ctx, "%s=%llu ", name, (unsigned long long)id);
    return true;
}

static bool describe_id(void *ctx, uint64_t id)
{
    add(ctx, "%llu ", (unsigned long long)id);
    return true;
}

static void describe_gc(const hl_heap *h, t_text *t)
{
    hl_gc_state g;
    hl_heap_gc_state(h, &g);
    add(t, "enabled %d collecting %d frozen %llu long-lived %llu/%llu\n", g.enabled, g.collecting,
        (unsigned long long)g.frozen, (unsigned long long)g.long_lived_total,
        (unsigned long long)g.long_lived_pending);
    for (int i = 0; i < 3; i++)
        add(t, "gen%d threshold %d count %lld size %llu collections %llu collected %llu uncollectable %llu\n", i,
            g.thresholds[i], (long long)g.count[i], (unsigned long long)g.generation_size[i],
            (unsigned long long)g.stats[i].collections, (unsigned long long)g.stats[i].collected,
            (unsigned long long)g.stats[i].uncollectable);
    /* Not last.duration_ns: wall time differs between runs. */
    add(t, "last gen%d collected %llu uncollectable %llu examined %llu automatic %d\n", g.last.generation,
        (unsigned long long)g.last.collected, (unsigned long long)g.last.uncollectable,
        (unsigned long long)g.last.examined, g.last.automatic);
    for (int gen = 0; gen <= 3; gen++) {
        add(t, "objects of gen%d:", gen);
        ck_assert_status(hl_heap_gc_objects(h, gen, describe_id, t), HL_OK);
        add(t, "\n");
    }
}

static void describe_alloc(const hl_heap *h, t_text *t)
{
    hl_alloc_stats s;
    hl_alloc_get_stats(hl_heap_allocator(h), &s);
    for (int i = 0; i < HL_ALLOC_NUM_CLASSES; i++)
        add(t, "class %d: %u pools %llu used %llu free\n", i, s.classes[i].pools,
            (unsigned long long)s.classes[i].used_blocks, (unsigned long long)s.classes[i].free_blocks);
    const uint64_t v[] = {s.arenas_allocated_total,   s.arenas_reclaimed,           s.arenas_highwater,
                          s.arenas_in_use,            s.pools_in_use,               s.pools_empty,
                          s.bytes_in_allocated_blocks, s.bytes_in_available_blocks, s.bytes_in_unused_pools,
                          s.bytes_lost_pool_headers,  s.bytes_lost_quantization,    s.bytes_lost_arena_alignment,
                          s.raw_count,                s.raw_bytes,                  s.allocated_blocks};
    for (size_t i = 0; i < T_COUNT(v); i++)
        add(t, "%llu ", (unsigned long long)v[i]);
    hl_heap_totals tot;
    hl_heap_totals_get(h, &tot);
    add(t, "\ntotals %llu objects %llu bytes\n", (unsigned long long)tot.objects, (unsigned long long)tot.bytes);
}

/* Everything introspection shows of h, one section per call. */
static void describe(const hl_heap *h, int section, t_text *t)
{
    t->len = 0;
    add(t, "next id %llu\n", (unsigned long long)hl_heap_next_id(h));
    if (section == 0)
        for (uint64_t id = hl_heap_next_live_id(h, 0); id != 0; id = hl_heap_next_live_id(h, id))
            describe_object(h, id, t);
    if (section == 1)
        hl_heap_names(h, describe_name, t);
    if (section == 2)
        describe_gc(h, t);
    if (section == 3)
        describe_alloc(h, t);
}

static void assert_same_heap(const hl_heap *a, const hl_heap *b)
{
    static const char *const sections[] = {"objects", "names", "collector", "allocator"};
    t_text ta = {0}, tb = {0};
    for (int sec = 0; sec < 4; sec++) {
        describe(a, sec, &ta);
        describe(b, sec, &tb);
        size_t at = 0;
        while (at < ta.len && at < tb.len && ta.s[at] == tb.s[at])
            at++;
        size_t line = at;
        while (line > 0 && ta.s[line - 1] != '\n')
            line--;
        ck_assert_msg(ta.len == tb.len && at == ta.len, "%s differ at byte %zu:\n  A: %.200s\n  B: %.200s",
                      sections[sec], at, ta.s + line, tb.s + line);
    }
    free(ta.s);
    free(tb.s);
}

/* ---- tests ---- */

START_TEST(random_run_replays_into_the_same_heap)
{
    rng = 0x9e3779b97f4a7c15ull * (uint64_t)(_i + 1);
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    cfg.thresholds[0] = 40; /* automatic collections, finalizers and callbacks happen often */
    cfg.thresholds[1] = 4;
    cfg.thresholds[2] = 4;
    cfg.max_objects = 120;  /* and so do refusals for the limits */
    cfg.max_bytes = 16 * 1024;
    hl_heap *a = hl_heap_new(&cfg);
    ck_assert_ptr_nonnull(a);
    t_log *log = t_log_new();
    hl_heap_set_recorder(a, t_log_record, log);
    size_t ok = 0;
    for (int i = 0; i < 3000; i++) {
        size_t before = log->n;
        hl_status st = random_op(a);
        ok += st == HL_OK;
        ck_assert_uint_eq(log->n - before, st == HL_OK ? 1 : 0);
    }
    ck_assert_msg(ok > 1000 && ok < 2800, "%zu of 3000 calls succeeded: too one-sided", ok);
    ck_assert_heap_ok(a);
    /* The same configuration, with the arena phase a's first arena took. */
    hl_heap_config_get(a, &cfg);
    hl_heap *b = hl_heap_new(&cfg);
    ck_assert_ptr_nonnull(b);
    t_log *b_log = t_log_new();
    hl_heap_set_recorder(b, t_log_record, b_log);
    t_replay_ok(b, log, 0, log->n);
    ck_assert_uint_eq(b_log->n, 0);
    ck_assert_heap_ok(b);
    assert_same_heap(a, b);
    t_log_free(log);
    t_log_free(b_log);
    hl_heap_delete(a);
    hl_heap_delete(b);
}
END_TEST

/* A journal with a record of every kind: each type created, each ref and
 * unref op, weakrefs, collections, configuration and freezing. */
static t_log *every_kind_log(void)
{
    t_log *log = t_log_new();
    hl_heap *h = t_heap();
    hl_heap_set_recorder(h, t_log_record, log);
    hl_create_spec s = {.type = HL_FLOAT, .float_value = -0.1};
    t_create(h, &s, "f");
    s = (hl_create_spec){.type = HL_STR, .text = "ключ 🙂", .text_len = strlen("ключ 🙂")};
    t_create(h, &s, NULL); /* freed at once */
    s = (hl_create_spec){.type = HL_STR, .text = "s", .text_len = 1};
    uint64_t str = t_create(h, &s, "s");
    s = (hl_create_spec){.type = HL_BYTES, .text = "a\0b", .text_len = 3};
    t_create(h, &s, "b");
    s = (hl_create_spec){.type = HL_BYTES, .text_len = 100};
    t_create(h, &s, "z");
    uint64_t i = t_int(h, "i", 1000);
    uint64_t items[] = {i, str};
    s = (hl_create_spec){.type = HL_TUPLE, .items = items, .nitems = 2};
    t_create(h, &s, "t");
    s = (hl_create_spec){.type = HL_SET, .items = items, .nitems = 2};
    uint64_t set = t_create(h, &s, "st");
    uint64_t l = t_list(h, "l", items, 2);
    const char *ks[] = {"", "ü"};
    s = (hl_create_spec){.type = HL_DICT, .keys = ks, .values = items, .nkeys = 2};
    uint64_t d = t_create(h, &s, "d");
    const char *attrs[] = {"x", "y"};
    s = (hl_create_spec){.type = HL_INSTANCE, .class_name = "P", .finalizer = true, .resurrect = "back",
                         .keys = attrs, .values = items, .nkeys = 2};
    uint64_t o = t_create(h, &s, "o");
    ck_assert_status(hl_op_bind(h, "o2", o), HL_OK);
    const hl_ref_spec refs[] = {
        {.op = HL_REF_APPEND, .target = o},          {.op = HL_REF_SET_INDEX, .index = -1, .target = d},
        {.op = HL_REF_SET_KEY, .key = "k", .target = l}, {.op = HL_REF_SET_ATTR, .key = "z", .target = l},
        {.op = HL_REF_ADD_MEMBER, .target = o},
    };
    const uint64_t holders[] = {l, l, d, o, set};
    for (size_t k = 0; k < T_COUNT(refs); k++)
        ck_assert_status(hl_op_add_ref(h, holders[k], &refs[k]), HL_OK);
    const hl_unref_spec unrefs[] = {
        {.op = HL_UNREF_INDEX, .index = 0}, {.op = HL_UNREF_KEY, .key = ""},
        {.op = HL_UNREF_ATTR, .key = "x"},  {.op = HL_UNREF_TARGET, .target = o},
    };
    const uint64_t unholders[] = {l, d, o, set};
    for (size_t k = 0; k < T_COUNT(unrefs); k++)
        ck_assert_status(hl_op_remove_ref(h, unholders[k], &unrefs[k]), HL_OK);
    ck_assert_status(hl_op_weakref(h, o, true, "w", NULL), HL_OK);
    ck_assert_status(hl_op_unbind(h, "o"), HL_OK);
    hl_gc_config c = {.set_enabled = true, .enabled = false, .nthresholds = 2, .thresholds = {5, 7}};
    ck_assert_status(hl_op_gc_config(h, &c), HL_OK);
    ck_assert_status(hl_op_freeze(h), HL_OK);
    ck_assert_status(hl_op_unfreeze(h), HL_OK);
    uint64_t cycle = t_list(h, "cycle", NULL, 0);
    t_append(h, cycle, cycle);
    ck_assert_status(hl_op_unbind(h, "cycle"), HL_OK);
    ck_assert_uint_eq(t_collect(h, 2), 1);
    hl_heap_delete(h);
    return log;
}

/* Replays the len bytes at rec into h and asserts they were refused as
 * malformed without any change to h. */
static void assert_refused(hl_heap *h, const unsigned char *rec, size_t len)
{
    static t_heap_snapshot before, after;
    char why[256];
    t_snapshot(h, &before);
    unsigned char *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, rec, len);
    hl_replay_status st = hl_oplog_replay(h, copy, len, why, sizeof why);
    free(copy);
    ck_assert_msg(st == HL_REPLAY_MALFORMED, "opcode %d, %zu bytes: status %d (%s)", rec[1], len, st, why);
    t_snapshot(h, &after);
    ck_assert_msg(t_snapshot_equal(&before, &after, why, sizeof why), "a refused record changed the heap: %s", why);
}

START_TEST(truncated_or_mislabelled_records_change_nothing)
{
    t_log *log = every_kind_log();
    hl_heap *h = t_heap();
    unsigned char buf[512];
    for (size_t r = 0; r < log->n; r++) {
        const unsigned char *rec = log->rec[r];
        size_t len = log->len[r];
        ck_assert_uint_le(len + 1, sizeof buf);
        for (size_t cut = 0; cut < len; cut++)
            assert_refused(h, rec, cut);
        memcpy(buf, rec, len);
        buf[len] = 0;
        assert_refused(h, buf, len + 1); /* a trailing byte */
        static const unsigned char opcodes[] = {0, 11, 0x81, 0xff};
        for (size_t k = 0; k < sizeof opcodes; k++) {
            buf[1] = opcodes[k];
            assert_refused(h, buf, len);
        }
        buf[1] = rec[1];
        buf[0] = 2; /* a format this code does not know */
        assert_refused(h, buf, len);
        t_replay_ok(h, log, r, r + 1);
    }
    ck_assert_heap_ok(h);
    t_log_free(log);
    hl_heap_delete(h);
}
END_TEST

/* Any byte of any record changed: replay may refuse, fail or diverge, but
 * never reads outside the record (run under a sanitizer) nor breaks the heap. */
START_TEST(damaged_bytes_never_break_the_heap)
{
    t_log *log = every_kind_log();
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    cfg.max_bytes = 1 << 20; /* a damaged size asks for no more than this */
    hl_heap *h = hl_heap_new(&cfg);
    ck_assert_ptr_nonnull(h);
    rng = 12345;
    char why[256];
    for (int round = 0; round < 4000; round++) {
        size_t r = below(log->n), len = log->len[r];
        unsigned char *copy = malloc(len);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, log->rec[r], len);
        for (uint64_t k = 1 + below(3); k > 0; k--)
            copy[below(len)] ^= (unsigned char)(1u << below(8));
        hl_replay_status st = hl_oplog_replay(h, copy, len, why, sizeof why);
        ck_assert_int_le(st, HL_REPLAY_DIVERGED);
        free(copy);
    }
    ck_assert_heap_ok(h);
    t_log_free(log);
    hl_heap_delete(h);
}
END_TEST

START_TEST(replay_reports_failures_and_divergence)
{
    t_log *log = every_kind_log();
    char why[256];
    /* The first record creates "f"; in a heap that already made an object
     * the new one gets another id. */
    hl_heap *h = t_heap();
    t_int(h, NULL, 5000);
    ck_assert_int_eq(hl_oplog_replay(h, log->rec[0], log->len[0], why, sizeof why), HL_REPLAY_DIVERGED);
    ck_assert_ptr_nonnull(strstr(why, "recorded 1"));
    hl_heap_delete(h);
    /* The bind of "o2" to the instance, replayed first, names an object
     * that does not exist yet. */
    size_t bind = 0;
    while (log->rec[bind][1] != 2) /* the opcode of bind */
        bind++;
    h = t_heap();
    ck_assert_int_eq(hl_oplog_replay(h, log->rec[bind], log->len[bind], why, sizeof why), HL_REPLAY_FAILED);
    ck_assert_ptr_nonnull(strstr(why, "HL_E_NO_OBJECT"));
    ck_assert_uint_eq(hl_heap_next_id(h), 1);
    ck_assert_int_eq(hl_oplog_replay(h, NULL, 0, NULL, 0), HL_REPLAY_MALFORMED);
    /* Zero-filled bytes (create, HL_BYTES, no content) of a size no
     * allocation could hold: refused, where the sizes used to wrap. */
    size_t z = 0;
    while (memcmp(log->rec[z], "\x01\x01\x03\x00", 4) != 0)
        z++;
    memset(log->rec[z] + 4, 0xff, 8);
    ck_assert_int_eq(hl_oplog_replay(h, log->rec[z], log->len[z], why, sizeof why), HL_REPLAY_FAILED);
    ck_assert_ptr_nonnull(strstr(why, "HL_E_NOMEM"));
    hl_heap_delete(h);
    t_log_free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oplog");
    TCase *tc = tcase_create("oplog");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, random_run_replays_into_the_same_heap, 0, 4);
    tcase_add_test(tc, truncated_or_mislabelled_records_change_nothing);
    tcase_add_test(tc, damaged_bytes_never_break_the_heap);
    tcase_add_test(tc, replay_reports_failures_and_divergence);
    suite_add_tcase(s, tc);
    return t_run(s);
}
