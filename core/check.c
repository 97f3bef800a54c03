/* check.c — hl_heap_check: the invariants every test relies on.
 *
 *  1. every reference (names, container slots, caches) points to a live
 *     object, and every refcount equals the references counted;
 *  2. the GC lists are well linked, hold only live tracked containers of
 *     the generation they claim, and hold all of them;
 *  3. weakrefs point to live objects whose weakref lists hold them;
 *  4. the allocator is consistent and its blocks in use, per size class,
 *     are exactly the blocks of live objects, their variable parts and the
 *     parked free-list objects.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct checker {
    const hl_heap *h;
    uint32_t *refs;     /* indexed by id */
    uint64_t blocks[HL_ALLOC_NUM_CLASSES];
    uint64_t raw;
    char *why;
    size_t why_cap;
    bool failed;
} checker;

static bool fail(checker *c, const char *fmt, ...)
{
    if (!c->failed && c->why_cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->why_cap, fmt, ap);
        va_end(ap);
    }
    c->failed = true;
    return false;
}

static bool is_live(const checker *c, const hl_object *o)
{
    return o != NULL && o->id != 0 && hl_lookup(c->h, o->id) == o;
}

static void count_block(checker *c, size_t n)
{
    int cls = hl_alloc_size_class(n);
    if (cls < 0)
        c->raw++;
    else
        c->blocks[cls]++;
}

/* A list's item array may have shrunk in place (realloc keeps a block whose
 * class still fits), so its class is the pool's, not its size's. */
static void count_item_array(checker *c, const void *items, size_t n)
{
    hl_alloc_block_info info;
    if (hl_alloc_locate(c->h->alloc, items, n, &info))
        c->blocks[info.size_class]++;
    else
        count_block(c, n);
}

static int count_ref(hl_object *r, void *ctx)
{
    checker *c = ctx;
    if (!is_live(c, r))
        return fail(c, "a container refers to a freed object (%p)", (void *)r), 1;
    c->refs[r->id]++;
    return 0;
}

static bool count_name(void *ctx, const char *name, void *value)
{
    checker *c = ctx;
    hl_object *o = value;
    if (!is_live(c, o))
        return fail(c, "name '%s' is bound to a freed object", name);
    c->refs[o->id]++;
    return true;
}

static void count_storage(checker *c, hl_object *o)
{
    count_block(c, hl_object_block_size(o));
    switch ((hl_type)o->type) {
    case HL_LIST: {
        hl_list *l = (hl_list *)o;
        if (l->items != NULL)
            count_item_array(c, l->items, 8 * l->allocated);
        break;
    }
    case HL_DICT:
        if (((hl_dict *)o)->keys != NULL)
            count_block(c, hl_dict_storage_size((hl_dict *)o));
        break;
    case HL_SET: {
        hl_set *s = (hl_set *)o;
        if (s->table != s->smalltable)
            count_block(c, (s->mask + 1) * sizeof(hl_set_entry));
        break;
    }
    case HL_INSTANCE:
        count_block(c, HL_SIZE_INSTANCE_VALUES);
        break;
    default:
        break;
    }
}

static void check_weakref(checker *c, hl_weakref *wr)
{
    if (wr->target == NULL)
        return;
    if (!is_live(c, wr->target)) {
        fail(c, "weakref %llu points to a freed object", (unsigned long long)wr->ob.id);
        return;
    }
    hl_weakref **list = hl_weakref_list(wr->target);
    for (hl_weakref *w = list ? *list : NULL; w != NULL; w = w->next)
        if (w == wr)
            return;
    fail(c, "weakref %llu is missing from its target's list", (unsigned long long)wr->ob.id);
}

static void count_objects(checker *c)
{
    const hl_heap *h = c->h;
    for (uint64_t id = hl_idmap_next(&h->ids, 0); id != 0 && !c->failed; id = hl_idmap_next(&h->ids, id)) {
        hl_object *o = hl_lookup(h, id);
        if (o->id != id) {
            fail(c, "object %llu carries id %llu", (unsigned long long)id, (unsigned long long)o->id);
            return;
        }
        if (o->flags & HL_OF_STATIC)
            c->refs[id]++;
        hl_object_traverse(o, count_ref, c);
        count_storage(c, o);
        if (o->type == HL_WEAKREF)
            check_weakref(c, (hl_weakref *)o);
    }
}

static void compare_refcounts(checker *c)
{
    const hl_heap *h = c->h;
    for (uint64_t id = hl_idmap_next(&h->ids, 0); id != 0 && !c->failed; id = hl_idmap_next(&h->ids, id)) {
        hl_object *o = hl_lookup(h, id);
        if (o->refcnt != c->refs[id])
            fail(c, "%s %llu has refcount %u but %u references", hl_type_name((hl_type)o->type),
                 (unsigned long long)id, o->refcnt, c->refs[id]);
    }
}

static uint64_t check_gc_list(checker *c, const hl_gc_head *list, int gen)
{
    uint64_t n = 0;
    const hl_gc_head *prev = list;
    for (const hl_gc_head *g = hl_gc_next(list); g != list && !c->failed; g = hl_gc_next(g)) {
        hl_object *o = hl_from_gc((hl_gc_head *)g);
        if (hl_gc_prev(g) != prev || (g->next & HL_GC_NEXT_UNREACHABLE) || (g->prev & HL_GC_PREV_COLLECTING))
            fail(c, "generation %d's list is broken near object %llu", gen, (unsigned long long)o->id);
        else if (!is_live(c, o) || !hl_type_is_gc((hl_type)o->type))
            fail(c, "generation %d holds a freed or non-container object", gen);
        else if (o->gen != gen)
            fail(c, "object %llu is in generation %d but says %d", (unsigned long long)o->id, gen, o->gen);
        prev = g;
        n++;
    }
    return n;
}

static void check_gc(checker *c)
{
    const hl_heap *h = c->h;
    uint64_t listed = check_gc_list(c, &h->permanent, HL_GEN_PERMANENT);
    for (int i = 0; i < 3; i++)
        listed += check_gc_list(c, &h->gen[i].head, i);
    uint64_t tracked = 0;
    for (uint64_t id = hl_idmap_next(&h->ids, 0); id != 0; id = hl_idmap_next(&h->ids, id))
        tracked += hl_object_is_tracked(hl_lookup(h, id));
    if (!c->failed && listed != tracked)
        fail(c, "%llu objects are tracked but the generations list %llu", (unsigned long long)tracked,
             (unsigned long long)listed);
}

static void count_parked(checker *c)
{
    const hl_heap *h = c->h;
    for (int i = 0; i < h->list_nfree; i++)
        count_block(c, HL_SIZE_LIST);
    for (int i = 0; i < h->dict_nfree; i++)
        count_block(c, HL_SIZE_DICT);
    for (int i = 0; i < h->float_nfree; i++)
        count_block(c, HL_SIZE_FLOAT);
    for (int i = 0; i < h->keys_nfree; i++)
        count_block(c, hl_dict_keys_size_min());
    for (int i = 0; i < HL_TUPLE_FREELIST_SIZES; i++)
        for (hl_tuple *t = h->tuple_free[i]; t != NULL; t = (hl_tuple *)t->items[0])
            count_block(c, HL_SIZE_TUPLE_BASE + 8 * t->size);
}

static void check_allocator(checker *c)
{
    char why[160];
    if (hl_alloc_check(c->h->alloc, why, sizeof why) != HL_ALLOC_OK) {
        fail(c, "allocator: %s", why);
        return;
    }
    count_parked(c);
    hl_alloc_stats s;
    hl_alloc_get_stats(c->h->alloc, &s);
    for (int i = 0; i < HL_ALLOC_NUM_CLASSES && !c->failed; i++)
        if (s.classes[i].used_blocks != c->blocks[i])
            fail(c, "size class %d has %llu blocks in use but objects account for %llu", i,
                 (unsigned long long)s.classes[i].used_blocks, (unsigned long long)c->blocks[i]);
    uint64_t counted = s.bytes_in_allocated_blocks + s.raw_bytes, running = hl_alloc_bytes_in_use(c->h->alloc);
    if (!c->failed && counted != running)
        fail(c, "the allocator's running byte count (%llu) disagrees with its pools (%llu)",
             (unsigned long long)running, (unsigned long long)counted);
    if (!c->failed && s.raw_count != c->raw)
        fail(c, "%llu raw blocks are allocated but objects account for %llu", (unsigned long long)s.raw_count,
             (unsigned long long)c->raw);
}

bool hl_heap_check(const hl_heap *h, char *why, size_t why_cap)
{
    checker c = {.h = h, .why = why, .why_cap = why_cap};
    if (why_cap > 0)
        why[0] = '\0';
    c.refs = calloc(h->last_id + 1, sizeof *c.refs);
    if (c.refs == NULL)
        return fail(&c, "out of memory while checking");
    uint64_t by_type = 0;
    for (int t = 0; t < HL_TYPE_COUNT; t++)
        by_type += h->live_by_type[t];
    if (by_type != h->ids.live)
        fail(&c, "per-type counts (%llu) disagree with live objects (%llu)", (unsigned long long)by_type,
             (unsigned long long)h->ids.live);
    hl_strmap_each(&h->names, count_name, &c);
    if (!c.failed)
        count_objects(&c);
    if (!c.failed)
        compare_refcounts(&c);
    if (!c.failed)
        check_gc(&c);
    if (!c.failed)
        check_allocator(&c);
    free(c.refs);
    return !c.failed;
}
