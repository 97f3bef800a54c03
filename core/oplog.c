/* oplog.c — encoding successful operations as records, and replaying them.
 *
 * One function, codec_op, walks a record's layout in both directions: it
 * writes the fields of a decoded operation, or reads them into one, so the
 * encoder and the decoder cannot drift apart.  Reading trusts nothing:
 * every read is checked against the bytes left, counts are checked against
 * what the rest of the record could hold before anything is allocated, and
 * the whole record is decoded before the operation runs.
 */
#include "internal.h"
#include "oplog.h"
#include "oplog_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HL_OPLOG_VERSION 1

typedef enum hl_oplog_opcode {
    HL_OPLOG_CREATE = 1,
    HL_OPLOG_BIND,
    HL_OPLOG_UNBIND,
    HL_OPLOG_ADD_REF,
    HL_OPLOG_REMOVE_REF,
    HL_OPLOG_WEAKREF,
    HL_OPLOG_COLLECT,
    HL_OPLOG_GC_CONFIG,
    HL_OPLOG_FREEZE,
    HL_OPLOG_UNFREEZE,
} hl_oplog_opcode;

/* For the reasons replay gives. */
static const char *const op_names[] = {
    [HL_OPLOG_CREATE] = "create",         [HL_OPLOG_BIND] = "bind",
    [HL_OPLOG_UNBIND] = "unbind",         [HL_OPLOG_ADD_REF] = "add_ref",
    [HL_OPLOG_REMOVE_REF] = "remove_ref", [HL_OPLOG_WEAKREF] = "weakref",
    [HL_OPLOG_COLLECT] = "collect",       [HL_OPLOG_GC_CONFIG] = "gc_config",
    [HL_OPLOG_FREEZE] = "freeze",         [HL_OPLOG_UNFREEZE] = "unfreeze",
};

void hl_heap_set_recorder(hl_heap *h, hl_op_recorder fn, void *ctx)
{
    h->recorder = fn;
    h->recorder_ctx = ctx;
}

/* One operation with its arguments and the results replay verifies. */
typedef struct hl_oplog_op {
    hl_oplog_opcode opcode;
    hl_create_spec spec;
    const char *name;
    uint64_t id;            /* bind, add_ref, remove_ref; weakref: its target */
    hl_ref_spec ref;
    hl_unref_spec unref;
    bool callback;
    hl_gc_config gc;
    hl_create_result made;  /* create, weakref */
    hl_collect_result collect;
    /* Decoding only: the arrays spec points to, owned. */
    uint64_t *items;
    const char **keys;
    uint64_t *values;
} hl_oplog_op;

typedef struct hl_oplog_codec {
    bool writing;
    bool bad;       /* writing: nothing to record; reading: not a record */
    bool oom;       /* reading: an array could not be allocated */
    /* writing: the record so far, in small until it outgrows it */
    uint8_t *buf;
    size_t len, cap;
    uint8_t small[256];
    /* reading: the bytes left, and NUL-terminated copies of the strings.
     * Each string costs its u32 length in the record and one NUL here, so
     * the record's length is room enough. */
    const uint8_t *p;
    size_t left;
    char *strings;
    size_t strings_used, strings_cap;
} hl_oplog_codec;

static void put_bytes(hl_oplog_codec *c, const void *p, size_t n)
{
    if (c->bad || n == 0)
        return;
    if (n > c->cap - c->len) {
        if (n > SIZE_MAX / 2 - c->len) {
            c->bad = true;
            return;
        }
        size_t cap = c->cap * 2 > c->len + n ? c->cap * 2 : c->len + n;
        uint8_t *buf = c->buf == c->small ? malloc(cap) : realloc(c->buf, cap);
        if (buf == NULL) {
            c->bad = true;
            return;
        }
        if (c->buf == c->small)
            memcpy(buf, c->small, c->len);
        c->buf = buf;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, p, n);
    c->len += n;
}

static const uint8_t *get_bytes(hl_oplog_codec *c, size_t n)
{
    if (c->bad || n > c->left) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

/* ---- fields: each writes *v, or reads into *v ---- */

static void uint_field(hl_oplog_codec *c, uint64_t *v, size_t nbytes)
{
    uint8_t b[8];
    if (c->writing) {
        for (size_t i = 0; i < nbytes; i++)
            b[i] = (uint8_t)(*v >> (8 * i));
        put_bytes(c, b, nbytes);
        return;
    }
    const uint8_t *p = get_bytes(c, nbytes);
    *v = 0;
    for (size_t i = 0; p != NULL && i < nbytes; i++)
        *v |= (uint64_t)p[i] << (8 * i);
}

static void u64_field(hl_oplog_codec *c, uint64_t *v)
{
    uint_field(c, v, 8);
}

static void i64_field(hl_oplog_codec *c, int64_t *v)
{
    uint64_t u = (uint64_t)*v;
    uint_field(c, &u, 8);
    *v = (int64_t)u;
}

/* A small non-negative int (an enum, a generation, a count up to 3). */
static void u8_field(hl_oplog_codec *c, int *v)
{
    uint64_t u = (uint8_t)*v;
    uint_field(c, &u, 1);
    *v = (int)u;
}

static void bool_field(hl_oplog_codec *c, bool *v)
{
    uint64_t u = *v;
    uint_field(c, &u, 1);
    c->bad |= u > 1;
    *v = u == 1;
}

/* A length or count of things each at least unit bytes long in the record:
 * reading refuses one the rest of the record could not hold. */
static void count_field(hl_oplog_codec *c, size_t *n, size_t unit)
{
    uint64_t u = *n;
    c->bad |= c->writing && u > UINT32_MAX;
    uint_field(c, &u, 4);
    if (c->writing)
        return;
    c->bad |= u > c->left / unit;
    *n = c->bad ? 0 : (size_t)u;
}

/* Bytes that the operation takes with their length (str, bytes). */
static void text_field(hl_oplog_codec *c, const char **text, size_t *len)
{
    count_field(c, len, 1);
    if (c->writing)
        put_bytes(c, *text, *len);
    else
        *text = (const char *)get_bytes(c, *len);
}

/* A NUL-terminated string: a name, key or class name. */
static void str_field(hl_oplog_codec *c, const char **s)
{
    size_t n = c->writing && *s != NULL ? strlen(*s) : 0;
    const char *text = *s;
    text_field(c, &text, &n);
    if (c->writing || c->bad)
        return;
    if (text == NULL || memchr(text, '\0', n) != NULL || n >= c->strings_cap - c->strings_used) {
        c->bad = true;
        return;
    }
    char *copy = c->strings + c->strings_used;
    memcpy(copy, text, n);
    copy[n] = '\0';
    c->strings_used += n + 1;
    *s = copy;
}

static void opt_str_field(hl_oplog_codec *c, const char **s)
{
    bool present = *s != NULL;
    bool_field(c, &present);
    if (present)
        str_field(c, s);
}

static void *owned_array(hl_oplog_codec *c, size_t n, size_t size)
{
    if (c->writing || n == 0)
        return NULL;
    void *a = calloc(n, size);
    c->oom |= a == NULL;
    return a;
}

static void ids_field(hl_oplog_codec *c, hl_oplog_op *op)
{
    hl_create_spec *s = &op->spec;
    count_field(c, &s->nitems, 8);
    if ((op->items = owned_array(c, s->nitems, sizeof *op->items)) != NULL)
        s->items = op->items;
    for (size_t i = 0; i < s->nitems && !c->bad && !c->oom; i++) {
        uint64_t id = c->writing ? s->items[i] : 0;
        u64_field(c, &id);
        if (op->items != NULL)
            op->items[i] = id;
    }
}

static void pairs_field(hl_oplog_codec *c, hl_oplog_op *op)
{
    hl_create_spec *s = &op->spec;
    count_field(c, &s->nkeys, 4 + 8);
    op->keys = owned_array(c, s->nkeys, sizeof *op->keys);
    op->values = owned_array(c, s->nkeys, sizeof *op->values);
    if (op->keys != NULL && op->values != NULL) {
        s->keys = op->keys;
        s->values = op->values;
    }
    for (size_t i = 0; i < s->nkeys && !c->bad && !c->oom; i++) {
        const char *key = c->writing ? s->keys[i] : NULL;
        uint64_t value = c->writing ? s->values[i] : 0;
        str_field(c, &key);
        u64_field(c, &value);
        if (!c->writing) {
            op->keys[i] = key;
            op->values[i] = value;
        }
    }
}

static void spec_field(hl_oplog_codec *c, hl_oplog_op *op)
{
    hl_create_spec *s = &op->spec;
    int type = (int)s->type;
    bool content;
    uint64_t bits;
    u8_field(c, &type);
    s->type = (hl_type)type;
    switch (type) {
    case HL_INT:
        i64_field(c, &s->int_value);
        break;
    case HL_FLOAT:
        memcpy(&bits, &s->float_value, sizeof bits);
        u64_field(c, &bits);
        memcpy(&s->float_value, &bits, sizeof bits);
        break;
    case HL_STR:
        text_field(c, &s->text, &s->text_len);
        break;
    case HL_BYTES:
        /* Zero-filled bytes carry only their size, which may pass u32. */
        content = s->text != NULL;
        bool_field(c, &content);
        if (content) {
            text_field(c, &s->text, &s->text_len);
            break;
        }
        bits = s->text_len;
        u64_field(c, &bits);
        s->text_len = (size_t)bits;
        c->bad |= s->text_len != bits;
        break;
    case HL_TUPLE:
    case HL_LIST:
    case HL_SET:
        ids_field(c, op);
        break;
    case HL_INSTANCE:
        opt_str_field(c, &s->class_name);
        bool_field(c, &s->finalizer);
        opt_str_field(c, &s->resurrect);
        pairs_field(c, op);
        break;
    case HL_DICT:
        pairs_field(c, op);
        break;
    default: /* hl_op_create refuses weakrefs: never recorded */
        c->bad = true;
        break;
    }
}

/* The fields a ref or unref spec carries depend on its op: only those are
 * recorded, so a caller's unused (possibly unset) fields never are. */
enum { HL_OPLOG_INDEX = 1, HL_OPLOG_KEY = 2, HL_OPLOG_TARGET = 4 };

static unsigned ref_fields(int op)
{
    switch (op) {
    case HL_REF_APPEND:
    case HL_REF_ADD_MEMBER:
        return HL_OPLOG_TARGET;
    case HL_REF_SET_INDEX:
        return HL_OPLOG_INDEX | HL_OPLOG_TARGET;
    case HL_REF_SET_KEY:
    case HL_REF_SET_ATTR:
        return HL_OPLOG_KEY | HL_OPLOG_TARGET;
    default:
        return 0;
    }
}

static unsigned unref_fields(int op)
{
    switch (op) {
    case HL_UNREF_INDEX:
        return HL_OPLOG_INDEX;
    case HL_UNREF_KEY:
    case HL_UNREF_ATTR:
        return HL_OPLOG_KEY;
    case HL_UNREF_TARGET:
        return HL_OPLOG_TARGET;
    default:
        return 0;
    }
}

/* The op of a ref or unref spec and the fields that op carries; returns the op. */
static int slot_field(hl_oplog_codec *c, int op, unsigned (*fields_of)(int), int64_t *index, const char **key,
                      uint64_t *target)
{
    u8_field(c, &op);
    unsigned fields = fields_of(op);
    c->bad |= fields == 0;
    if (fields & HL_OPLOG_INDEX)
        i64_field(c, index);
    if (fields & HL_OPLOG_KEY)
        str_field(c, key);
    if (fields & HL_OPLOG_TARGET)
        u64_field(c, target);
    return op;
}

static void result_field(hl_oplog_codec *c, hl_create_result *made)
{
    u64_field(c, &made->id);
    bool_field(c, &made->alive);
}

/* The layout of a record: u8 version, u8 opcode, then per opcode. */
static void codec_op(hl_oplog_codec *c, hl_oplog_op *op)
{
    int version = HL_OPLOG_VERSION, opcode = (int)op->opcode;
    u8_field(c, &version);
    u8_field(c, &opcode);
    c->bad |= version != HL_OPLOG_VERSION;
    op->opcode = (hl_oplog_opcode)opcode;
    hl_gc_config *gc = &op->gc;
    switch (opcode) {
    case HL_OPLOG_CREATE:
        spec_field(c, op);
        opt_str_field(c, &op->name);
        result_field(c, &op->made);
        break;
    case HL_OPLOG_BIND:
        str_field(c, &op->name);
        u64_field(c, &op->id);
        break;
    case HL_OPLOG_UNBIND:
        str_field(c, &op->name);
        break;
    case HL_OPLOG_ADD_REF:
        u64_field(c, &op->id);
        op->ref.op = (hl_ref_op)slot_field(c, (int)op->ref.op, ref_fields, &op->ref.index, &op->ref.key,
                                           &op->ref.target);
        break;
    case HL_OPLOG_REMOVE_REF:
        u64_field(c, &op->id);
        op->unref.op = (hl_unref_op)slot_field(c, (int)op->unref.op, unref_fields, &op->unref.index,
                                               &op->unref.key, &op->unref.target);
        break;
    case HL_OPLOG_WEAKREF:
        u64_field(c, &op->id);
        bool_field(c, &op->callback);
        opt_str_field(c, &op->name);
        result_field(c, &op->made);
        break;
    case HL_OPLOG_COLLECT:
        u8_field(c, &op->collect.generation);
        u64_field(c, &op->collect.collected);
        u64_field(c, &op->collect.uncollectable);
        break;
    case HL_OPLOG_GC_CONFIG:
        bool_field(c, &gc->set_enabled);
        bool_field(c, &gc->enabled);
        u8_field(c, &gc->nthresholds);
        c->bad |= gc->nthresholds > 3;
        for (int i = 0; i < gc->nthresholds && !c->bad; i++) {
            uint64_t t = (uint32_t)gc->thresholds[i];
            uint_field(c, &t, 4);
            gc->thresholds[i] = (int)t;
        }
        break;
    case HL_OPLOG_FREEZE:
    case HL_OPLOG_UNFREEZE:
        break;
    default:
        c->bad = true;
        break;
    }
    c->bad |= !c->writing && c->left != 0;
}

/* ---- recording ---- */

static void record(hl_heap *h, hl_oplog_op *op)
{
    if (h->recorder == NULL)
        return;
    hl_oplog_codec c = {.writing = true, .buf = c.small, .cap = sizeof c.small};
    codec_op(&c, op);
    h->recorder(h->recorder_ctx, c.bad ? NULL : c.buf, c.bad ? 0 : c.len);
    if (c.buf != c.small)
        free(c.buf);
}

void hl_oplog_note_create(hl_heap *h, const hl_create_spec *spec, const char *name, const hl_create_result *res)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_CREATE, .spec = *spec, .name = name, .made = *res};
    record(h, &op);
}

void hl_oplog_note_bind(hl_heap *h, const char *name, uint64_t id)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_BIND, .name = name, .id = id};
    record(h, &op);
}

void hl_oplog_note_unbind(hl_heap *h, const char *name)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_UNBIND, .name = name};
    record(h, &op);
}

void hl_oplog_note_add_ref(hl_heap *h, uint64_t id, const hl_ref_spec *spec)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_ADD_REF, .id = id, .ref = *spec};
    record(h, &op);
}

void hl_oplog_note_remove_ref(hl_heap *h, uint64_t id, const hl_unref_spec *spec)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_REMOVE_REF, .id = id, .unref = *spec};
    record(h, &op);
}

void hl_oplog_note_weakref(hl_heap *h, uint64_t target, bool callback, const char *name,
                           const hl_create_result *res)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_WEAKREF, .id = target, .callback = callback, .name = name, .made = *res};
    record(h, &op);
}

void hl_oplog_note_collect(hl_heap *h, const hl_collect_result *res)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_COLLECT, .collect = *res};
    record(h, &op);
}

void hl_oplog_note_gc_config(hl_heap *h, const hl_gc_config *cfg)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_GC_CONFIG, .gc = *cfg};
    record(h, &op);
}

void hl_oplog_note_freeze(hl_heap *h)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_FREEZE};
    record(h, &op);
}

void hl_oplog_note_unfreeze(hl_heap *h)
{
    hl_oplog_op op = {.opcode = HL_OPLOG_UNFREEZE};
    record(h, &op);
}

/* ---- replaying ---- */

__attribute__((format(printf, 4, 5))) static hl_replay_status say(char *why, size_t cap, hl_replay_status st,
                                                                   const char *fmt, ...)
{
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return st;
}

static hl_status apply(hl_heap *h, const hl_oplog_op *op, hl_create_result *made, hl_collect_result *collect)
{
    switch (op->opcode) {
    case HL_OPLOG_CREATE:
        return hl_op_create(h, &op->spec, op->name, made);
    case HL_OPLOG_BIND:
        return hl_op_bind(h, op->name, op->id);
    case HL_OPLOG_UNBIND:
        return hl_op_unbind(h, op->name);
    case HL_OPLOG_ADD_REF:
        return hl_op_add_ref(h, op->id, &op->ref);
    case HL_OPLOG_REMOVE_REF:
        return hl_op_remove_ref(h, op->id, &op->unref);
    case HL_OPLOG_WEAKREF:
        return hl_op_weakref(h, op->id, op->callback, op->name, made);
    case HL_OPLOG_COLLECT:
        return hl_op_collect(h, op->collect.generation, collect);
    case HL_OPLOG_GC_CONFIG:
        return hl_op_gc_config(h, &op->gc);
    case HL_OPLOG_FREEZE:
        return hl_op_freeze(h);
    case HL_OPLOG_UNFREEZE:
        return hl_op_unfreeze(h);
    }
    return HL_E_INVALID;
}

static hl_replay_status verify(const hl_oplog_op *op, const hl_create_result *made, const hl_collect_result *got,
                               char *why, size_t cap)
{
    const hl_create_result *want = &op->made;
    if ((op->opcode == HL_OPLOG_CREATE || op->opcode == HL_OPLOG_WEAKREF) &&
        (made->id != want->id || made->alive != want->alive))
        return say(why, cap, HL_REPLAY_DIVERGED, "%s made id %llu (%s), recorded %llu (%s)", op_names[op->opcode],
                   (unsigned long long)made->id, made->alive ? "alive" : "freed", (unsigned long long)want->id,
                   want->alive ? "alive" : "freed");
    const hl_collect_result *recorded = &op->collect;
    if (op->opcode == HL_OPLOG_COLLECT &&
        (got->collected != recorded->collected || got->uncollectable != recorded->uncollectable))
        return say(why, cap, HL_REPLAY_DIVERGED, "collect freed %llu, %llu uncollectable; recorded %llu, %llu",
                   (unsigned long long)got->collected, (unsigned long long)got->uncollectable,
                   (unsigned long long)recorded->collected, (unsigned long long)recorded->uncollectable);
    return HL_REPLAY_OK;
}

hl_replay_status hl_oplog_replay(hl_heap *h, const void *record, size_t len, char *why, size_t why_cap)
{
    if (record == NULL || len < 2)
        return say(why, why_cap, HL_REPLAY_MALFORMED, "a record has at least 2 bytes, got %zu", len);
    hl_oplog_codec c = {.p = record, .left = len, .strings = malloc(len), .strings_cap = len};
    hl_oplog_op op = {0};
    c.oom = c.strings == NULL;
    if (!c.oom)
        codec_op(&c, &op);
    hl_replay_status st;
    if (c.oom) {
        st = say(why, why_cap, HL_REPLAY_FAILED, "decoding: %s", hl_status_name(HL_E_NOMEM));
    } else if (c.bad) {
        st = say(why, why_cap, HL_REPLAY_MALFORMED, "not a format-%d record (opcode %d, %zu of %zu bytes read)",
                 HL_OPLOG_VERSION, ((const uint8_t *)record)[1], len - c.left, len);
    } else {
        /* What the replayed call does is already in the journal. */
        hl_op_recorder recorder = h->recorder;
        h->recorder = NULL;
        hl_create_result made = {0};
        hl_collect_result collect = {0};
        hl_status s = apply(h, &op, &made, &collect);
        h->recorder = recorder;
        st = s != HL_OK ? say(why, why_cap, HL_REPLAY_FAILED, "%s: %s", op_names[op.opcode], hl_status_name(s))
                        : verify(&op, &made, &collect, why, why_cap);
    }
    free(op.items);
    free(op.keys);
    free(op.values);
    free(c.strings);
    return st;
}
