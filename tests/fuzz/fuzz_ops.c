/* fuzz_ops.c — structure-aware libFuzzer target for core/ops.h.
 *
 * The input bytes decode into a list of heap operations (one opcode byte,
 * then the operands that op needs, each taken from the input; a short input
 * reads zeros) applied to one fresh heap per input:
 *
 *   create of every type (int, float, str, bytes, tuple, list, dict, set,
 *   instance with attributes, __del__ and resurrection), bind, unbind, every
 *   add_ref and remove_ref form, weakrefs with and without callbacks,
 *   collect(0..2, and invalid generations), gc config (enable/disable,
 *   thresholds), freeze, unfreeze.
 *
 * Ids operands are small numbers mod the heap's next id, so they mostly
 * name objects that exist or did.  Names come from a fixed set of eight so
 * binds, unbinds and resurrections collide.
 *
 * Oracles, each aborts: hl_heap_check after every op; an op that returns an
 * error must have changed nothing (live objects, allocator bytes, names,
 * next id; ops.h: "A call that returns an error has changed nothing");
 * ASan/UBSan; LeakSanitizer after hl_heap_delete.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "ops.h"

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static uint8_t u8(reader *r)
{
    return r->p < r->end ? *r->p++ : 0;
}

static uint16_t u16(reader *r)
{
    uint16_t a = u8(r);
    return (uint16_t)(a | (uint16_t)u8(r) << 8);
}

static int64_t i64(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)u8(r) << (8 * i);
    return (int64_t)v;
}

static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
static const char *const keys[] = {"k0", "k1", "k2", "x", "y", "__dict__", "", "k0"};

static const char *name_of(reader *r)
{
    uint8_t b = u8(r);
    return b == 0xff ? NULL : names[b & 7];
}

static uint64_t id_of(reader *r, const hl_heap *h)
{
    uint8_t b = u8(r);
    if (b == 0xff)
        return 0;
    if (b == 0xfe)
        return UINT64_MAX;
    uint64_t next = hl_heap_next_id(h);
    return next > 1 ? 1 + b % (next - 1) : 1;
}

typedef struct snapshot {
    uint64_t objects, bytes, alloc_bytes, next_id;
    size_t names;
    uint64_t refs; /* sum of refcounts over live objects */
} snapshot;

static void snap(const hl_heap *h, snapshot *s)
{
    hl_heap_totals t;
    hl_heap_totals_get(h, &t);
    s->objects = t.objects;
    s->bytes = t.bytes;
    s->alloc_bytes = hl_alloc_bytes_in_use(hl_heap_allocator(h));
    s->next_id = hl_heap_next_id(h);
    s->names = hl_heap_name_count(h);
    s->refs = 0;
    for (uint64_t id = hl_heap_next_live_id(h, 0); id != 0; id = hl_heap_next_live_id(h, id)) {
        hl_object_info info;
        if (hl_heap_object_info(h, id, &info) == HL_OK)
            s->refs += info.refcount;
    }
}

static const char *opname[] = {"create-atom", "create-seq", "create-dict", "create-instance", "bind", "unbind",
                               "add_ref", "remove_ref", "weakref", "collect", "gc_config", "freeze", "unfreeze"};
#define NOPS 13

static void check(const hl_heap *h, int op, hl_status st, int step)
{
    char why[256];
    if (!hl_heap_check(h, why, sizeof why)) {
        fprintf(stderr, "fuzz_ops: hl_heap_check failed after op %d (%s) -> %s: %s\n", step, opname[op],
                hl_status_name(st), why);
        abort();
    }
}

static void count_event(void *ctx, const hl_event *ev)
{
    (void)ev;
    ++*(uint64_t *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, data + size};
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    cfg.max_objects = 3000;
    cfg.max_bytes = 2u << 20;
    /* small thresholds so automatic collections happen inside ops */
    uint8_t t0 = u8(&r);
    cfg.thresholds[0] = t0 % 16;
    cfg.thresholds[1] = 1 + t0 / 64;
    cfg.thresholds[2] = 2;
    hl_heap *h = hl_heap_new(&cfg);
    if (h == NULL)
        return 0;
    uint64_t events = 0;
    hl_heap_set_event_sink(h, count_event, &events);

    for (int step = 0; r.p < r.end && step < 200; step++) {
        int op = u8(&r) % NOPS;
        snapshot before, after;
        snap(h, &before);
        hl_status st = HL_OK;
        hl_create_result res;
        uint64_t ids[8];
        const char *ks[8];
        char text[64];
        switch (op) {
        case 0: { /* int, float, str, bytes */
            hl_create_spec s = {0};
            uint8_t t = u8(&r) % 4;
            s.type = (hl_type)t;
            s.int_value = i64(&r);
            s.float_value = (double)s.int_value / 3.0;
            size_t n = u8(&r) % sizeof text;
            for (size_t i = 0; i < n; i++)
                text[i] = (char)u8(&r);
            if (s.type == HL_STR || s.type == HL_BYTES) {
                s.text = text;
                s.text_len = n;
            }
            if (s.type == HL_BYTES && (n & 1)) { /* zero-filled, possibly raw-sized */
                s.text = NULL;
                s.text_len = u16(&r) % 2048;
            }
            st = hl_op_create(h, &s, name_of(&r), &res);
            break;
        }
        case 1: { /* tuple, list, set */
            static const hl_type seq[] = {HL_TUPLE, HL_LIST, HL_SET};
            hl_create_spec s = {.type = seq[u8(&r) % 3]};
            s.nitems = u8(&r) % 8;
            for (size_t i = 0; i < s.nitems; i++)
                ids[i] = id_of(&r, h);
            s.items = ids;
            st = hl_op_create(h, &s, name_of(&r), &res);
            break;
        }
        case 2: { /* dict */
            hl_create_spec s = {.type = HL_DICT};
            s.nkeys = u8(&r) % 8;
            for (size_t i = 0; i < s.nkeys; i++) {
                ks[i] = keys[u8(&r) & 7];
                ids[i] = id_of(&r, h);
            }
            s.keys = ks;
            s.values = ids;
            st = hl_op_create(h, &s, name_of(&r), &res);
            break;
        }
        case 3: { /* instance */
            hl_create_spec s = {.type = HL_INSTANCE};
            uint8_t f = u8(&r);
            s.class_name = (f & 1) ? "Node" : (f & 2) ? "Other" : NULL;
            s.finalizer = (f & 4) != 0;
            s.resurrect = (f & 8) ? names[(f >> 4) & 7] : NULL;
            s.nkeys = u8(&r) % 6;
            for (size_t i = 0; i < s.nkeys; i++) {
                ks[i] = keys[u8(&r) & 7];
                ids[i] = id_of(&r, h);
            }
            s.keys = ks;
            s.values = ids;
            st = hl_op_create(h, &s, name_of(&r), &res);
            break;
        }
        case 4: {
            const char *n = name_of(&r);
            st = hl_op_bind(h, n, id_of(&r, h));
            break;
        }
        case 5:
            st = hl_op_unbind(h, name_of(&r));
            break;
        case 6: {
            uint64_t id = id_of(&r, h);
            hl_ref_spec s = {.op = (hl_ref_op)(u8(&r) % 5)};
            s.index = (int8_t)u8(&r);
            s.key = (u8(&r) & 0x80) ? NULL : keys[u8(&r) & 7];
            s.target = id_of(&r, h);
            st = hl_op_add_ref(h, id, &s);
            break;
        }
        case 7: {
            uint64_t id = id_of(&r, h);
            hl_unref_spec s = {.op = (hl_unref_op)(u8(&r) % 4)};
            s.index = (int8_t)u8(&r);
            s.key = (u8(&r) & 0x80) ? NULL : keys[u8(&r) & 7];
            s.target = id_of(&r, h);
            st = hl_op_remove_ref(h, id, &s);
            break;
        }
        case 8: {
            uint64_t target = id_of(&r, h);
            uint8_t f = u8(&r);
            st = hl_op_weakref(h, target, f & 1, (f & 2) ? names[(f >> 2) & 7] : NULL, &res);
            break;
        }
        case 9: {
            hl_collect_result cr;
            uint8_t g = u8(&r);
            st = hl_op_collect(h, g < 250 ? g % 3 : (int)g - 252, &cr);
            break;
        }
        case 10: {
            hl_gc_config c = {0};
            uint8_t f = u8(&r);
            c.set_enabled = f & 1;
            c.enabled = (f & 2) != 0;
            c.nthresholds = (f >> 2) % 4;
            for (int i = 0; i < 3; i++)
                c.thresholds[i] = (f & 0x80) && i == 0 ? -1 : u8(&r) % 20;
            st = hl_op_gc_config(h, &c);
            break;
        }
        case 11:
            st = hl_op_freeze(h);
            break;
        case 12:
            st = hl_op_unfreeze(h);
            break;
        }
        check(h, op, st, step);
        if (st != HL_OK) {
            snap(h, &after);
            if (memcmp(&before, &after, sizeof before) != 0) {
                fprintf(stderr,
                        "fuzz_ops: op %d (%s) returned %s but changed the heap: objects %llu->%llu bytes %llu->%llu "
                        "names %zu->%zu next_id %llu->%llu refs %llu->%llu\n",
                        step, opname[op], hl_status_name(st), (unsigned long long)before.objects,
                        (unsigned long long)after.objects, (unsigned long long)before.bytes,
                        (unsigned long long)after.bytes, before.names, after.names,
                        (unsigned long long)before.next_id, (unsigned long long)after.next_id,
                        (unsigned long long)before.refs, (unsigned long long)after.refs);
                abort();
            }
        }
    }
    hl_heap_delete(h);
    return 0;
}
