/* apply.c — JSON operations onto core's ops layer; see apply.h. */
#include "apply.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "ops.h"
#include "problem.h"
#include "render.h"

static json_t *fail(hl_apply_ctx *c, int status, const char *slug, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static json_t *fail(hl_apply_ctx *c, int status, const char *slug, const char *fmt, ...)
{
    c->err->status = status;
    c->err->slug = slug;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->detail, sizeof c->err->detail, fmt, ap);
    va_end(ap);
    return NULL;
}

void hl_apply_status_error(hl_apply_ctx *c, hl_status st, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fail(c, hl_problem_status_of(st), hl_problem_slug_of(st), "%s: %s", what, hl_status_message(st));
}

/* Refuses members outside allowed (NULL-terminated) and extra. */
static bool only_fields(hl_apply_ctx *c, json_t *body, const char *const *allowed, const char *extra)
{
    if (body == NULL)
        return true;
    if (!json_is_object(body)) {
        fail(c, 400, "invalid-body", "the request body must be a JSON object");
        return false;
    }
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) {
        bool ok = extra != NULL && strcmp(key, extra) == 0;
        for (const char *const *a = allowed; *a != NULL && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            fail(c, 400, "unknown-field", "unknown field '%s'", key);
            return false;
        }
    }
    return true;
}

static json_t *member(json_t *body, const char *name)
{
    return body != NULL ? json_object_get(body, name) : NULL;
}

bool hl_apply_id(hl_apply_ctx *c, json_t *value, const char *field, uint64_t *out)
{
    if (json_is_integer(value) && json_integer_value(value) > 0) {
        *out = (uint64_t)json_integer_value(value);
        return true;
    }
    const char *s = json_string_value(value);
    if (s != NULL && s[0] == '$' && c->batch != NULL) {
        char *end;
        unsigned long long n = strtoull(s + 1, &end, 10);
        if (*end != '\0' || end == s + 1 || n >= c->batch->n) {
            fail(c, 400, "invalid-reference", "'%s' in '%s' must name an earlier op of this batch ($0..$%zu)", s,
                 field, c->batch->n ? c->batch->n - 1 : 0);
            return false;
        }
        if (c->batch->ids[n] == 0) {
            fail(c, 400, "invalid-reference", "'%s' in '%s': op %llu produced no object", s, field, n);
            return false;
        }
        *out = c->batch->ids[n];
        return true;
    }
    fail(c, 400, "invalid-id", "'%s' must be an object id (a positive integer%s)", field,
         c->batch ? " or \"$N\"" : "");
    return false;
}

static bool get_name(hl_apply_ctx *c, json_t *body, const char *field, const char **out, bool required)
{
    json_t *v = member(body, field);
    *out = NULL;
    if (v == NULL && !required)
        return true;
    if (!json_is_string(v) || json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v)) {
        fail(c, 400, "invalid-field", "'%s' must be a non-empty string", field);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool get_bool(hl_apply_ctx *c, json_t *body, const char *field, bool *out)
{
    json_t *v = member(body, field);
    if (v == NULL)
        return true;
    if (!json_is_boolean(v)) {
        fail(c, 400, "invalid-field", "'%s' must be true or false", field);
        return false;
    }
    *out = json_is_true(v);
    return true;
}

/* ---- create ---- */

typedef struct create_args {
    hl_create_spec spec;
    uint64_t *ids;           /* items or values */
    const char **keys;
    char *text;              /* owned copy for bytes of zeros */
} create_args;

static void create_args_free(create_args *a)
{
    free(a->ids);
    free(a->keys);
    free(a->text);
}

static bool parse_items(hl_apply_ctx *c, json_t *items, create_args *a)
{
    if (items == NULL)
        return true;
    if (!json_is_array(items))
        return fail(c, 400, "invalid-field", "'items' of a %s must be an array of object ids",
                    hl_type_name(a->spec.type)) != NULL;
    size_t n = json_array_size(items);
    a->ids = calloc(n ? n : 1, sizeof *a->ids);
    if (a->ids == NULL)
        return fail(c, 503, "out-of-memory", "out of memory") != NULL;
    for (size_t i = 0; i < n; i++) {
        char field[32];
        snprintf(field, sizeof field, "items[%zu]", i);
        if (!hl_apply_id(c, json_array_get(items, i), field, &a->ids[i]))
            return false;
    }
    a->spec.items = a->ids;
    a->spec.nitems = n;
    return true;
}

static bool parse_mapping(hl_apply_ctx *c, json_t *map, const char *field, create_args *a)
{
    if (map == NULL)
        return true;
    if (!json_is_object(map))
        return fail(c, 400, "invalid-field", "'%s' must be an object mapping names to object ids", field) != NULL;
    size_t n = json_object_size(map);
    a->ids = calloc(n ? n : 1, sizeof *a->ids);
    a->keys = calloc(n ? n : 1, sizeof *a->keys);
    if (a->ids == NULL || a->keys == NULL)
        return fail(c, 503, "out-of-memory", "out of memory") != NULL;
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach(map, key, value) {
        char where[96];
        snprintf(where, sizeof where, "%s.%.60s", field, key);
        if (!hl_apply_id(c, value, where, &a->ids[i]))
            return false;
        a->keys[i++] = key;
    }
    a->spec.keys = a->keys;
    a->spec.values = a->ids;
    a->spec.nkeys = n;
    return true;
}

static bool parse_value(hl_apply_ctx *c, json_t *body, create_args *a)
{
    json_t *v = member(body, "value");
    json_t *size = member(body, "size");
    if (size != NULL && a->spec.type != HL_BYTES)
        return fail(c, 400, "invalid-field", "only bytes take a 'size'") != NULL;
    switch (a->spec.type) {
    case HL_INT:
        if (!json_is_integer(v))
            return fail(c, 400, "invalid-field", "an int needs an integer 'value' (64-bit)") != NULL;
        a->spec.int_value = json_integer_value(v);
        return true;
    case HL_FLOAT:
        if (!json_is_number(v))
            return fail(c, 400, "invalid-field", "a float needs a numeric 'value'") != NULL;
        a->spec.float_value = json_number_value(v);
        return true;
    case HL_STR:
        if (!json_is_string(v))
            return fail(c, 400, "invalid-field", "a str needs a string 'value'") != NULL;
        a->spec.text = json_string_value(v);
        a->spec.text_len = json_string_length(v);
        return true;
    case HL_BYTES:
        if (json_is_string(v) && size == NULL) {
            a->spec.text = json_string_value(v);
            a->spec.text_len = json_string_length(v);
            return true;
        }
        if (json_is_integer(size) && v == NULL && json_integer_value(size) >= 0 &&
            json_integer_value(size) <= 64 * 1024 * 1024) {
            a->spec.text_len = (size_t)json_integer_value(size);
            return true;
        }
        return fail(c, 400, "invalid-field",
                    "bytes need either a string 'value' or a 'size' (0..67108864) of zero bytes") != NULL;
    default:
        if (v != NULL || size != NULL)
            return fail(c, 400, "invalid-field", "a %s takes no 'value' or 'size'", hl_type_name(a->spec.type)) !=
                   NULL;
        return true;
    }
}

static bool parse_finalizer(hl_apply_ctx *c, json_t *body, create_args *a)
{
    json_t *f = member(body, "finalizer");
    if (f == NULL || json_is_false(f))
        return true;
    if (json_is_true(f)) {
        a->spec.finalizer = true;
        return true;
    }
    json_t *r = json_object_get(f, "resurrect");
    if (json_is_object(f) && json_object_size(f) == 1 && json_is_string(r) && json_string_length(r) > 0) {
        a->spec.finalizer = true;
        a->spec.resurrect = json_string_value(r);
        return true;
    }
    return fail(c, 400, "invalid-field", "'finalizer' must be true or {\"resurrect\": \"name\"}") != NULL;
}

static bool parse_create(hl_apply_ctx *c, json_t *body, create_args *a)
{
    const char *type = json_string_value(member(body, "type"));
    if (type == NULL || !hl_type_from_name(type, &a->spec.type) || a->spec.type == HL_WEAKREF)
        return fail(c, 400, "invalid-field",
                    "'type' must be one of int, float, str, bytes, tuple, list, dict, set, instance "
                    "(weak references: POST .../weakrefs)") != NULL;
    hl_type t = a->spec.type;
    bool sequence = t == HL_TUPLE || t == HL_LIST || t == HL_SET;
    if (!sequence && member(body, "items") != NULL && t != HL_DICT)
        return fail(c, 400, "invalid-field", "a %s takes no 'items'", type) != NULL;
    if (t != HL_INSTANCE && (member(body, "attrs") || member(body, "class") || member(body, "finalizer")))
        return fail(c, 400, "invalid-field", "'class', 'attrs' and 'finalizer' belong to instances") != NULL;
    if (!parse_value(c, body, a))
        return false;
    if (sequence)
        return parse_items(c, member(body, "items"), a);
    if (t == HL_DICT)
        return parse_mapping(c, member(body, "items"), "items", a);
    if (t == HL_INSTANCE) {
        json_t *cls = member(body, "class");
        if (cls != NULL && (!json_is_string(cls) || json_string_length(cls) == 0))
            return fail(c, 400, "invalid-field", "'class' must be a non-empty string") != NULL;
        a->spec.class_name = json_string_value(cls);
        return parse_finalizer(c, body, a) && parse_mapping(c, member(body, "attrs"), "attrs", a);
    }
    return true;
}

json_t *hl_apply_create(hl_apply_ctx *c, json_t *body, const char *extra_field)
{
    static const char *const allowed[] = {"type", "value", "size", "items", "class", "attrs", "name", "finalizer", NULL};
    if (body == NULL)
        return fail(c, 400, "invalid-body", "a JSON object with at least 'type' is required");
    if (!only_fields(c, body, allowed, extra_field))
        return NULL;
    create_args a = {0};
    const char *name;
    json_t *result = NULL;
    if (get_name(c, body, "name", &name, false) && parse_create(c, body, &a)) {
        hl_create_result r;
        hl_status st = hl_op_create(c->heap, &a.spec, name, &r);
        if (st != HL_OK) {
            hl_apply_status_error(c, st, "cannot create the %s", hl_type_name(a.spec.type));
        } else {
            c->produced = r.id;
            result = r.alive ? hl_render_object(c->heap, r.id, false)
                             : json_pack("{s:I,s:s,s:b,s:i}", "id", (json_int_t)r.id, "type",
                                         hl_type_name(a.spec.type), "alive", 0, "refcount", 0);
        }
    }
    create_args_free(&a);
    return result;
}

/* ---- names ---- */

json_t *hl_apply_bind(hl_apply_ctx *c, const char *name, json_t *body, const char *extra_field)
{
    static const char *const allowed[] = {"id", NULL};
    uint64_t id;
    if (!only_fields(c, body, allowed, extra_field))
        return NULL;
    if (!hl_apply_id(c, member(body, "id"), "id", &id))
        return NULL;
    hl_status st = hl_op_bind(c->heap, name, id);
    if (st != HL_OK) {
        hl_apply_status_error(c, st, "cannot bind '%s' to object %" PRIu64, name, id);
        return NULL;
    }
    return json_pack("{s:s,s:I}", "name", name, "id", (json_int_t)id);
}

json_t *hl_apply_unbind(hl_apply_ctx *c, const char *name)
{
    hl_status st = hl_op_unbind(c->heap, name);
    if (st != HL_OK) {
        hl_apply_status_error(c, st, "cannot unbind '%s'", name);
        return NULL;
    }
    return json_null();
}

/* ---- references ---- */

static json_t *ref_result(hl_apply_ctx *c, uint64_t container, uint64_t target)
{
    hl_object_info ci, ti;
    json_t *j = json_object();
    if (hl_heap_object_info(c->heap, container, &ci) == HL_OK) {
        json_object_set_new(j, "id", json_integer((json_int_t)container));
        json_object_set_new(j, "type", json_string(hl_type_name(ci.type)));
        json_object_set_new(j, "refcount", json_integer(ci.refcount));
        json_object_set_new(j, "size", json_integer((json_int_t)ci.size));
        json_object_set_new(j, "length", json_integer((json_int_t)ci.length));
    } else {
        json_object_set_new(j, "id", json_integer((json_int_t)container));
        json_object_set_new(j, "alive", json_false());
    }
    if (target != 0) {
        bool alive = hl_heap_object_info(c->heap, target, &ti) == HL_OK;
        json_object_set_new(j, "target", json_pack("{s:I,s:b,s:i}", "id", (json_int_t)target, "alive", alive,
                                                   "refcount", alive ? (int)ti.refcount : 0));
    }
    return j;
}

json_t *hl_apply_ref(hl_apply_ctx *c, json_t *idv, json_t *body, const char *extra_field)
{
    static const char *const allowed[] = {"target", "index", "key", "attr", NULL};
    uint64_t id, target;
    if (!only_fields(c, body, allowed, extra_field) || !hl_apply_id(c, idv, "id", &id) ||
        !hl_apply_id(c, member(body, "target"), "target", &target))
        return NULL;
    hl_object_info info;
    hl_status st = hl_heap_object_info(c->heap, id, &info);
    if (st != HL_OK) {
        hl_apply_status_error(c, st, "object %" PRIu64, id);
        return NULL;
    }
    hl_ref_spec spec = {.target = target};
    json_t *index = member(body, "index");
    const char *key = NULL, *attr = NULL;
    if (!get_name(c, body, "key", &key, false) || !get_name(c, body, "attr", &attr, false))
        return NULL;
    if (index != NULL && !json_is_integer(index))
        return fail(c, 400, "invalid-field", "'index' must be an integer");
    /* Each container takes its own kind of slot and no other. */
    bool fits = (info.type == HL_LIST && !key && !attr) || (info.type == HL_DICT && !index && !attr) ||
                (info.type == HL_SET && !index && !key && !attr) || (info.type == HL_INSTANCE && !index && !key) ||
                (info.type != HL_LIST && info.type != HL_DICT && info.type != HL_SET && info.type != HL_INSTANCE);
    if (!fits)
        return fail(c, 400, "invalid-field",
                    "a %s reference takes %s", hl_type_name(info.type),
                    info.type == HL_LIST   ? "'target' and an optional 'index'"
                    : info.type == HL_DICT ? "'key' and 'target'"
                    : info.type == HL_SET  ? "only 'target'"
                                           : "'attr' and 'target'");
    switch (info.type) {
    case HL_LIST:
        spec.op = index ? HL_REF_SET_INDEX : HL_REF_APPEND;
        spec.index = index ? json_integer_value(index) : 0;
        break;
    case HL_DICT:
        if (key == NULL)
            return fail(c, 400, "invalid-field", "a dict reference needs a 'key'");
        spec.op = HL_REF_SET_KEY;
        spec.key = key;
        break;
    case HL_SET:
        spec.op = HL_REF_ADD_MEMBER;
        break;
    case HL_INSTANCE:
        if (attr == NULL)
            return fail(c, 400, "invalid-field", "an instance reference needs an 'attr'");
        spec.op = HL_REF_SET_ATTR;
        spec.key = attr;
        break;
    default:
        spec.op = HL_REF_APPEND;  /* core answers immutable */
        break;
    }
    st = hl_op_add_ref(c->heap, id, &spec);
    if (st != HL_OK) {
        hl_apply_status_error(c, st, "cannot add a reference from %s %" PRIu64 " to object %" PRIu64,
                              hl_type_name(info.type), id, target);
        return NULL;
    }
    return ref_result(c, id, target);
}

json_t *hl_apply_unref(hl_apply_ctx *c, json_t *idv, json_t *body, const char *extra_field)
{
    static const char *const allowed[] = {"index", "key", "attr", "target", NULL};
    uint64_t id;
    if (!only_fields(c, body, allowed, extra_field) || !hl_apply_id(c, idv, "id", &id))
        return NULL;
    hl_unref_spec spec = {0};
    int given = 0;
    json_t *index = member(body, "index");
    if (index != NULL) {
        if (!json_is_integer(index))
            return fail(c, 400, "invalid-field", "'index' must be an integer");
        spec.op = HL_UNREF_INDEX;
        spec.index = json_integer_value(index);
        given++;
    }
    const char *key, *attr;
    if (!get_name(c, body, "key", &key, false) || !get_name(c, body, "attr", &attr, false))
        return NULL;
    if (key != NULL) {
        spec.op = HL_UNREF_KEY;
        spec.key = key;
        given++;
    }
    if (attr != NULL) {
        spec.op = HL_UNREF_ATTR;
        spec.key = attr;
        given++;
    }
    if (member(body, "target") != NULL) {
        if (!hl_apply_id(c, member(body, "target"), "target", &spec.target))
            return NULL;
        spec.op = HL_UNREF_TARGET;
        given++;
    }
    if (given != 1)
        return fail(c, 400, "invalid-field", "say which reference to remove with exactly one of index, key, attr or target");
    hl_status st = hl_op_remove_ref(c->heap, id, &spec);
    if (st != HL_OK) {
        hl_apply_status_error(c, st, "cannot remove that reference from object %" PRIu64, id);
        return NULL;
    }
    return ref_result(c, id, spec.op == HL_UNREF_TARGET ? spec.target : 0);
}

/* ---- weakrefs and the collector ---- */

json_t *hl_apply_weakref(hl_apply_ctx *c, json_t *body, const char *extra_field)
{
    static const char *const allowed[] = {"target", "callback", "name", NULL};
    uint64_t target;
    bool callback = false;
    const char *name;
    if (body == NULL)
        return fail(c, 400, "invalid-body", "a JSON object with 'target' is required");
    if (!only_fields(c, body, allowed, extra_field) || !hl_apply_id(c, member(body, "target"), "target", &target) ||
        !get_bool(c, body, "callback", &callback) || !get_name(c, body, "name", &name, false))
        return NULL;
    hl_create_result r;
    hl_status st = hl_op_weakref(c->heap, target, callback, name, &r);
    if (st != HL_OK) {
        hl_apply_status_error(c, st, "cannot create a weak reference to object %" PRIu64, target);
        return NULL;
    }
    c->produced = r.id;
    if (!r.alive)
        return json_pack("{s:I,s:s,s:b,s:i}", "id", (json_int_t)r.id, "type", "weakref", "alive", 0, "refcount", 0);
    return hl_render_object(c->heap, r.id, false);
}

json_t *hl_apply_collect(hl_apply_ctx *c, json_t *body, const char *extra_field)
{
    static const char *const allowed[] = {"generation", "explain", "explain_limit", NULL};
    if (!only_fields(c, body, allowed, extra_field))
        return NULL;
    json_t *g = member(body, "generation");
    int generation = 2;
    if (g != NULL) {
        if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > 2)
            return fail(c, 400, "invalid-field", "'generation' must be 0, 1 or 2");
        generation = (int)json_integer_value(g);
    }
    bool explain = false;
    if (!get_bool(c, body, "explain", &explain))
        return NULL;
    /* Checked even without "explain", so that a client learns of a bad
     * limit before it turns explaining on. */
    json_t *l = member(body, "explain_limit");
    size_t limit = HL_EXPLAIN_LIMIT_DEFAULT;
    if (l != NULL) {
        if (!json_is_integer(l) || json_integer_value(l) < 1 || json_integer_value(l) > HL_EXPLAIN_LIMIT_MAX)
            return fail(c, 400, "invalid-field",
                        "'explain_limit' must be an integer from 1 to %d: how many objects to explain (default %d)",
                        HL_EXPLAIN_LIMIT_MAX, HL_EXPLAIN_LIMIT_DEFAULT);
        limit = (size_t)json_integer_value(l);
    }
    hl_collect_result r;
    hl_gc_explain *ex = NULL;
    hl_status st = explain ? hl_op_collect_explained(c->heap, generation, limit, &r, &ex)
                           : hl_op_collect(c->heap, generation, &r);
    if (st != HL_OK) {
        hl_apply_status_error(c, st, "cannot collect generation %d", generation);
        return NULL;
    }
    json_t *result = hl_render_collect(&r);
    if (ex != NULL) {
        json_object_set_new(result, "explain", hl_explain_render(ex));
        hl_gc_explain_free(ex);
    }
    return result;
}

json_t *hl_apply_gc(hl_apply_ctx *c, json_t *body, const char *extra_field)
{
    static const char *const allowed[] = {"enabled", "thresholds", NULL};
    if (!only_fields(c, body, allowed, extra_field))
        return NULL;
    hl_gc_config cfg = {0};
    json_t *enabled = member(body, "enabled"), *th = member(body, "thresholds");
    if (enabled != NULL) {
        if (!get_bool(c, body, "enabled", &cfg.enabled))
            return NULL;
        cfg.set_enabled = true;
    }
    if (th != NULL) {
        size_t n = json_array_size(th);
        if (!json_is_array(th) || n < 1 || n > 3)
            return fail(c, 400, "invalid-field", "'thresholds' must be an array of 1 to 3 integers, as gc.set_threshold takes");
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(th, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000)
                return fail(c, 400, "invalid-field", "thresholds[%zu] must be an integer from 0 to 1000000000", i);
            cfg.thresholds[i] = (int)json_integer_value(v);
        }
        cfg.nthresholds = (int)n;
    }
    hl_status st = hl_op_gc_config(c->heap, &cfg);
    if (st != HL_OK) {
        hl_apply_status_error(c, st, "cannot configure the collector");
        return NULL;
    }
    return hl_render_gc(c->heap);
}

json_t *hl_apply_freeze(hl_apply_ctx *c, bool freeze)
{
    hl_status st = freeze ? hl_op_freeze(c->heap) : hl_op_unfreeze(c->heap);
    if (st != HL_OK) {
        hl_apply_status_error(c, st, freeze ? "cannot freeze" : "cannot unfreeze");
        return NULL;
    }
    return hl_render_gc(c->heap);
}
