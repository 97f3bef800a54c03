/* object.h — how heaplab objects are laid out in allocator blocks.
 *
 * Promise: every object lives in one block of its heap's allocator, and the
 * block is requested at the size CPython 3.11 (64-bit) requests for the equal
 * Python value, so it lands in the same pymalloc size class.  Container
 * objects (tuple, list, dict, set, instance, weakref) start their block with a
 * 16-byte GC header exactly like PyGC_Head; the hl_object that follows is
 * 16 bytes like ob_refcnt + ob_type.  Variable parts (list item arrays, dict
 * key tables, set tables, instance attribute arrays) are separate blocks, as
 * in CPython.  This header is internal to core/.
 *
 *      block:  [ hl_gc_head (GC types only) | hl_object | type fields ... ]
 *                                           ^ the object's "address"
 */
#ifndef HL_OBJECT_H
#define HL_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"


/* PyGC_Head: next == 0 means untracked.  Between collections prev holds the
 * back link with two flag bits below it; during a collection it holds
 * gc_refs << 2 and next's low bit marks tentatively unreachable objects. */
typedef struct hl_gc_head {
    uintptr_t next;
    uintptr_t prev;
} hl_gc_head;

#define HL_GC_PREV_FINALIZED ((uintptr_t)1)
#define HL_GC_PREV_COLLECTING ((uintptr_t)2)
#define HL_GC_PREV_SHIFT 2
#define HL_GC_PREV_MASK (~(uintptr_t)3)
#define HL_GC_NEXT_UNREACHABLE ((uintptr_t)1)

enum hl_object_flags {
    HL_OF_FINALIZER = 1,   /* instance whose class has __del__ */
    HL_OF_SMALL_INT = 2,   /* member of the heap's small-int cache */
    HL_OF_STATIC = 4,      /* cached singleton: never freed before the heap */
    HL_OF_INTERNAL = 8,    /* made by the interpreter, not the user: no events */
};

typedef struct hl_object {
    uint32_t refcnt;
    uint8_t type;   /* hl_type */
    uint8_t flags;  /* hl_object_flags */
    uint8_t gen;    /* generation (0..2, HL_GEN_PERMANENT) while tracked */
    uint8_t profile; /* hl_profile of its heap: sizes depend on it */
    uint64_t id;
} hl_object;

#define HL_GEN_PERMANENT 3

typedef struct hl_int {
    hl_object ob;
    int64_t value;
} hl_int;

typedef struct hl_float {
    hl_object ob;
    double value;
} hl_float;

/* Code points stored as CPython stores them: 1, 2 or 4 bytes each (kind),
 * NUL-terminated, so the block never exceeds CPython's size. */
typedef struct hl_str {
    hl_object ob;
    uint64_t length;
    int64_t hash;
    uint8_t kind;
    uint8_t ascii;
    uint8_t pad[6];
    unsigned char data[];
} hl_str;

typedef struct hl_bytes {
    hl_object ob;
    uint64_t length;
    unsigned char data[];
} hl_bytes;

typedef struct hl_tuple {
    hl_object ob;
    uint64_t size;
    hl_object *items[];
} hl_tuple;

typedef struct hl_list {
    hl_object ob;
    uint64_t size;
    hl_object **items;
    uint64_t allocated;
} hl_list;

typedef struct hl_dict_keys hl_dict_keys;

typedef struct hl_dict {
    hl_object ob;
    uint64_t used;
    hl_dict_keys *keys;  /* NULL = CPython's shared empty keys */
} hl_dict;

typedef struct hl_set_entry {
    hl_object *key;
    int64_t hash;
} hl_set_entry;

#define HL_SET_MINSIZE 8

typedef struct hl_set {
    hl_object ob;
    uint64_t fill;
    uint64_t used;
    uint64_t mask;
    hl_set_entry *table;
    struct hl_weakref *weakrefs;
    hl_set_entry smalltable[HL_SET_MINSIZE];
} hl_set;

typedef struct hl_class hl_class;

/* CPython 3.11 keeps instance attributes inline, in a values array sized by
 * the class's shared keys (30 usable slots): one 272-byte block per
 * instance.  Slots are in the class's key order; order[] remembers the
 * instance's own insertion order.  The class is found by number from the
 * values block, so the object itself fits 3.12's 48-byte instances. */
#define HL_CLASS_MAX_ATTRS 30
typedef struct hl_instance_values {
    uint8_t order[HL_CLASS_MAX_ATTRS];
    uint16_t cls;      /* the class's number in its heap (ob_type's part) */
    hl_object *slot[HL_CLASS_MAX_ATTRS];
} hl_instance_values;
#define HL_SIZE_INSTANCE_VALUES 272

typedef struct hl_instance {
    hl_object ob;
    hl_instance_values *values;
    struct hl_weakref *weakrefs;
} hl_instance;

typedef struct hl_weakref {
    hl_object ob;
    hl_object *target;  /* NULL once cleared ("dead") */
    struct hl_weakref *prev;
    struct hl_weakref *next;
    uint64_t target_id; /* kept after the target dies, for events */
    uint8_t target_type;
    uint8_t has_callback;
} hl_weakref;

/* A class: __del__ and the shared attribute keys belong to the class in
 * Python, so they live here, per heap. */
struct hl_class {
    uint16_t number;  /* its entry in the heap's class map */
    char *name;
    bool finalizer;
    char *resurrect;  /* name __del__ binds the object to, or NULL */
    uint32_t nattrs;
    char *attr[HL_CLASS_MAX_ATTRS];
};

/* Sizes CPython reports (sys.getsizeof) and requests from its allocator. */
#define HL_GC_HEAD_SIZE 16
#define HL_SIZE_FLOAT 24
#define HL_SIZE_TUPLE_BASE 40
#define HL_SIZE_LIST 56
#define HL_SIZE_DICT 64
#define HL_SIZE_SET 216
#define HL_SIZE_INSTANCE 56
#define HL_SIZE_INSTANCE_312 48
#define HL_SIZE_WEAKREF 80

static inline bool hl_type_is_gc(hl_type t)
{
    return t >= HL_TUPLE;
}

static inline hl_gc_head *hl_as_gc(hl_object *o)
{
    return (hl_gc_head *)((char *)o - sizeof(hl_gc_head));
}

static inline hl_object *hl_from_gc(hl_gc_head *g)
{
    return (hl_object *)((char *)g + sizeof(hl_gc_head));
}

static inline bool hl_object_is_tracked(const hl_object *o)
{
    return hl_type_is_gc((hl_type)o->type) &&
           ((const hl_gc_head *)((const char *)o - sizeof(hl_gc_head)))->next != 0;
}

/* The block that holds o starts here (before the GC head for containers). */
static inline void *hl_object_block(hl_object *o)
{
    return hl_type_is_gc((hl_type)o->type) ? (void *)hl_as_gc(o) : (void *)o;
}

/* Size requested for the object's own block (not its variable parts). */
size_t hl_object_block_size(const hl_object *o);

/* sys.getsizeof(o). */
size_t hl_object_sizeof(const hl_object *o);

/* Calls visit on every object o holds a strong reference to, in the order
 * CPython's tp_traverse visits them; stops early when visit returns nonzero
 * and returns that value. */
typedef int (*hl_visit_fn)(hl_object *referent, void *ctx);
int hl_object_traverse(hl_object *o, hl_visit_fn visit, void *ctx);

/* Hashing and equality with CPython's rules for the types that have them;
 * hl_object_hash returns false for unhashable objects (list, dict, set, a
 * tuple holding one). */
bool hl_object_hash(const hl_object *o, int64_t *out);
bool hl_object_equal(const hl_object *a, const hl_object *b);

#endif
