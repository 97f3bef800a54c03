/* internal.h — the heap's state and the functions core/ modules share.
 *
 * Promise: nothing outside core/ includes this.  The modules are:
 *   object.c    sizes, traversal, hashing of every type
 *   atom.c      int, float, str, bytes
 *   list.c tuple.c dict.c set.c instance.c   the containers
 *   weakref.c   weak references and their callbacks
 *   refcount.c  incref/decref, deallocation, the trashcan, type free lists
 *   gc.c        the generational collector
 *   heap.c      lifecycle, ids, names, classes, introspection
 *   ops.c       the mutations of ops.h
 *   oplog.c     records of the mutations, and their replay
 *   check.c     hl_heap_check
 */
#ifndef HL_INTERNAL_H
#define HL_INTERNAL_H

#include "alloc.h"
#include "heap.h"
#include "idmap.h"
#include "object.h"
#include "oplog.h"
#include "strmap.h"

#define HL_SMALL_INT_MIN (-5)
#define HL_SMALL_INT_MAX 256
#define HL_LIST_FREELIST 80
#define HL_DICT_FREELIST 80
#define HL_KEYS_FREELIST 80
#define HL_FLOAT_FREELIST 100
#define HL_TUPLE_FREELIST_SIZES 20
#define HL_TUPLE_FREELIST 2000
#define HL_TRASHCAN_DEPTH 50

typedef struct hl_generation {
    hl_gc_head head;
    int threshold;
    int64_t count;
} hl_generation;

struct hl_heap {
    hl_alloc *alloc;
    hl_heap_config cfg;
    hl_idmap ids;
    uint64_t last_id;
    uint64_t live_by_type[HL_TYPE_COUNT];

    hl_strmap names;     /* root name -> hl_object* */
    hl_strmap classes;   /* class key -> hl_class* */

    hl_int *small_ints[HL_SMALL_INT_MAX - HL_SMALL_INT_MIN + 1];
    hl_tuple *empty_tuple;

    /* CPython 3.11's per-type free lists: parked objects keep their blocks. */
    hl_list *list_free[HL_LIST_FREELIST];
    int list_nfree;
    hl_dict *dict_free[HL_DICT_FREELIST];
    int dict_nfree;
    hl_dict_keys *keys_free[HL_KEYS_FREELIST];
    int keys_nfree;
    hl_float *float_free[HL_FLOAT_FREELIST];
    int float_nfree;
    hl_tuple *tuple_free[HL_TUPLE_FREELIST_SIZES]; /* linked through items[0] */
    int tuple_nfree[HL_TUPLE_FREELIST_SIZES];

    hl_generation gen[3];
    hl_gc_head permanent;
    bool gc_enabled;
    bool collecting;
    bool gc_scheduled;   /* 3.12+: an allocation crossed the threshold; collect at the boundary */
    hl_gc_gen_stats stats[3];
    uint64_t long_lived_total;
    uint64_t long_lived_pending;
    hl_collect_result last_collect;

    /* The trashcan: deallocations deeper than HL_TRASHCAN_DEPTH wait here. */
    int trash_nesting;
    hl_object *trash_later;

    hl_event_sink sink;
    void *sink_ctx;

    /* Told every successful operation (oplog.h). */
    hl_op_recorder recorder;
    void *recorder_ctx;
};

/* ---- gc lists (gc.c) ---- */
void hl_gc_list_init(hl_gc_head *list);
bool hl_gc_list_is_empty(const hl_gc_head *list);
void hl_gc_list_append(hl_gc_head *node, hl_gc_head *list);
void hl_gc_list_remove(hl_gc_head *node);
void hl_gc_list_merge(hl_gc_head *from, hl_gc_head *to);
uint64_t hl_gc_list_size(const hl_gc_head *list);
static inline hl_gc_head *hl_gc_next(const hl_gc_head *g) { return (hl_gc_head *)g->next; }
static inline hl_gc_head *hl_gc_prev(const hl_gc_head *g) { return (hl_gc_head *)(g->prev & HL_GC_PREV_MASK); }

void hl_gc_track(hl_heap *h, hl_object *o);    /* append to generation 0 */
void hl_gc_untrack(hl_heap *h, hl_object *o);
/* Counts an allocation of a container and may run an automatic collection
 * first, as CPython 3.11's gc_alloc does. */
void hl_gc_on_alloc(hl_heap *h);
/* gc.collect() as an operation (ops_gc.c), shared by hl_op_collect and
 * hl_op_collect_explained: check it may run, then run it (ex NULL or an
 * explain recorder), note it for the journal and end at the boundary. */
struct hl_gc_explain;
hl_status hl_ops_collect_check(const hl_heap *h, int generation);
void hl_ops_collect_run(hl_heap *h, int generation, struct hl_gc_explain *ex, hl_collect_result *out);
/* The end of an operation: runs a collection the 3.12+ profiles scheduled. */
void hl_gc_boundary(hl_heap *h);
void hl_gc_on_dealloc(hl_heap *h);
bool hl_gc_may_be_tracked(const hl_object *o);
void hl_gc_collect(hl_heap *h, int generation, bool automatic, hl_collect_result *out);
void hl_gc_freeze(hl_heap *h);
void hl_gc_unfreeze(hl_heap *h);
int hl_gc_generation_of(const hl_object *o);

/* ---- objects and refcounts (refcount.c) ---- */
/* Allocates a block of n bytes for a new object of type t (GC head
 * included for containers) and gives it the next id.  NULL on OOM. */
hl_object *hl_object_new(hl_heap *h, hl_type t, size_t n);
/* The same for the heap's static singletons, which CPython does not
 * allocate at all: no GC count, no collection. */
hl_object *hl_object_new_static(hl_heap *h, hl_type t, size_t n);
/* The argument tuple CPython builds for a call into a METH_VARARGS
 * function or a type without vectorcall: it moves gc counts and may trigger
 * a collection, as in CPython.  items are borrowed; drop the tuple with
 * hl_decref when the call is over.  NULL on OOM. */
hl_object *hl_args_tuple(hl_heap *h, hl_object **items, size_t n);
/* Re-ids an object taken from a free list. */
bool hl_object_revive(hl_heap *h, hl_object *o);
/* Ends an object's identity (a free event) and gives its own block back,
 * counting a container deallocation; no decrefs. */
void hl_object_release_block(hl_heap *h, hl_object *o);
/* Ends an object's identity but keeps its block for a free list. */
void hl_object_park(hl_heap *h, hl_object *o);

static inline void hl_incref(hl_object *o) { o->refcnt++; }
void hl_dealloc(hl_heap *h, hl_object *o);
static inline void hl_decref(hl_heap *h, hl_object *o)
{
    if (--o->refcnt == 0)
        hl_dealloc(h, o);
}
void hl_emit(hl_heap *h, hl_event_kind kind, uint64_t id, uint64_t target, hl_type type);

/* Trashcan bracket for container deallocation: begin returns false when
 * the object was deferred instead. */
bool hl_trashcan_begin(hl_heap *h, hl_object *o);
void hl_trashcan_end(hl_heap *h);

/* Frees an object's blocks without touching what it references: only for
 * tearing a whole heap down. */
void hl_object_discard(hl_heap *h, hl_object *o);

/* Free lists: the parked-object side of CPython's type free lists. */
void hl_freelists_clear(hl_heap *h);

/* ---- per type constructors, deallocators, clear (tp_clear) ---- */
hl_object *hl_int_new(hl_heap *h, int64_t v);  /* small ints: the cached one, +1 */
hl_object *hl_float_new(hl_heap *h, double v);
hl_object *hl_str_new(hl_heap *h, const char *utf8, size_t len); /* NULL also on invalid UTF-8 */
bool hl_utf8_valid(const char *s, size_t len);
hl_object *hl_bytes_new(hl_heap *h, const char *data, size_t len);
size_t hl_str_utf8(const hl_str *s, char *buf, size_t cap);
int64_t hl_str_hash_utf8(const char *utf8, size_t len);
int64_t hl_hash_buffer(const void *data, size_t n); /* CPython's str/bytes hash */
bool hl_str_equals_utf8(const hl_str *s, const char *utf8, size_t len);
size_t hl_int_sizeof(int64_t v);
size_t hl_str_alloc_size(hl_profile p, const char *utf8, size_t len);
/* Bytes of a str of count code units of kind (0 = ASCII, 1, 2, 4). */
size_t hl_str_size(int kind, size_t count, hl_profile p);
void hl_atom_dealloc(hl_heap *h, hl_object *o);

/* Containers take ownership of the references in items (already counted). */
hl_object *hl_tuple_new(hl_heap *h, hl_object **items, size_t n);
void hl_tuple_dealloc(hl_heap *h, hl_object *o);
void hl_tuple_maybe_untrack(hl_heap *h, hl_object *o);

hl_object *hl_list_new(hl_heap *h, hl_object **items, size_t n);
bool hl_list_append(hl_heap *h, hl_list *l, hl_object *item);  /* steals item */
void hl_list_set(hl_heap *h, hl_list *l, uint64_t i, hl_object *item); /* steals item */
/* del a[i] (by_index) or list.remove's deletion: they differ from 3.13 on. */
bool hl_list_delete(hl_heap *h, hl_list *l, uint64_t i, bool by_index);
void hl_list_dealloc(hl_heap *h, hl_object *o);
void hl_list_clear(hl_heap *h, hl_list *l);
size_t hl_list_sizeof(const hl_list *l);
/* Bytes an append would allocate for a larger item array (0 if none). */
size_t hl_list_growth_bytes(const hl_list *l);

hl_object *hl_dict_new(hl_heap *h, size_t presize);
size_t hl_dict_keys_size_min(void); /* the size parked on the keys free list */
/* key is a str object; steals key and value.  false on OOM (nothing stolen). */
bool hl_dict_set(hl_heap *h, hl_dict *d, hl_object *key, hl_object *value);
hl_object *hl_dict_get_str(const hl_dict *d, const hl_str *key);
/* Bytes a new key would allocate for a larger keys block (0 if none). */
size_t hl_dict_growth_bytes(const hl_dict *d);
/* Replaces the value of an existing key (steals value); false if absent. */
bool hl_dict_replace(hl_heap *h, hl_dict *d, const char *key, size_t len, hl_object *value);
void hl_dict_discard_storage(hl_heap *h, hl_dict *d); /* frees the keys block, no decrefs */
size_t hl_dict_storage_size(const hl_dict *d);          /* the keys block's size, 0 if none */
bool hl_dict_delete(hl_heap *h, hl_dict *d, const char *key, size_t len);
void hl_dict_dealloc(hl_heap *h, hl_object *o);
/* The key and value pointers of every entry slot in use, as one array (heap images). */
hl_object **hl_dict_keys_slots(hl_dict_keys *k, size_t *n);
void hl_dict_clear(hl_heap *h, hl_dict *d);
size_t hl_dict_sizeof(const hl_dict *d);
int hl_dict_traverse(hl_dict *d, hl_visit_fn visit, void *ctx);
bool hl_dict_may_untrack(const hl_dict *d);
typedef bool (*hl_dict_entry_fn)(void *ctx, hl_object *key, hl_object *value);
void hl_dict_each(const hl_dict *d, hl_dict_entry_fn fn, void *ctx);

hl_object *hl_set_new(hl_heap *h);
/* Steals key on success; false on OOM.  Adding a present member drops key. */
bool hl_set_add(hl_heap *h, hl_set *s, hl_object *key, int64_t hash);
bool hl_set_contains(const hl_set *s, const hl_object *key, int64_t hash);
bool hl_set_discard(hl_heap *h, hl_set *s, const hl_object *key, int64_t hash);
void hl_set_dealloc(hl_heap *h, hl_object *o);
const void *hl_set_dummy(void); /* the marker of removed members */
void hl_set_clear(hl_heap *h, hl_set *s);
size_t hl_set_sizeof(const hl_set *s);
/* Bytes adding a new member would allocate for a larger table (0 if none). */
size_t hl_set_growth_bytes(const hl_set *s);

hl_class *hl_class_get(hl_heap *h, const char *name, bool finalizer, const char *resurrect);
hl_object *hl_instance_new(hl_heap *h, hl_class *cls);
/* Sets (steals value) or, with value NULL, deletes; HL_E_ATTR if absent. */
hl_status hl_instance_setattr(hl_heap *h, hl_instance *o, const char *name, hl_object *value);
bool hl_instance_can_set(const hl_heap *h, const hl_instance *o, const char *name);
hl_class *hl_instance_class(const hl_heap *h, const hl_instance *o);
size_t hl_instance_block_size(hl_profile p); /* 56 on 3.11, 48 from 3.12 */
/* Visits attributes in the instance's insertion order. */
typedef bool (*hl_instance_attr_fn)(void *ctx, const char *name, hl_object *value);
void hl_instance_attrs(const hl_heap *h, const hl_instance *o, hl_instance_attr_fn fn, void *ctx);
void hl_classes_free(hl_heap *h);
void hl_instance_dealloc(hl_heap *h, hl_object *o);
void hl_instance_clear(hl_heap *h, hl_instance *o);
/* CPython's PyObject_CallFinalizer: runs __del__ once; true if it ran. */
bool hl_instance_finalize(hl_heap *h, hl_object *o);

hl_object *hl_weakref_new(hl_heap *h, hl_object *target, bool callback);
void hl_weakref_dealloc(hl_heap *h, hl_object *o);
struct hl_weakref **hl_weakref_list(hl_object *o); /* NULL if o's type has no weakref list */
void hl_weakref_clear_ref(hl_weakref *wr);         /* _PyWeakref_ClearRef */
/* PyObject_ClearWeakRefs: clears all weakrefs to o and runs their callbacks. */
void hl_weakrefs_clear_on_dealloc(hl_heap *h, hl_object *o);
void hl_weakref_run_callback(hl_heap *h, hl_weakref *wr);

/* tp_clear for the GC: drops the references o holds. */
void hl_object_clear(hl_heap *h, hl_object *o);

/* Names: binding steals a reference; the old object is released. */
hl_status hl_name_bind(hl_heap *h, const char *name, hl_object *o);
hl_object *hl_lookup(const hl_heap *h, uint64_t id);

#endif
