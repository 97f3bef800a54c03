/* render.c — JSON views of a heap; see render.h. */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *id_json(uint64_t id)
{
    return json_integer((json_int_t)id);
}

static const char *generation_name(int g)
{
    return g == 3 ? "permanent" : NULL;
}

static json_t *atom_value(const hl_heap *h, const hl_object_info *info)
{
    int64_t i;
    double d;
    switch (info->type) {
    case HL_INT:
        hl_heap_int_value(h, info->id, &i);
        return json_integer(i);
    case HL_FLOAT:
        hl_heap_float_value(h, info->id, &d);
        return json_real(d);
    case HL_STR:
    case HL_BYTES: {
        size_t len = 0;
        hl_heap_text_value(h, info->id, NULL, 0, &len);
        char *buf = malloc(len + 1);
        if (buf == NULL)
            return json_null();
        hl_heap_text_value(h, info->id, buf, len, &len);
        json_t *v = json_stringn(buf, len);  /* NULL for bytes that are not UTF-8 */
        free(buf);
        return v != NULL ? v : json_null();
    }
    default:
        return NULL;
    }
}

typedef struct refs_ctx {
    json_t *referents;
    json_t *items;   /* array (list, tuple, set) or object (dict, instance) */
} refs_ctx;

static bool collect_ref(void *ctx, const hl_ref *r)
{
    refs_ctx *c = ctx;
    json_array_append_new(c->referents, id_json(r->target));
    switch (r->kind) {
    case HL_SLOT_INDEX:
    case HL_SLOT_MEMBER:
        json_array_append_new(c->items, id_json(r->target));
        break;
    case HL_SLOT_KEY:
    case HL_SLOT_ATTR:
        json_object_set_new(c->items, r->name, id_json(r->target));
        break;
    case HL_SLOT_DICT_KEY:
        break;
    }
    return true;
}

typedef struct referrer_scan {
    uint64_t target;
    json_t *found;
    uint64_t current;
    bool hit;
} referrer_scan;

static bool note_referrer(void *ctx, const hl_ref *r)
{
    referrer_scan *s = ctx;
    if (r->target == s->target && !s->hit) {
        json_array_append_new(s->found, id_json(s->current));
        s->hit = true;
    }
    return !s->hit;
}

static json_t *referrers_of(const hl_heap *h, uint64_t id)
{
    referrer_scan s = {id, json_array(), 0, false};
    for (uint64_t o = hl_heap_next_live_id(h, 0); o != 0; o = hl_heap_next_live_id(h, o)) {
        s.current = o;
        s.hit = false;
        hl_heap_referents(h, o, note_referrer, &s);
    }
    return s.found;
}

typedef struct names_of_ctx {
    uint64_t id;
    json_t *names;
} names_of_ctx;

static bool note_name(void *ctx, const char *name, uint64_t id)
{
    names_of_ctx *c = ctx;
    if (id == c->id)
        json_array_append_new(c->names, json_string(name));
    return true;
}

static void add_structure(const hl_heap *h, json_t *j, const hl_object_info *info)
{
    bool keyed = info->type == HL_DICT || info->type == HL_INSTANCE;
    refs_ctx c = {json_array(), keyed ? json_object() : json_array()};
    hl_heap_referents(h, info->id, collect_ref, &c);
    json_object_set_new(j, "referents", c.referents);
    if (info->type == HL_INSTANCE) {
        json_object_set_new(j, "class", json_string(info->class_name));
        json_object_set_new(j, "attrs", c.items);
    } else if (info->type >= HL_TUPLE && info->type != HL_WEAKREF) {
        json_object_set_new(j, "items", c.items);
    } else {
        json_decref(c.items);
    }
    if (info->type == HL_WEAKREF) {
        uint64_t target;
        bool cb;
        hl_heap_weakref_target(h, info->id, &target, &cb);
        json_object_set_new(j, "target", target ? id_json(target) : json_null());
        json_object_set_new(j, "callback", json_boolean(cb));
    }
}

json_t *hl_render_object(const hl_heap *h, uint64_t id, bool full)
{
    hl_object_info info;
    if (hl_heap_object_info(h, id, &info) != HL_OK)
        return NULL;
    json_t *j = json_object();
    char addr[32];
    snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)info.address);
    json_object_set_new(j, "id", id_json(info.id));
    json_object_set_new(j, "type", json_string(hl_type_name(info.type)));
    json_object_set_new(j, "alive", json_true());
    json_object_set_new(j, "refcount", json_integer(info.refcount));
    if (info.immortal)
        json_object_set_new(j, "immortal", json_true());
    json_object_set_new(j, "size", json_integer((json_int_t)info.size));
    json_object_set_new(j, "tracked", json_boolean(info.tracked));
    const char *gname = generation_name(info.generation);
    json_object_set_new(j, "generation",
                        gname ? json_string(gname) : info.generation < 0 ? json_null() : json_integer(info.generation));
    json_object_set_new(j, "address", json_string(addr));
    json_object_set_new(j, "size_class", info.size_class < 0 ? json_null() : json_integer(info.size_class));
    json_object_set_new(j, "length", json_integer((json_int_t)info.length));
    json_t *value = atom_value(h, &info);
    if (value != NULL)
        json_object_set_new(j, "value", value);
    if (info.type == HL_INSTANCE) {
        json_object_set_new(j, "finalizer", json_boolean(info.finalizer));
        json_object_set_new(j, "finalized", json_boolean(info.finalized));
    }
    add_structure(h, j, &info);
    if (full) {
        json_object_set_new(j, "referrers", referrers_of(h, id));
        names_of_ctx nc = {id, json_array()};
        hl_heap_names(h, note_name, &nc);
        json_object_set_new(j, "names", nc.names);
    }
    return j;
}

json_t *hl_render_gc(const hl_heap *h)
{
    hl_gc_state g;
    hl_heap_gc_state(h, &g);
    json_t *thresholds = json_array(), *count = json_array(), *stats = json_array(), *sizes = json_array();
    for (int i = 0; i < 3; i++) {
        json_array_append_new(thresholds, json_integer(g.thresholds[i]));
        json_array_append_new(count, json_integer(g.count[i]));
        json_array_append_new(stats, json_pack("{s:I,s:I,s:I}", "collections", (json_int_t)g.stats[i].collections,
                                               "collected", (json_int_t)g.stats[i].collected, "uncollectable",
                                               (json_int_t)g.stats[i].uncollectable));
        json_array_append_new(sizes, json_integer((json_int_t)g.generation_size[i]));
    }
    json_t *j = json_object();
    json_object_set_new(j, "enabled", json_boolean(g.enabled));
    json_object_set_new(j, "thresholds", thresholds);
    json_object_set_new(j, "count", count);
    json_object_set_new(j, "stats", stats);
    json_object_set_new(j, "frozen", json_integer((json_int_t)g.frozen));
    json_object_set_new(j, "generation_sizes", sizes);
    json_object_set_new(j, "long_lived_total", json_integer((json_int_t)g.long_lived_total));
    json_object_set_new(j, "long_lived_pending", json_integer((json_int_t)g.long_lived_pending));
    json_object_set_new(j, "last_collection", g.last.generation < 0 ? json_null() : hl_render_collect(&g.last));
    return j;
}

json_t *hl_render_collect(const hl_collect_result *r)
{
    return json_pack("{s:I,s:I,s:i,s:I,s:I,s:b}", "collected", (json_int_t)r->collected, "uncollectable",
                     (json_int_t)r->uncollectable, "generation", r->generation, "duration_us",
                     (json_int_t)(r->duration_ns / 1000), "examined", (json_int_t)r->examined, "automatic",
                     r->automatic);
}

static json_t *arenas_json(const hl_alloc_stats *s)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "allocated", (json_int_t)s->arenas_allocated_total, "reclaimed",
                     (json_int_t)s->arenas_reclaimed, "highwater", (json_int_t)s->arenas_highwater, "in_use",
                     (json_int_t)s->arenas_in_use, "size", (json_int_t)HL_ALLOC_ARENA_SIZE);
}

static json_t *pools_json(const hl_alloc_stats *s)
{
    return json_pack("{s:I,s:I,s:I}", "size", (json_int_t)HL_ALLOC_POOL_SIZE, "in_use", (json_int_t)s->pools_in_use,
                     "empty", (json_int_t)s->pools_empty);
}

json_t *hl_render_memory(const hl_heap *h)
{
    hl_alloc_stats s;
    hl_alloc_get_stats(hl_heap_allocator(h), &s);
    json_t *classes = json_array();
    for (int i = 0; i < HL_ALLOC_NUM_CLASSES; i++) {
        if (s.classes[i].pools == 0)
            continue;
        json_array_append_new(classes, json_pack("{s:i,s:I,s:I,s:I,s:I}", "index", i, "size",
                                                 (json_int_t)hl_alloc_class_size(i), "pools",
                                                 (json_int_t)s.classes[i].pools, "used_blocks",
                                                 (json_int_t)s.classes[i].used_blocks, "free_blocks",
                                                 (json_int_t)s.classes[i].free_blocks));
    }
    json_t *j = json_object();
    json_object_set_new(j, "arenas", arenas_json(&s));
    json_object_set_new(j, "pools", pools_json(&s));
    json_object_set_new(j, "size_classes", classes);
    json_object_set_new(j, "large",
                        json_pack("{s:I,s:I}", "count", (json_int_t)s.raw_count, "bytes", (json_int_t)s.raw_bytes));
    json_object_set_new(j, "bytes_in_use", json_integer((json_int_t)(s.bytes_in_allocated_blocks + s.raw_bytes)));
    json_object_set_new(j, "allocated_blocks", json_integer((json_int_t)s.allocated_blocks));
    json_object_set_new(
        j, "overhead",
        json_pack("{s:I,s:I,s:I,s:I,s:I}", "available_blocks", (json_int_t)s.bytes_in_available_blocks, "unused_pools",
                  (json_int_t)s.bytes_in_unused_pools, "pool_headers", (json_int_t)s.bytes_lost_pool_headers,
                  "quantization", (json_int_t)s.bytes_lost_quantization, "arena_alignment",
                  (json_int_t)s.bytes_lost_arena_alignment));
    return j;
}

typedef struct map_ctx {
    json_t *arenas;
    json_t *pools;
    int64_t arena;
} map_ctx;

static void map_pool(void *ctx, uint32_t arena, uint32_t pool, int size_class, uint32_t used, uint32_t capacity)
{
    (void)pool;
    map_ctx *m = ctx;
    if ((int64_t)arena != m->arena) {
        m->pools = json_array();
        json_array_append_new(m->arenas, json_pack("{s:i,s:o}", "arena", (int)arena, "pools", m->pools));
        m->arena = arena;
    }
    json_array_append_new(m->pools, json_pack("[i,i,i]", size_class, (int)used, (int)capacity));
}

json_t *hl_render_arena_map(const hl_heap *h)
{
    map_ctx m = {json_array(), NULL, -1};
    hl_alloc_visit_pools(hl_heap_allocator(h), map_pool, &m);
    return m.arenas;
}

json_t *hl_render_memory_summary(const hl_heap *h)
{
    hl_alloc_stats s;
    hl_alloc_get_stats(hl_heap_allocator(h), &s);
    return json_pack("{s:I,s:I,s:I,s:I}", "arenas_in_use", (json_int_t)s.arenas_in_use, "pools_in_use",
                     (json_int_t)s.pools_in_use, "bytes_in_use",
                     (json_int_t)(s.bytes_in_allocated_blocks + s.raw_bytes), "large_blocks",
                     (json_int_t)s.raw_count);
}

char *hl_render_memory_text(const hl_heap *h)
{
    hl_alloc_stats s;
    hl_alloc_get_stats(hl_heap_allocator(h), &s);
    int n = hl_alloc_format_stats(&s, NULL, 0);
    if (n < 0)
        return NULL;
    char *text = malloc((size_t)n + 1);
    if (text != NULL)
        hl_alloc_format_stats(&s, text, (size_t)n + 1);
    return text;
}

static bool add_name(void *ctx, const char *name, uint64_t id)
{
    json_object_set_new(ctx, name, id_json(id));
    return true;
}

json_t *hl_render_names(const hl_heap *h)
{
    json_t *names = json_object();
    hl_heap_names(h, add_name, names);
    return names;
}
