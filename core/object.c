/* object.c — what every type answers alike: its size, its references in
 * tp_traverse order, its hash and equality (CPython's rules, so set
 * membership and list.remove pick the same objects as CPython does).
 */
#include "internal.h"

#include <math.h>
#include <string.h>

static const char *const type_names[HL_TYPE_COUNT] = {
    "int", "float", "str", "bytes", "tuple", "list", "dict", "set", "instance", "weakref",
};

const char *hl_type_name(hl_type t)
{
    return (unsigned)t < HL_TYPE_COUNT ? type_names[t] : "?";
}

bool hl_type_from_name(const char *name, hl_type *out)
{
    for (int t = 0; t < HL_TYPE_COUNT; t++) {
        if (strcmp(name, type_names[t]) == 0) {
            *out = (hl_type)t;
            return true;
        }
    }
    return false;
}

static size_t str_block_size(const hl_str *s)
{
    return hl_str_size(s->ascii ? 0 : s->kind, s->length, (hl_profile)s->ob.profile);
}

size_t hl_object_block_size(const hl_object *o)
{
    switch ((hl_type)o->type) {
    case HL_INT:
        return hl_int_sizeof(((const hl_int *)o)->value);
    case HL_FLOAT:
        return HL_SIZE_FLOAT;
    case HL_STR:
        return str_block_size((const hl_str *)o);
    case HL_BYTES:
        return 33 + ((const hl_bytes *)o)->length;
    case HL_TUPLE:
        return HL_SIZE_TUPLE_BASE + 8 * ((const hl_tuple *)o)->size;
    case HL_LIST:
        return HL_SIZE_LIST;
    case HL_DICT:
        return HL_SIZE_DICT;
    case HL_SET:
        return HL_SIZE_SET;
    case HL_INSTANCE:
        return hl_instance_block_size((hl_profile)o->profile);
    case HL_WEAKREF:
        return HL_SIZE_WEAKREF;
    }
    return 0;
}

size_t hl_object_sizeof(const hl_object *o)
{
    switch ((hl_type)o->type) {
    case HL_LIST:
        return hl_list_sizeof((const hl_list *)o);
    case HL_DICT:
        return hl_dict_sizeof((const hl_dict *)o);
    case HL_SET:
        return hl_set_sizeof((const hl_set *)o);
    default:
        return hl_object_block_size(o);
    }
}

int hl_object_traverse(hl_object *o, hl_visit_fn visit, void *ctx)
{
    int r = 0;
    switch ((hl_type)o->type) {
    case HL_TUPLE: {
        hl_tuple *t = (hl_tuple *)o;
        for (uint64_t i = t->size; i-- > 0 && r == 0;)
            r = visit(t->items[i], ctx);
        break;
    }
    case HL_LIST: {
        hl_list *l = (hl_list *)o;
        for (uint64_t i = l->size; i-- > 0 && r == 0;)
            r = visit(l->items[i], ctx);
        break;
    }
    case HL_DICT:
        r = hl_dict_traverse((hl_dict *)o, visit, ctx);
        break;
    case HL_SET: {
        hl_set *s = (hl_set *)o;
        for (uint64_t i = 0, left = s->used; left > 0 && r == 0; i++) {
            hl_object *k = s->table[i].key;
            if (k != NULL && s->table[i].hash != -1) {
                left--;
                r = visit(k, ctx);
            }
        }
        break;
    }
    case HL_INSTANCE: {
        hl_instance *in = (hl_instance *)o;
        /* slots past the class's keys are NULL: every slot in key order */
        for (uint32_t i = 0; i < HL_CLASS_MAX_ATTRS && r == 0; i++)
            if (in->values->slot[i] != NULL)
                r = visit(in->values->slot[i], ctx);
        break;
    }
    default:
        break;
    }
    return r;
}

/* ---- hashing: CPython's numeric and tuple hashes, pointer hash ---- */

#define HASH_BITS 61
#define HASH_MODULUS (((uint64_t)1 << HASH_BITS) - 1)
#define HASH_INF 314159

static int64_t fix_minus_one(int64_t x)
{
    return x == -1 ? -2 : x;
}

static int64_t hash_int(int64_t v)
{
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int64_t x = (int64_t)(m % HASH_MODULUS);
    return fix_minus_one(v < 0 ? -x : x);
}

static int64_t hash_double(double v)
{
    if (isinf(v))
        return v > 0 ? HASH_INF : -HASH_INF;
    int e;
    double m = frexp(v, &e);
    int sign = 1;
    if (m < 0) {
        sign = -1;
        m = -m;
    }
    uint64_t x = 0;
    while (m != 0.0) {
        x = ((x << 28) & HASH_MODULUS) | x >> (HASH_BITS - 28);
        m *= 268435456.0;
        e -= 28;
        uint64_t y = (uint64_t)m;
        m -= (double)y;
        x += y;
        if (x >= HASH_MODULUS)
            x -= HASH_MODULUS;
    }
    e = e >= 0 ? e % HASH_BITS : HASH_BITS - 1 - ((-1 - e) % HASH_BITS);
    x = ((x << e) & HASH_MODULUS) | x >> (HASH_BITS - e);
    x = x * (uint64_t)(int64_t)sign;
    return fix_minus_one((int64_t)x);
}

/* CPython hashes id(); heaplab hashes the arena-relative address instead of
 * the real one, so set layouts survive a restart (instances always live in
 * pools). */
static int64_t hash_pointer(const void *p)
{
    uint64_t y = hl_alloc_block_vaddr(p);
    y = (y >> 4) | (y << 60);
    return fix_minus_one((int64_t)y);
}

/* Deeper tuples are refused (CPython would raise RecursionError): hashing
 * recurses once per level and must not exhaust the C stack. */
#define HASH_MAX_DEPTH 500

static bool hash_at(const hl_object *o, int64_t *out, int depth);

static bool hash_tuple(const hl_tuple *t, int64_t *out, int depth)
{
    if (depth > HASH_MAX_DEPTH)
        return false;
    const uint64_t p1 = 11400714785074694791ull, p2 = 14029467366897019727ull,
                   p5 = 2870177450012600261ull;
    uint64_t acc = p5;
    for (uint64_t i = 0; i < t->size; i++) {
        int64_t lane;
        if (!hash_at(t->items[i], &lane, depth + 1))
            return false;
        acc += (uint64_t)lane * p2;
        acc = (acc << 31) | (acc >> 33);
        acc *= p1;
    }
    acc += t->size ^ (p5 ^ 3527539ull);
    *out = acc == (uint64_t)-1 ? 1546275796 : (int64_t)acc;
    return true;
}

bool hl_object_hash(const hl_object *o, int64_t *out)
{
    return hash_at(o, out, 0);
}

static bool hash_at(const hl_object *o, int64_t *out, int depth)
{
    switch ((hl_type)o->type) {
    case HL_INT:
        *out = hash_int(((const hl_int *)o)->value);
        return true;
    case HL_FLOAT:
        *out = hash_double(((const hl_float *)o)->value);
        return true;
    case HL_STR:
        *out = ((const hl_str *)o)->hash;
        return true;
    case HL_BYTES:
        *out = hl_hash_buffer(((const hl_bytes *)o)->data, ((const hl_bytes *)o)->length);
        return true;
    case HL_TUPLE:
        return hash_tuple((const hl_tuple *)o, out, depth);
    case HL_INSTANCE:
        *out = hash_pointer(o);
        return true;
    case HL_WEAKREF: {
        const hl_weakref *wr = (const hl_weakref *)o;
        return wr->target != NULL && hash_at(wr->target, out, depth + 1);
    }
    default:
        return false;
    }
}

/* ---- equality (==) ---- */

#define EQ_MAX_DEPTH 100

static bool equal(const hl_object *a, const hl_object *b, int depth);

static bool numeric_value(const hl_object *o, double *d, int64_t *i, bool *is_int)
{
    if (o->type == HL_INT) {
        *i = ((const hl_int *)o)->value;
        *is_int = true;
        return true;
    }
    if (o->type == HL_FLOAT) {
        *d = ((const hl_float *)o)->value;
        *is_int = false;
        return true;
    }
    return false;
}

static bool numbers_equal(const hl_object *a, const hl_object *b)
{
    double da = 0, db = 0;
    int64_t ia = 0, ib = 0;
    bool inta = false, intb = false;
    numeric_value(a, &da, &ia, &inta);
    numeric_value(b, &db, &ib, &intb);
    if (inta && intb)
        return ia == ib;
    if (!inta && !intb)
        return da == db;
    int64_t i = inta ? ia : ib;
    double d = inta ? db : da;
    /* Exact comparison, as CPython's float_richcompare does. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d))
        return false;
    return (int64_t)d == i;
}

static bool str_equal(const hl_str *a, const hl_str *b)
{
    return a->length == b->length && a->kind == b->kind &&
           memcmp(a->data, b->data, a->length * a->kind) == 0;
}

static bool items_equal(hl_object *const *a, hl_object *const *b, uint64_t n, int depth)
{
    for (uint64_t i = 0; i < n; i++)
        if (!equal(a[i], b[i], depth + 1))
            return false;
    return true;
}

typedef struct dict_eq_ctx {
    const hl_dict *other;
    int depth;
    bool equal;
} dict_eq_ctx;

static bool dict_entry_matches(void *ctx, hl_object *key, hl_object *value)
{
    dict_eq_ctx *c = ctx;
    hl_object *mine = hl_dict_get_str(c->other, (const hl_str *)key);
    c->equal = mine != NULL && equal(value, mine, c->depth + 1);
    return c->equal;
}

static bool set_subset(const hl_set *a, const hl_set *b)
{
    for (uint64_t i = 0; i <= a->mask; i++) {
        const hl_set_entry *e = &a->table[i];
        if (e->key != NULL && e->hash != -1 && !hl_set_contains(b, e->key, e->hash))
            return false;
    }
    return true;
}

static bool equal(const hl_object *a, const hl_object *b, int depth)
{
    if (a == b)
        return true;
    if (depth > EQ_MAX_DEPTH)
        return false;
    bool num_a = a->type == HL_INT || a->type == HL_FLOAT;
    bool num_b = b->type == HL_INT || b->type == HL_FLOAT;
    if (num_a || num_b)
        return num_a && num_b && numbers_equal(a, b);
    if (a->type != b->type)
        return false;
    switch ((hl_type)a->type) {
    case HL_STR:
        return str_equal((const hl_str *)a, (const hl_str *)b);
    case HL_BYTES: {
        const hl_bytes *x = (const hl_bytes *)a, *y = (const hl_bytes *)b;
        return x->length == y->length && memcmp(x->data, y->data, x->length) == 0;
    }
    case HL_TUPLE: {
        const hl_tuple *x = (const hl_tuple *)a, *y = (const hl_tuple *)b;
        return x->size == y->size && items_equal(x->items, y->items, x->size, depth);
    }
    case HL_LIST: {
        const hl_list *x = (const hl_list *)a, *y = (const hl_list *)b;
        return x->size == y->size && items_equal(x->items, y->items, x->size, depth);
    }
    case HL_DICT: {
        const hl_dict *x = (const hl_dict *)a, *y = (const hl_dict *)b;
        if (x->used != y->used)
            return false;
        dict_eq_ctx c = {y, depth, true};
        hl_dict_each(x, dict_entry_matches, &c);
        return c.equal;
    }
    case HL_SET: {
        const hl_set *x = (const hl_set *)a, *y = (const hl_set *)b;
        return x->used == y->used && set_subset(x, y);
    }
    case HL_WEAKREF: {
        const hl_weakref *x = (const hl_weakref *)a, *y = (const hl_weakref *)b;
        return x->target != NULL && y->target != NULL && equal(x->target, y->target, depth + 1);
    }
    default:
        return false;
    }
}

bool hl_object_equal(const hl_object *a, const hl_object *b)
{
    return equal(a, b, 0);
}
