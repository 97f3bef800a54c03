/* scenario.c — hl-scenario: runs one scenario in the heaplab model and writes
 * the equal Python program, for differential testing against CPython 3.11.
 *
 *   hl-scenario [--no-check] FILE.scn OUT.py
 *   hl-scenario [--no-check] --random SEED --ops N OUT.py [--dump FILE.scn]
 *
 * Prints the model's observation stream on stdout, one token per line; the
 * Python program prints its own stream the same way.  Exit 0 when the
 * scenario ran, 2 on a scenario error (unknown label, object without an
 * access path, unexpected model error, invariant violation, ...).
 * See README.md beside this file for the scenario format and the shape of
 * the generated program.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "ops.h"

#define MAX_ITEMS 30 /* CPython builds literals differently above 30 items */
#define MAX_TOK 64

/* ------------------------------------------------------------------ */
/* small utilities                                                     */

typedef struct sbuf {
    char *buf;
    size_t len, cap;
} sbuf;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "hl-scenario: out of memory\n");
        exit(3);
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "hl-scenario: out of memory\n");
        exit(3);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static void sb_reserve(sbuf *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + extra + 1)
            nc *= 2;
        b->buf = xrealloc(b->buf, nc);
        b->cap = nc;
    }
}

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_vprintf(sbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    sb_reserve(b, (size_t)n);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

static void sb_clear(sbuf *b)
{
    b->len = 0;
    if (b->buf)
        b->buf[0] = 0;
}

/* Python string literal for a UTF-8 text (str) or raw bytes seen as latin-1. */
static void sb_pylit(sbuf *b, const char *s, size_t n, bool latin1)
{
    sb_puts(b, "'");
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp = c;
        size_t adv = 1;
        if (!latin1 && c >= 0x80) {
            int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
            cp = extra == 3 ? (c & 7u) : extra == 2 ? (c & 15u) : (c & 31u);
            for (int k = 1; k <= extra && i + (size_t)k < n; k++)
                cp = (cp << 6) | ((unsigned char)s[i + (size_t)k] & 63u);
            adv = (size_t)extra + 1;
        }
        if (cp == '\'' || cp == '\\')
            sb_printf(b, "\\%c", (char)cp);
        else if (cp >= 0x20 && cp < 0x7F)
            sb_printf(b, "%c", (char)cp);
        else if (cp < 0x100)
            sb_printf(b, "\\x%02x", (unsigned)cp);
        else if (cp < 0x10000)
            sb_printf(b, "\\u%04x", (unsigned)cp);
        else
            sb_printf(b, "\\U%08x", (unsigned)cp);
        i += adv;
    }
    sb_puts(b, "'");
}

static bool is_ident(const char *s)
{
    if (!s || !*s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return false;
    return true;
}

static const char *const PY_KEYWORDS[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break",
    "class", "continue", "def", "del", "elif", "else", "except", "finally",
    "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", NULL};

static bool is_attr_name(const char *s)
{
    if (!is_ident(s) || s[0] == '_')
        return false;
    for (int i = 0; PY_KEYWORDS[i]; i++)
        if (strcmp(PY_KEYWORDS[i], s) == 0)
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* id -> value hash maps                                               */

typedef struct umap_ent {
    uint64_t key; /* 0 = empty */
    int64_t val;
} umap_ent;

typedef struct umap {
    umap_ent *tab;
    size_t cap, n;
} umap;

static size_t umap_slot(const umap *m, uint64_t key)
{
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
    while (m->tab[i].key && m->tab[i].key != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void umap_put(umap *m, uint64_t key, int64_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        umap old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->tab = calloc(m->cap, sizeof(umap_ent));
        if (!m->tab)
            exit(3);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.tab[i].key)
                umap_put(m, old.tab[i].key, old.tab[i].val);
        free(old.tab);
    }
    size_t i = umap_slot(m, key);
    if (!m->tab[i].key)
        m->n++;
    m->tab[i].key = key;
    m->tab[i].val = val;
}

static bool umap_get(const umap *m, uint64_t key, int64_t *val)
{
    if (!m->cap)
        return false;
    size_t i = umap_slot(m, key);
    if (!m->tab[i].key)
        return false;
    if (val)
        *val = m->tab[i].val;
    return true;
}

static void umap_clear(umap *m)
{
    if (m->tab)
        memset(m->tab, 0, m->cap * sizeof(umap_ent));
    m->n = 0;
}

/* ------------------------------------------------------------------ */
/* runner state                                                        */

typedef struct pyclass {
    char *name;
    bool fin;
    char *res;
    char *pyname;
    char *attrs[64]; /* attribute names in first-use order */
    int nattrs;
} pyclass;

typedef struct label {
    char *name;
    uint64_t id;
} label;

typedef struct ref_copy {
    hl_slot_kind kind;
    uint64_t index;
    char *name;
    uint64_t target;
} ref_copy;

typedef struct refvec {
    ref_copy *v;
    size_t n, cap;
} refvec;

typedef struct runner {
    hl_heap *h;
    bool check;
    /* header */
    bool gc_on;
    int thr[3];
    bool compare_counts;
    /* current op */
    long opno;
    char *optext;
    const char *errtag;
    /* streams */
    long ntokens;
    sbuf body;  /* python body (inside try:) */
    sbuf notes; /* model notes for the current op */
    /* paths */
    umap pathidx; /* id -> index into paths */
    char **paths;
    uint64_t *pathids; /* BFS order */
    size_t npaths, pathcap;
    /* labels */
    label *labels;
    size_t nlabels, labelcap;
    /* classes */
    pyclass *classes;
    size_t nclasses;
    umap inst_class; /* instance id -> class index */
    bool gc_enabled; /* mirror of the model's setting */
    bool in_op;
    FILE *dump; /* random mode: scenario text */
    bool dump_mode; /* random mode: o<id> resolves to id */
    bool workaround; /* --workaround-known (investigation only) */
} runner;

static runner R;

static void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "hl-scenario: ");
    if (R.opno > 0)
        fprintf(stderr, "op %ld (%s): ", R.opno, R.optext ? R.optext : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(2);
}

static void tok(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    R.ntokens++;
}

static void py(const char *fmt, ...)
{
    va_list ap;
    sb_puts(&R.body, "    ");
    va_start(ap, fmt);
    sb_vprintf(&R.body, fmt, ap);
    va_end(ap);
    sb_puts(&R.body, "\n");
}

static void sink(void *ctx, const hl_event *ev)
{
    (void)ctx;
    switch (ev->kind) {
    case HL_EV_FINALIZE:
        tok("F");
        tok("%" PRIu64, ev->id);
        break;
    case HL_EV_WEAKREF_CALLBACK:
        tok("W");
        tok("%" PRIu64, ev->id);
        break;
    case HL_EV_COLLECT:
        if (ev->collect && ev->collect->automatic)
            sb_printf(&R.notes, "automatic collection of generation %d: %" PRIu64
                      " collected, %" PRIu64 " uncollectable; ",
                      ev->collect->generation, ev->collect->collected,
                      ev->collect->uncollectable);
        break;
    case HL_EV_RESURRECT:
        sb_printf(&R.notes, "%" PRIu64 " resurrected; ", ev->id);
        break;
    case HL_EV_FREE:
    default:
        break;
    }
}

/* ------------------------------------------------------------------ */
/* access paths                                                        */

static bool ref_visit(void *ctx, const hl_ref *ref)
{
    refvec *rv = ctx;
    if (rv->n == rv->cap) {
        rv->cap = rv->cap ? rv->cap * 2 : 16;
        rv->v = xrealloc(rv->v, rv->cap * sizeof(ref_copy));
    }
    ref_copy *c = &rv->v[rv->n++];
    c->kind = ref->kind;
    c->index = ref->index;
    c->name = ref->name ? xstrdup(ref->name) : NULL;
    c->target = ref->target;
    return true;
}

static void refvec_free(refvec *rv)
{
    for (size_t i = 0; i < rv->n; i++)
        free(rv->v[i].name);
    rv->n = 0;
}

static void get_refs(uint64_t id, refvec *rv)
{
    refvec_free(rv);
    hl_status s = hl_heap_referents(R.h, id, ref_visit, rv);
    if (s != HL_OK)
        die("hl_heap_referents(%" PRIu64 ") failed: %s", id, hl_status_name(s));
}

static void add_path(uint64_t id, char *path)
{
    if (R.npaths == R.pathcap) {
        R.pathcap = R.pathcap ? R.pathcap * 2 : 256;
        R.paths = xrealloc(R.paths, R.pathcap * sizeof(char *));
        R.pathids = xrealloc(R.pathids, R.pathcap * sizeof(uint64_t));
    }
    umap_put(&R.pathidx, id, (int64_t)R.npaths);
    R.paths[R.npaths] = path;
    R.pathids[R.npaths] = id;
    R.npaths++;
}

static bool name_visit(void *ctx, const char *name, uint64_t id)
{
    (void)ctx;
    if (umap_get(&R.pathidx, id, NULL))
        return true;
    sbuf p = {0};
    sb_printf(&p, "v_%s", name);
    add_path(id, p.buf);
    return true;
}

static void compute_paths(void)
{
    for (size_t i = 0; i < R.npaths; i++)
        free(R.paths[i]);
    R.npaths = 0;
    umap_clear(&R.pathidx);
    hl_heap_names(R.h, name_visit, NULL);
    refvec rv = {0};
    for (size_t q = 0; q < R.npaths; q++) {
        uint64_t id = R.pathids[q];
        hl_object_info info;
        if (hl_heap_object_info(R.h, id, &info) != HL_OK)
            die("a name or container refers to a dead object %" PRIu64, id);
        if (info.type != HL_LIST && info.type != HL_TUPLE && info.type != HL_DICT &&
            info.type != HL_INSTANCE)
            continue;
        get_refs(id, &rv);
        for (size_t k = 0; k < rv.n; k++) {
            ref_copy *c = &rv.v[k];
            if (umap_get(&R.pathidx, c->target, NULL))
                continue;
            sbuf p = {0};
            const char *parent = R.paths[q];
            if (c->kind == HL_SLOT_INDEX && (info.type == HL_LIST || info.type == HL_TUPLE))
                sb_printf(&p, "%s[%" PRIu64 "]", parent, c->index);
            else if (c->kind == HL_SLOT_KEY && info.type == HL_DICT && c->name && is_ident(c->name))
                sb_printf(&p, "%s[\"%s\"]", parent, c->name);
            else if (c->kind == HL_SLOT_ATTR && info.type == HL_INSTANCE && c->name &&
                     is_ident(c->name))
                sb_printf(&p, "%s.%s", parent, c->name);
            else
                continue;
            add_path(c->target, p.buf);
        }
    }
    refvec_free(&rv);
    free(rv.v);
}

static const char *path_of(uint64_t id)
{
    int64_t ix;
    if (!umap_get(&R.pathidx, id, &ix)) {
        hl_object_info info;
        if (hl_heap_object_info(R.h, id, &info) != HL_OK)
            die("object %" PRIu64 " is not alive", id);
        die("object %" PRIu64 " (%s) has no access path from a name", id, hl_type_name(info.type));
    }
    return R.paths[ix];
}

/* ------------------------------------------------------------------ */
/* labels and classes                                                  */

static void set_label(const char *name, uint64_t id)
{
    if (!name || strcmp(name, "-") == 0)
        return;
    for (size_t i = 0; i < R.nlabels; i++)
        if (strcmp(R.labels[i].name, name) == 0) {
            R.labels[i].id = id;
            return;
        }
    if (R.nlabels == R.labelcap) {
        R.labelcap = R.labelcap ? R.labelcap * 2 : 64;
        R.labels = xrealloc(R.labels, R.labelcap * sizeof(label));
    }
    R.labels[R.nlabels].name = xstrdup(name);
    R.labels[R.nlabels].id = id;
    R.nlabels++;
}

/* label, $name (object bound to a root name) or #id */
static uint64_t resolve(const char *operand)
{
    if (operand[0] == '$') {
        uint64_t id;
        hl_status s = hl_heap_name_lookup(R.h, operand + 1, &id);
        if (s != HL_OK)
            die("name %s: %s", operand + 1, hl_status_name(s));
        return id;
    }
    if (operand[0] == '#')
        return strtoull(operand + 1, NULL, 10);
    for (size_t i = 0; i < R.nlabels; i++)
        if (strcmp(R.labels[i].name, operand) == 0)
            return R.labels[i].id;
    /* random scenarios name objects o<id>, and so do their dumps */
    if (operand[0] == 'o' && isdigit((unsigned char)operand[1]))
        return strtoull(operand + 1, NULL, 10);
    die("unknown label %s", operand);
    return 0;
}

static int get_class(const char *name, bool fin, const char *res)
{
    for (size_t i = 0; i < R.nclasses; i++) {
        pyclass *c = &R.classes[i];
        if (strcmp(c->name, name) == 0 && c->fin == fin &&
            ((!c->res && !res) || (c->res && res && strcmp(c->res, res) == 0)))
            return (int)i;
    }
    R.classes = xrealloc(R.classes, (R.nclasses + 1) * sizeof(pyclass));
    pyclass *c = &R.classes[R.nclasses];
    memset(c, 0, sizeof *c);
    c->name = xstrdup(name);
    c->fin = fin;
    c->res = res ? xstrdup(res) : NULL;
    sbuf p = {0};
    sb_printf(&p, "C_%s%s%s%s", name, fin ? "_F" : "", res ? "_R_" : "", res ? res : "");
    c->pyname = p.buf;
    return (int)R.nclasses++;
}

static void class_use_attr(int ci, const char *attr)
{
    pyclass *c = &R.classes[ci];
    for (int i = 0; i < c->nattrs; i++)
        if (strcmp(c->attrs[i], attr) == 0)
            return;
    if (c->nattrs >= 25)
        die("class %s: more than 25 attribute names (CPython's shared keys would overflow)",
            c->name);
    c->attrs[c->nattrs++] = xstrdup(attr);
}

/* ------------------------------------------------------------------ */
/* operations: each runs in the model, checks, and emits Python         */

typedef enum outcome { OUT_OK, OUT_ERR } outcome;

static void begin_op(const char *text)
{
    R.opno++;
    free(R.optext);
    R.optext = xstrdup(text);
    sb_clear(&R.notes);
    sb_printf(&R.body, "    # @op %ld tok %ld: ", R.opno, R.ntokens);
    for (const char *p = text; *p; p++)
        sb_putn(&R.body, (*p == '\n' || *p == '\r') ? " " : p, 1);
    sb_puts(&R.body, "\n");
    if (R.dump && strncmp(text, "#", 1) != 0)
        fprintf(R.dump, "%s\n", text);
    compute_paths();
}

static void end_op(void)
{
    if (R.notes.len)
        py("# model: %s", R.notes.buf);
    if (R.check) {
        char why[512] = "";
        if (!hl_heap_check(R.h, why, sizeof why))
            die("model invariant violated: %s", why);
    }
}

/* returns true when the model call's status is acceptable */
static bool check_status(hl_status s, const char *what)
{
    if (R.errtag) {
        if (s == HL_OK)
            die("%s succeeded in the model, expected %s", what, R.errtag);
        if (strcmp(hl_status_name(s), R.errtag) != 0)
            die("%s failed with %s, expected %s", what, hl_status_name(s), R.errtag);
        py("# (expected model error %s: not run in Python)", R.errtag);
        return false;
    }
    if (s != HL_OK)
        die("%s failed in the model: %s (%s)", what, hl_status_name(s), hl_status_message(s));
    return true;
}

static bool shared_object(uint64_t id, const hl_object_info *info)
{
    (void)id;
    switch (info->type) {
    case HL_INT: {
        int64_t v;
        if (hl_heap_int_value(R.h, id, &v) == HL_OK && v >= -5 && v <= 256)
            return true;
        return false;
    }
    case HL_STR:
    case HL_BYTES:
        return info->length <= 1;
    case HL_TUPLE:
        return info->length == 0;
    default:
        return false;
    }
}

static bool hl_type_is_gc_type(hl_type t) { return t >= HL_TUPLE; }

static void do_observe(uint64_t id, bool wrap)
{
    hl_object_info info;
    hl_status s = hl_heap_object_info(R.h, id, &info);
    if (s != HL_OK)
        die("observe: object %" PRIu64 ": %s", id, hl_status_name(s));
    const char *p = path_of(id);
    bool sh = shared_object(id, &info);
    tok("O");
    tok("%" PRIu64, id);
    if (sh)
        tok("-");
    else
        tok("%" PRIu32, info.refcount);
    tok("%zu", info.size);
    tok("%s", info.tracked ? "True" : "False");
    if (wrap)
        py("gc.disable()");
    py("_obs.append(\"O\"); _obs.append(%" PRIu64 ")", id);
    if (sh)
        py("_obs.append(\"-\")");
    else
        py("_obs.append(sys.getrefcount(%s) - 1)", p);
    /* sys.getsizeof is METH_VARARGS: its argument tuple would come from,
     * and go back to, the 1-tuple free list.  __sizeof__() plus the
     * pre-header (_PyType_PreHeaderSize: the GC head, and for instances the
     * managed-dict pointers) is what sys.getsizeof computes, without that. */
    int pre = info.type == HL_INSTANCE ? 32 : hl_type_is_gc_type(info.type) ? 16 : 0;
    if (pre)
        py("_obs.append(%s.__sizeof__() + %d); _obs.append(gc.is_tracked(%s))", p, pre, p);
    else
        py("_obs.append(%s.__sizeof__()); _obs.append(gc.is_tracked(%s))", p, p);
    if (wrap)
        py("gc.enable()");
}

typedef struct create_args {
    hl_type type;
    const char *label;
    const char *name; /* root name or NULL */
    int64_t ival;
    double fval;
    const char *text;
    size_t text_len;
    bool zeros;
    uint64_t items[MAX_ITEMS];
    size_t nitems;
    const char *keys[MAX_ITEMS];
    size_t nkeys;
    const char *cls;
    bool fin;
    const char *res;
} create_args;

static void op_create(const create_args *a)
{
    if (a->name && !is_ident(a->name))
        die("bad name %s", a->name);
    size_t n = (a->type == HL_DICT || a->type == HL_INSTANCE) ? a->nkeys : a->nitems;
    if (n > MAX_ITEMS)
        die("more than %d items", MAX_ITEMS);
    int ci = -1;
    const char *clsname = a->cls ? a->cls : "Node";
    if (a->type == HL_INSTANCE) {
        if (!is_ident(clsname) || (a->res && !is_ident(a->res)))
            die("bad class or resurrect name");
        ci = get_class(clsname, a->fin, a->res);
        for (size_t i = 0; i < a->nkeys; i++) {
            if (!is_attr_name(a->keys[i]))
                die("bad attribute name %s", a->keys[i]);
        }
    }
    if (a->type == HL_DICT)
        for (size_t i = 0; i < a->nkeys; i++)
            if (!is_ident(a->keys[i]))
                die("dict keys must be identifiers: %s", a->keys[i]);
    /* Python expressions of the items (paths before the op) */
    const char *ipath[MAX_ITEMS];
    size_t nv = (a->type == HL_DICT || a->type == HL_INSTANCE) ? a->nkeys : a->nitems;
    for (size_t i = 0; i < nv; i++)
        ipath[i] = R.errtag ? NULL : path_of(a->items[i]);

    hl_create_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.type = a->type;
    spec.int_value = a->ival;
    spec.float_value = a->fval;
    spec.text = a->zeros ? NULL : a->text;
    spec.text_len = a->text_len;
    if (a->type == HL_DICT || a->type == HL_INSTANCE) {
        spec.keys = a->keys;
        spec.values = a->items;
        spec.nkeys = a->nkeys;
    } else {
        spec.items = a->items;
        spec.nitems = a->nitems;
    }
    spec.class_name = a->type == HL_INSTANCE ? clsname : NULL;
    spec.finalizer = a->fin;
    spec.resurrect = a->res;
    hl_create_result res = {0};
    hl_status s = hl_op_create(R.h, &spec, a->name, &res);
    if (!check_status(s, "create"))
        return;
    set_label(a->label, res.id);

    sbuf e = {0};
    switch (a->type) {
    case HL_INT:
        if (a->ival < 0)
            sb_printf(&e, "(_z + (%" PRId64 "))", a->ival);
        else
            sb_printf(&e, "(_z + %" PRId64 ")", a->ival);
        break;
    case HL_FLOAT:
        if (isnan(a->fval))
            sb_puts(&e, "float(\"nan\")");
        else if (isinf(a->fval))
            sb_puts(&e, a->fval > 0 ? "float(\"inf\")" : "float(\"-inf\")");
        else
            sb_printf(&e, "float(\"%.17g\")", a->fval);
        break;
    case HL_STR:
        sb_pylit(&e, a->text ? a->text : "", a->text_len, false);
        sb_puts(&e, ".encode().decode()");
        break;
    case HL_BYTES:
        if (a->zeros) {
            sb_printf(&e, "('\\x00' * %zu).encode('latin-1')", a->text_len);
        } else {
            sb_pylit(&e, a->text ? a->text : "", a->text_len, true);
            sb_puts(&e, ".encode('latin-1')");
        }
        break;
    case HL_LIST:
    case HL_TUPLE:
    case HL_SET:
        if (a->nitems == 0) {
            sb_puts(&e, a->type == HL_LIST ? "[]" : a->type == HL_TUPLE ? "()" : "set()");
            break;
        }
        sb_puts(&e, a->type == HL_LIST ? "[" : a->type == HL_TUPLE ? "(" : "{");
        for (size_t i = 0; i < a->nitems; i++)
            sb_printf(&e, "%s%s", i ? ", " : "", ipath[i]);
        sb_puts(&e, a->type == HL_LIST ? "]" : a->type == HL_TUPLE ? ",)" : "}");
        break;
    case HL_DICT:
        sb_puts(&e, "{");
        for (size_t i = 0; i < a->nkeys; i++)
            sb_printf(&e, "%s\"%s\": %s", i ? ", " : "", a->keys[i], ipath[i]);
        sb_puts(&e, "}");
        break;
    case HL_INSTANCE:
        break;
    default:
        die("create: unsupported type %s", hl_type_name(a->type));
    }
    if (a->type == HL_INSTANCE) {
        umap_put(&R.inst_class, res.id, ci);
        for (size_t i = 0; i < a->nkeys; i++) {
            class_use_attr(ci, a->keys[i]);
            py("_a%zu = %s", i, ipath[i]);
        }
        py("_t = _reg(%" PRIu64 ", %s())", res.id, R.classes[ci].pyname);
        for (size_t i = 0; i < a->nkeys; i++)
            py("_t.%s = _a%zu", a->keys[i], i);
        for (size_t i = 0; i < a->nkeys; i++)
            py("del _a%zu", i);
        if (a->name)
            py("v_%s = _t", a->name);
        py("del _t");
    } else if (a->name) {
        py("v_%s = _reg(%" PRIu64 ", %s)", a->name, res.id, e.buf);
    } else {
        py("_reg(%" PRIu64 ", %s)", res.id, e.buf);
    }
    free(e.buf);
}

static void op_weakref(const char *lab, uint64_t target, bool cb, const char *name)
{
    const char *tp = R.errtag ? NULL : path_of(target);
    if (name && !is_ident(name))
        die("bad name %s", name);
    hl_create_result res = {0};
    if (R.workaround && !R.errtag) {
        /* --workaround-known: stand in for the argument tuple CPython's
         * type call allocates (and frees into the free list) */
        uint64_t items[2] = {target, target};
        hl_create_spec ts;
        memset(&ts, 0, sizeof ts);
        ts.type = HL_TUPLE;
        ts.items = items;
        ts.nitems = cb ? 2 : 1;
        hl_create_result tr;
        hl_op_create(R.h, &ts, NULL, &tr);
    }
    hl_status s = hl_op_weakref(R.h, target, cb, name, &res);
    if (!check_status(s, "weakref"))
        return;
    set_label(lab, res.id);
    if (name)
        py("v_%s = _reg(%" PRIu64 ", weakref.ref(%s%s))", name, res.id, tp, cb ? ", _cb" : "");
    else
        py("_reg(%" PRIu64 ", weakref.ref(%s%s))", res.id, tp, cb ? ", _cb" : "");
}

static void op_bind(const char *name, uint64_t id)
{
    if (!is_ident(name))
        die("bad name %s", name);
    const char *p = R.errtag ? NULL : path_of(id);
    hl_status s = hl_op_bind(R.h, name, id);
    if (!check_status(s, "bind"))
        return;
    py("v_%s = %s", name, p);
}

static void op_unbind(const char *name)
{
    hl_status s = hl_op_unbind(R.h, name);
    if (!check_status(s, "unbind"))
        return;
    py("del v_%s", name);
}

static void op_add_ref(uint64_t cid, hl_ref_op op, int64_t index, const char *key, uint64_t target)
{
    const char *cp = NULL, *tp = NULL;
    if (!R.errtag) {
        cp = path_of(cid);
        tp = path_of(target);
    }
    int ci = -1;
    if (op == HL_REF_SET_ATTR) {
        if (!is_attr_name(key))
            die("bad attribute name %s", key);
        int64_t v;
        if (umap_get(&R.inst_class, cid, &v))
            ci = (int)v;
    }
    if (op == HL_REF_SET_KEY && !is_ident(key))
        die("dict keys must be identifiers: %s", key);
    hl_ref_spec spec = {op, index, key, target};
    hl_status s = hl_op_add_ref(R.h, cid, &spec);
    if (!check_status(s, "add-ref"))
        return;
    switch (op) {
    case HL_REF_APPEND:
        py("%s.append(%s)", cp, tp);
        break;
    case HL_REF_SET_INDEX:
        py("%s[%" PRId64 "] = %s", cp, index, tp);
        break;
    case HL_REF_SET_KEY:
        py("%s[\"%s\"] = %s", cp, key, tp);
        break;
    case HL_REF_SET_ATTR:
        if (ci < 0)
            die("setattr on an object the scenario did not create as an instance");
        class_use_attr(ci, key);
        py("%s.%s = %s", cp, key, tp);
        break;
    case HL_REF_ADD_MEMBER:
        py("%s.add(%s)", cp, tp);
        break;
    }
}

static void op_remove_ref(uint64_t cid, hl_unref_op op, int64_t index, const char *key,
                          uint64_t target)
{
    const char *cp = NULL, *tp = NULL;
    if (!R.errtag) {
        cp = path_of(cid);
        if (op == HL_UNREF_TARGET)
            tp = path_of(target);
    }
    hl_unref_spec spec = {op, index, key, target};
    hl_status s = hl_op_remove_ref(R.h, cid, &spec);
    if (!check_status(s, "remove-ref"))
        return;
    switch (op) {
    case HL_UNREF_INDEX:
        py("del %s[%" PRId64 "]", cp, index);
        break;
    case HL_UNREF_KEY:
        py("del %s[\"%s\"]", cp, key);
        break;
    case HL_UNREF_ATTR:
        py("del %s.%s", cp, key);
        break;
    case HL_UNREF_TARGET:
        py("%s.remove(%s)", cp, tp);
        break;
    }
}

static void op_collect(int gen)
{
    if (R.errtag) {
        hl_collect_result cr;
        check_status(hl_op_collect(R.h, gen, &cr), "collect");
        return;
    }
    tok("C");
    hl_collect_result cr;
    memset(&cr, 0, sizeof cr);
    hl_status s = hl_op_collect(R.h, gen, &cr);
    check_status(s, "collect");
    tok("%" PRIu64, cr.collected + cr.uncollectable);
    py("_obs.append(\"C\"); _obs.append(gc.collect(%d))", gen);
}

static void op_gc_enable(bool on)
{
    hl_gc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.set_enabled = true;
    cfg.enabled = on;
    hl_status s = hl_op_gc_config(R.h, &cfg);
    if (!check_status(s, on ? "gc enable" : "gc disable"))
        return;
    R.gc_enabled = on;
    py(on ? "gc.enable()" : "gc.disable()");
}

static void op_threshold(int n, const int *t)
{
    hl_gc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nthresholds = n;
    for (int i = 0; i < n; i++)
        cfg.thresholds[i] = t[i];
    hl_status s = hl_op_gc_config(R.h, &cfg);
    if (!check_status(s, "set-threshold"))
        return;
    if (n == 1)
        py("gc.set_threshold(%d)", t[0]);
    else if (n == 2)
        py("gc.set_threshold(%d, %d)", t[0], t[1]);
    else
        py("gc.set_threshold(%d, %d, %d)", t[0], t[1], t[2]);
}

static void op_freeze(bool freeze)
{
    hl_status s = freeze ? hl_op_freeze(R.h) : hl_op_unfreeze(R.h);
    if (!check_status(s, freeze ? "freeze" : "unfreeze"))
        return;
    py(freeze ? "gc.freeze()" : "gc.unfreeze()");
}

/* ------------------------------------------------------------------ */
/* start and end                                                       */

static void runner_start(void)
{
    hl_heap_config cfg;
    hl_heap_config_default(&cfg);
    cfg.thresholds[0] = R.thr[0];
    cfg.thresholds[1] = R.thr[1];
    cfg.thresholds[2] = R.thr[2];
    cfg.gc_enabled = R.gc_on;
    R.h = hl_heap_new(&cfg);
    if (!R.h)
        die("hl_heap_new failed");
    hl_heap_set_event_sink(R.h, sink, NULL);
    R.gc_enabled = R.gc_on;
}

static void write_program(const char *out)
{
    FILE *f = fopen(out, "w");
    if (!f)
        die("cannot write %s: %s", out, strerror(errno));
    fprintf(f, "# generated by hl-scenario: the Python twin of a heaplab scenario\n");
    fprintf(f, "import gc, sys, weakref, os\n");
    fprintf(f, "gc.disable()\n");
    fprintf(f, "_obs = []\n_ids = {}\n_z = 0\n");
    fprintf(f, "def _reg(n, o):\n    _ids[id(o)] = n\n    return o\n");
    fprintf(f, "def _cb(wr):\n    _obs.append(\"W\")\n    _obs.append(_ids[id(wr)])\n");
    for (size_t i = 0; i < R.nclasses; i++) {
        pyclass *c = &R.classes[i];
        fprintf(f, "class %s:\n", c->pyname);
        if (!c->fin) {
            fprintf(f, "    pass\n");
            continue;
        }
        fprintf(f, "    def __del__(self):\n");
        if (c->res)
            fprintf(f, "        global v_%s\n", c->res);
        fprintf(f, "        _obs.append(\"F\")\n        _obs.append(_ids[id(self)])\n");
        if (c->res)
            fprintf(f, "        v_%s = self\n", c->res);
    }
    fprintf(f, "class _Warm:\n    pass\n");
    /* Seed each class's shared keys with its attribute names in the order the
     * scenario first used them, so that no instance dict is ever
     * materialized (3.11 shrinks the shared keys' usable size per instance)
     * and attribute traversal follows first-use order. */
    fprintf(f, "_seed = []\n");
    for (size_t i = 0; i < R.nclasses; i++) {
        pyclass *c = &R.classes[i];
        if (!c->nattrs)
            continue;
        fprintf(f, "_k = %s()\n", c->pyname);
        for (int k = 0; k < c->nattrs; k++)
            fprintf(f, "_k.%s = None\n", c->attrs[k]);
        fprintf(f, "_seed.append(_k)\ndel _k\n");
    }
    /* warm-ups: every kind of statement once, outside the measured part */
    fprintf(f,
            "_w = _reg(0, _Warm()); _w.a = None; del _w.a\n"
            "_l = [_w, _w]; _l.append(_w); _l.remove(_w); _l[0] = _w; del _l[0]\n"
            "_d = {\"k\": _w, \"j\": _w}; _d[\"i\"] = _w; del _d[\"k\"]\n"
            "_s = {1, 2}; _s.add(3); _s.remove(3); _s2 = set(); _tu = (_w, _w,)\n"
            "_r = _reg(0, weakref.ref(_w, _cb)); _r2 = weakref.ref(_w)\n"
            "sys.getrefcount(_w); sys.getsizeof(_w); gc.is_tracked(_w); sys.getsizeof(_l)\n"
            "float(\"1.5\"); 'ab'.encode().decode(); 'ab'.encode('latin-1'); _z + 1000\n"
            "('\\x00' * 3).encode('latin-1')\n"
            "gc.enable(); gc.disable(); gc.get_count()\n"
            "del _r, _r2, _l, _d, _s, _s2, _tu\n"
            "_r = _reg(0, weakref.ref(_w, _cb))\n"
            "del _w, _r\n");
    for (size_t i = 0; i < R.nclasses; i++) {
        pyclass *c = &R.classes[i];
        fprintf(f, "_w = _reg(0, %s()); _r = _reg(0, weakref.ref(_w, _cb)); del _w, _r\n",
                c->pyname);
        if (c->res)
            fprintf(f, "del v_%s\n", c->res);
    }
    fprintf(f, "_obs.clear()\n");
    fprintf(f, "gc.set_threshold(%d, %d, %d)\n", R.thr[0], R.thr[1], R.thr[2]);
    fprintf(f, "_s0 = [(_x[\"collections\"], _x[\"collected\"], _x[\"uncollectable\"]) "
               "for _x in gc.get_stats()]\n");
    fprintf(f, "_pre = gc.collect()\ngc.freeze()\n_pre += gc.collect()\n");
    if (R.gc_on)
        fprintf(f, "gc.enable()\n");
    fprintf(f, "try:\n    pass\n");
    fwrite(R.body.buf ? R.body.buf : "", 1, R.body.len, f);
    fprintf(f,
            "except BaseException as _e:\n"
            "    import traceback\n"
            "    traceback.print_exc()\n"
            "    _obs.append(\"PYTHON-EXCEPTION\")\n"
            "    _obs.append(type(_e).__name__)\n"
            "    sys.stdout.write(\"\".join(str(_x) + \"\\n\" for _x in _obs))\n"
            "    sys.stdout.flush()\n"
            "    os._exit(1)\n");
    fprintf(f, "sys.stdout.write(\"\".join(str(_x) + \"\\n\" for _x in _obs))\n"
               "sys.stdout.flush()\n"
               "os._exit(0)\n");
    if (fclose(f) != 0)
        die("writing %s failed", out);
}

static void runner_finish(const char *out)
{
    /* epilogue: everything that still has a path, in id order */
    R.errtag = NULL;
    begin_op("# epilogue");
    if (R.gc_enabled)
        op_gc_enable(false);
    end_op();
    compute_paths();
    for (uint64_t id = hl_heap_next_live_id(R.h, 0); id; id = hl_heap_next_live_id(R.h, id)) {
        if (umap_get(&R.pathidx, id, NULL))
            do_observe(id, false);
    }
    if (R.compare_counts) {
        hl_gc_state st;
        hl_heap_gc_state(R.h, &st);
        tok("N");
        for (int g = 0; g < 3; g++)
            tok("%" PRId64, st.count[g]);
        tok("S");
        for (int g = 0; g < 3; g++) {
            tok("%" PRIu64, st.stats[g].collections);
            tok("%" PRIu64, st.stats[g].collected);
            tok("%" PRIu64, st.stats[g].uncollectable);
        }
        py("_c = gc.get_count(); _obs.append(\"N\"); _obs.extend(_c); del _c");
        py("_st = gc.get_stats(); _obs.append(\"S\")");
        py("for _g in range(3):");
        py("    _obs.append(_st[_g][\"collections\"] - _s0[_g][0] - (2 if _g == 2 else 0))");
        py("    _obs.append(_st[_g][\"collected\"] - _s0[_g][1] - (_pre if _g == 2 else 0))");
        py("    _obs.append(_st[_g][\"uncollectable\"] - _s0[_g][2])");
        py("del _st");
    }
    begin_op("# final collection");
    op_collect(2);
    end_op();
    write_program(out);
    hl_heap_set_event_sink(R.h, NULL, NULL);
    hl_heap_delete(R.h);
    R.h = NULL;
}

/* ------------------------------------------------------------------ */
/* scenario files                                                      */

static int tokenize(char *line, char **toks, int max)
{
    int n = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p || *p == '#')
            break;
        if (n == max)
            die("too many tokens");
        char *start = p, *w = p;
        bool quoted = false;
        while (*p && (quoted || !(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))) {
            if (*p == '"') {
                quoted = !quoted;
                *w++ = 1; /* marks a quote: keeps "" distinguishable from nothing */
                p++;
                continue;
            }
            if (quoted && *p == '\\' && p[1]) {
                p++;
                char c = *p;
                if (c == 'n')
                    *w++ = '\n';
                else if (c == 't')
                    *w++ = '\t';
                else if (c == '0')
                    *w++ = 0x02; /* NUL placeholder, see unquote() */
                else if (c == 'x' && isxdigit((unsigned char)p[1]) &&
                         isxdigit((unsigned char)p[2])) {
                    char hx[3] = {p[1], p[2], 0};
                    int v = (int)strtol(hx, NULL, 16);
                    *w++ = v == 0 ? 0x02 : (char)v;
                    p += 2;
                } else
                    *w++ = c;
                p++;
                continue;
            }
            *w++ = *p++;
        }
        if (quoted)
            die("unterminated string");
        if (*p)
            p++;
        *w = 0;
        toks[n++] = start;
    }
    return n;
}

/* strips quote markers; NUL placeholders become real NULs counted in *len */
static char *unquote(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *d = xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 1)
            continue;
        d[k++] = s[i] == 0x02 ? 0 : s[i];
    }
    d[k] = 0;
    if (len)
        *len = k;
    return d;
}

static const char *opt(char **t, int n, int from, const char *key)
{
    size_t kl = strlen(key);
    for (int i = from; i < n; i++)
        if (strncmp(t[i], key, kl) == 0 && t[i][kl] == '=')
            return t[i] + kl + 1;
    return NULL;
}

static bool flag(char **t, int n, int from, const char *key)
{
    for (int i = from; i < n; i++)
        if (strcmp(t[i], key) == 0)
            return true;
    return false;
}

static int64_t parse_int(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        die("bad integer %s", s);
    return v;
}

static bool parse_type(const char *s, hl_type *t)
{
    if (strcmp(s, "instance") == 0 || strcmp(s, "obj") == 0) {
        *t = HL_INSTANCE;
        return true;
    }
    return hl_type_from_name(s, t);
}

/* "a,b,c" -> items; "k:a,j:b" -> keys + items */
static size_t split_list(const char *spec, bool keyed, create_args *a, char *store)
{
    size_t n = 0;
    strcpy(store, spec);
    char *save = NULL;
    for (char *p = strtok_r(store, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (n >= MAX_ITEMS)
            die("more than %d items", MAX_ITEMS);
        if (keyed) {
            char *colon = strchr(p, ':');
            if (!colon)
                die("expected key:operand, got %s", p);
            *colon = 0;
            a->keys[n] = p;
            a->items[n] = resolve(colon + 1);
        } else {
            a->items[n] = resolve(p);
        }
        n++;
    }
    return n;
}

static void run_line(char **t, int n, bool *header)
{
    const char *op = t[0];
    if (*header) {
        if (strcmp(op, "gc") == 0 && n == 2) {
            R.gc_on = strcmp(t[1], "on") == 0;
            return;
        }
        if (strcmp(op, "threshold") == 0 && n == 4) {
            for (int i = 0; i < 3; i++)
                R.thr[i] = (int)parse_int(t[i + 1]);
            return;
        }
        if (strcmp(op, "compare-counts") == 0) {
            R.compare_counts = true;
            return;
        }
        *header = false;
        runner_start();
    }
    if (strcmp(op, "expect-error") == 0) {
        if (n < 3)
            die("expect-error KIND op ...");
        R.errtag = t[1];
        run_line(t + 2, n - 2, header);
        R.errtag = NULL;
        return;
    }
    if (strcmp(op, "create") == 0) {
        if (n < 3)
            die("create LABEL TYPE ...");
        create_args a;
        memset(&a, 0, sizeof a);
        char store[4096];
        a.label = t[1];
        if (!parse_type(t[2], &a.type))
            die("unknown type %s", t[2]);
        a.name = opt(t, n, 3, "name");
        char *text = NULL;
        switch (a.type) {
        case HL_INT:
            if (n < 4)
                die("create L int VALUE");
            a.ival = parse_int(t[3]);
            break;
        case HL_FLOAT:
            if (n < 4)
                die("create L float VALUE");
            a.fval = strtod(t[3], NULL);
            break;
        case HL_STR:
        case HL_BYTES:
            if (opt(t, n, 3, "zeros")) {
                a.zeros = true;
                a.text_len = (size_t)parse_int(opt(t, n, 3, "zeros"));
            } else {
                if (n < 4)
                    die("create L str|bytes \"TEXT\"");
                text = unquote(t[3], &a.text_len);
                a.text = text;
            }
            break;
        case HL_LIST:
        case HL_TUPLE:
        case HL_SET: {
            const char *it = opt(t, n, 3, "items");
            if (it)
                a.nitems = split_list(it, false, &a, store);
            break;
        }
        case HL_DICT: {
            const char *it = opt(t, n, 3, "keys");
            if (it)
                a.nkeys = split_list(it, true, &a, store);
            break;
        }
        case HL_INSTANCE: {
            const char *it = opt(t, n, 3, "attrs");
            if (it)
                a.nkeys = split_list(it, true, &a, store);
            a.cls = opt(t, n, 3, "class");
            a.fin = flag(t, n, 3, "fin");
            a.res = opt(t, n, 3, "resurrect");
            if (a.res)
                a.fin = true;
            break;
        }
        default:
            die("cannot create a %s (use the weakref op)", t[2]);
        }
        op_create(&a);
        free(text);
        return;
    }
    if (strcmp(op, "weakref") == 0 && n >= 3) {
        op_weakref(t[1], resolve(t[2]), flag(t, n, 3, "cb"), opt(t, n, 3, "name"));
        return;
    }
    if (strcmp(op, "bind") == 0 && n == 3) {
        op_bind(t[1], resolve(t[2]));
        return;
    }
    if (strcmp(op, "unbind") == 0 && n == 2) {
        op_unbind(t[1]);
        return;
    }
    if (strcmp(op, "append") == 0 && n == 3) {
        op_add_ref(resolve(t[1]), HL_REF_APPEND, 0, NULL, resolve(t[2]));
        return;
    }
    if (strcmp(op, "setitem") == 0 && n == 4) {
        op_add_ref(resolve(t[1]), HL_REF_SET_INDEX, parse_int(t[2]), NULL, resolve(t[3]));
        return;
    }
    if (strcmp(op, "setkey") == 0 && n == 4) {
        op_add_ref(resolve(t[1]), HL_REF_SET_KEY, 0, t[2], resolve(t[3]));
        return;
    }
    if (strcmp(op, "setattr") == 0 && n == 4) {
        op_add_ref(resolve(t[1]), HL_REF_SET_ATTR, 0, t[2], resolve(t[3]));
        return;
    }
    if (strcmp(op, "add") == 0 && n == 3) {
        op_add_ref(resolve(t[1]), HL_REF_ADD_MEMBER, 0, NULL, resolve(t[2]));
        return;
    }
    if (strcmp(op, "delitem") == 0 && n == 3) {
        op_remove_ref(resolve(t[1]), HL_UNREF_INDEX, parse_int(t[2]), NULL, 0);
        return;
    }
    if (strcmp(op, "delkey") == 0 && n == 3) {
        op_remove_ref(resolve(t[1]), HL_UNREF_KEY, 0, t[2], 0);
        return;
    }
    if (strcmp(op, "delattr") == 0 && n == 3) {
        op_remove_ref(resolve(t[1]), HL_UNREF_ATTR, 0, t[2], 0);
        return;
    }
    if (strcmp(op, "remove") == 0 && n == 3) {
        op_remove_ref(resolve(t[1]), HL_UNREF_TARGET, 0, NULL, resolve(t[2]));
        return;
    }
    if (strcmp(op, "collect") == 0 && n <= 2) {
        op_collect(n == 2 ? (int)parse_int(t[1]) : 2);
        return;
    }
    if (strcmp(op, "gc") == 0 && n == 2) {
        op_gc_enable(strcmp(t[1], "on") == 0);
        return;
    }
    if (strcmp(op, "threshold") == 0 && n >= 2 && n <= 4) {
        int th[3];
        for (int i = 1; i < n; i++)
            th[i - 1] = (int)parse_int(t[i]);
        op_threshold(n - 1, th);
        return;
    }
    if (strcmp(op, "freeze") == 0 && n == 1) {
        op_freeze(true);
        return;
    }
    if (strcmp(op, "unfreeze") == 0 && n == 1) {
        op_freeze(false);
        return;
    }
    if (strcmp(op, "observe") == 0 && n == 2) {
        if (R.errtag)
            die("observe cannot fail");
        do_observe(resolve(t[1]), R.gc_enabled);
        return;
    }
    die("unknown or malformed op: %s", op);
}

static void run_file(const char *path, const char *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "hl-scenario: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char line[8192];
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        char copy[8192];
        strcpy(copy, line);
        size_t l = strlen(copy);
        while (l && (copy[l - 1] == '\n' || copy[l - 1] == '\r'))
            copy[--l] = 0;
        char *toks[MAX_TOK];
        int n = tokenize(line, toks, MAX_TOK);
        if (n == 0)
            continue;
        bool was_header = header;
        if (!header || !(strcmp(toks[0], "gc") == 0 || strcmp(toks[0], "threshold") == 0 ||
                         strcmp(toks[0], "compare-counts") == 0)) {
            if (was_header) {
                header = false;
                runner_start();
            }
            begin_op(copy);
            run_line(toks, n, &header);
            end_op();
        } else {
            run_line(toks, n, &header);
        }
    }
    fclose(f);
    if (header)
        runner_start();
    runner_finish(out);
}

/* ------------------------------------------------------------------ */
/* random scenarios                                                    */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned rndn(unsigned n) { return n ? (unsigned)(rnd() % n) : 0; }
static bool chance(unsigned pct) { return rndn(100) < pct; }

#define NROOTS 12
static const char *ATTRS[] = {"x", "y", "z", "u", "w"};
static const char *KEYS[] = {"k0", "k1", "k2", "k3", "k4", "k5"};

typedef struct objv {
    uint64_t *v;
    size_t n, cap;
} objv;

static void objv_push(objv *o, uint64_t id)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->v = xrealloc(o->v, o->cap * sizeof(uint64_t));
    }
    o->v[o->n++] = id;
}

static hl_type type_of(uint64_t id)
{
    hl_object_info info;
    if (hl_heap_object_info(R.h, id, &info) != HL_OK)
        die("object %" PRIu64 " vanished", id);
    return info.type;
}

static uint64_t pick_path_obj(bool (*pred)(uint64_t, hl_type))
{
    objv cand = {0};
    for (size_t i = 0; i < R.npaths; i++) {
        uint64_t id = R.pathids[i];
        if (!pred || pred(id, type_of(id)))
            objv_push(&cand, id);
    }
    uint64_t r = cand.n ? cand.v[rndn((unsigned)cand.n)] : 0;
    free(cand.v);
    return r;
}

static bool is_atomic(uint64_t id, hl_type t)
{
    (void)id;
    if (R.workaround)
        return t == HL_INT || t == HL_FLOAT;
    return t <= HL_BYTES;
}
static bool is_container(uint64_t id, hl_type t)
{
    (void)id;
    return t == HL_LIST || t == HL_DICT || t == HL_INSTANCE;
}
static bool is_mutable(uint64_t id, hl_type t)
{
    (void)id;
    return t == HL_LIST || t == HL_DICT || t == HL_INSTANCE || t == HL_SET;
}
static bool is_weakrefable(uint64_t id, hl_type t)
{
    (void)id;
    return t == HL_INSTANCE || t == HL_SET;
}

static const char *label_of(uint64_t id, char *buf, size_t cap)
{
    snprintf(buf, cap, "o%" PRIu64, id);
    return buf;
}

static int eq_category(hl_type t)
{
    switch (t) {
    case HL_INT:
    case HL_FLOAT:
        return 1;
    case HL_STR:
        return 2;
    case HL_BYTES:
        return 3;
    case HL_TUPLE:
        return 4;
    case HL_LIST:
        return 5;
    case HL_DICT:
        return 6;
    case HL_SET:
        return 7;
    case HL_INSTANCE:
        return 8;
    case HL_WEAKREF:
        return 9;
    }
    return 0;
}

static void rnd_text(char *buf, size_t len, bool bytes)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = bytes && chance(20) ? (char)rndn(256) : (char)('a' + rndn(6));
    buf[len] = 0;
}

static void random_step(void)
{
    char lb[3][32];
    char text[512];
    hl_heap_totals tot;
    hl_heap_totals_get(R.h, &tot);
    bool big = tot.objects > 700;
    compute_paths();
    unsigned w_create = big ? 4 : 16, w_atom = big ? 2 : 7, w_bind = 8,
             w_unbind = big ? 12 : 5, w_add = 22, w_rm = big ? 20 : 12, w_wr = 6,
             w_collect = big ? 10 : 5, w_gc = 2, w_freeze = 1, w_obs = 4;
    unsigned total = w_create + w_atom + w_bind + w_unbind + w_add + w_rm + w_wr + w_collect +
                     w_gc + w_freeze + w_obs;
    unsigned r = rndn(total);
    char root[16];
    snprintf(root, sizeof root, chance(7) ? "res" : "r%u", rndn(NROOTS));

#define PICK(w) (r < (w) ? true : (r -= (w), false))
    if (PICK(w_create)) {
        static const hl_type kinds[] = {HL_LIST, HL_LIST, HL_LIST, HL_INSTANCE, HL_INSTANCE,
                                        HL_INSTANCE, HL_INSTANCE, HL_DICT, HL_DICT, HL_TUPLE,
                                        HL_TUPLE, HL_SET};
        hl_type t = kinds[rndn(sizeof kinds / sizeof kinds[0])];
        sbuf s = {0};
        unsigned k = rndn(4);
        const char *tn = t == HL_INSTANCE ? "instance" : hl_type_name(t);
        uint64_t id0 = hl_heap_next_id(R.h);
        sb_printf(&s, "create o%" PRIu64 " %s", id0, tn);
        /* label is the id the model will probably give; fixed below if not */
        if (t == HL_LIST || t == HL_TUPLE || t == HL_SET) {
            if (k)
                sb_puts(&s, " items=");
            for (unsigned i = 0; i < k; i++) {
                uint64_t it = pick_path_obj(t == HL_SET ? is_atomic : NULL);
                if (!it)
                    break;
                sb_printf(&s, "%s%s", i ? "," : "", label_of(it, lb[0], sizeof lb[0]));
            }
            if (s.buf[s.len - 1] == '=')
                s.len -= 7, s.buf[s.len] = 0;
        } else {
            bool used[6] = {0};
            unsigned got = 0;
            for (unsigned i = 0; i < k; i++) {
                unsigned ki = rndn(t == HL_DICT ? 6 : 5);
                if (used[ki])
                    continue;
                used[ki] = true;
                uint64_t it = pick_path_obj(NULL);
                if (!it)
                    break;
                sb_printf(&s, "%s%s:%s", got ? "," : (t == HL_DICT ? " keys=" : " attrs="),
                          t == HL_DICT ? KEYS[ki] : ATTRS[ki], label_of(it, lb[0], sizeof lb[0]));
                got++;
            }
            if (t == HL_INSTANCE) {
                unsigned c = rndn(100);
                sb_puts(&s, c < 50 ? " class=Node" : c < 85 ? " class=Fin fin" :
                                                       " class=Res resurrect=res");
            }
        }
        if (!chance(12))
            sb_printf(&s, " name=%s", root);
        snprintf(text, sizeof text, "%s", s.buf);
        free(s.buf);
    } else if (PICK(w_atom)) {
        uint64_t id0 = hl_heap_next_id(R.h);
        unsigned c = rndn(100);
        char val[64];
        if (c < 35)
            snprintf(text, sizeof text, "create o%" PRIu64 " int %d name=%s", id0,
                     chance(40) ? (int)rndn(262) - 5 : (int)rndn(4) * 1000 + 1000, root);
        else if (c < 55)
            snprintf(text, sizeof text, "create o%" PRIu64 " float %s name=%s", id0,
                     chance(30) ? "1000.0" : chance(50) ? "1.5" : "-0.25", root);
        else if (c < 80) {
            rnd_text(val, rndn(5), false);
            snprintf(text, sizeof text, "create o%" PRIu64 " str \"%s\" name=%s", id0, val, root);
        } else {
            if (chance(40)) {
                snprintf(text, sizeof text, "create o%" PRIu64 " bytes zeros=%u name=%s", id0,
                         rndn(40), root);
            } else {
                size_t L = rndn(4);
                rnd_text(val, L, true);
                char esc[64] = "";
                size_t e = 0;
                for (size_t i = 0; i < L; i++)
                    e += (size_t)snprintf(esc + e, sizeof esc - e, "\\x%02x",
                                          (unsigned char)val[i]);
                snprintf(text, sizeof text, "create o%" PRIu64 " bytes \"%s\" name=%s", id0, esc,
                         root);
            }
        }
    } else if (PICK(w_bind)) {
        uint64_t id = pick_path_obj(NULL);
        if (!id)
            return;
        snprintf(text, sizeof text, "bind %s %s", root, label_of(id, lb[0], sizeof lb[0]));
    } else if (PICK(w_unbind)) {
        uint64_t id;
        if (hl_heap_name_lookup(R.h, root, &id) != HL_OK)
            return;
        snprintf(text, sizeof text, "unbind %s", root);
    } else if (PICK(w_add)) {
        uint64_t c = pick_path_obj(is_mutable);
        if (!c)
            return;
        hl_type ct = type_of(c);
        uint64_t tg = ct == HL_SET ? pick_path_obj(is_atomic)
                      : chance(45) ? pick_path_obj(is_container) : pick_path_obj(NULL);
        if (!tg)
            return;
        label_of(c, lb[0], sizeof lb[0]);
        label_of(tg, lb[1], sizeof lb[1]);
        if (ct == HL_LIST) {
            hl_object_info info;
            hl_heap_object_info(R.h, c, &info);
            if (info.length && chance(40)) {
                int64_t ix = (int64_t)rndn((unsigned)info.length);
                if (chance(25))
                    ix -= (int64_t)info.length;
                snprintf(text, sizeof text, "setitem %s %" PRId64 " %s", lb[0], ix, lb[1]);
            } else
                snprintf(text, sizeof text, "append %s %s", lb[0], lb[1]);
        } else if (ct == HL_DICT)
            snprintf(text, sizeof text, "setkey %s %s %s", lb[0], KEYS[rndn(6)], lb[1]);
        else if (ct == HL_INSTANCE)
            snprintf(text, sizeof text, "setattr %s %s %s", lb[0], ATTRS[rndn(5)], lb[1]);
        else
            snprintf(text, sizeof text, "add %s %s", lb[0], lb[1]);
    } else if (PICK(w_rm)) {
        uint64_t c = pick_path_obj(is_mutable);
        if (!c)
            return;
        hl_type ct = type_of(c);
        refvec rv = {0};
        get_refs(c, &rv);
        objv sel = {0};
        for (size_t i = 0; i < rv.n; i++) {
            hl_slot_kind k = rv.v[i].kind;
            if ((ct == HL_LIST && k == HL_SLOT_INDEX) || (ct == HL_DICT && k == HL_SLOT_KEY) ||
                (ct == HL_INSTANCE && k == HL_SLOT_ATTR) || (ct == HL_SET && k == HL_SLOT_MEMBER))
                objv_push(&sel, i);
        }
        if (!sel.n) {
            refvec_free(&rv);
            free(rv.v);
            free(sel.v);
            return;
        }
        ref_copy *rc = &rv.v[sel.v[rndn((unsigned)sel.n)]];
        label_of(c, lb[0], sizeof lb[0]);
        text[0] = 0;
        if (ct == HL_LIST) {
            bool by_value = chance(30) && umap_get(&R.pathidx, rc->target, NULL);
            if (by_value) {
                /* list.remove(t) compares earlier items with t: only when
                 * that cannot recurse or depend on hashes/identity games */
                hl_type tt = type_of(rc->target);
                int cat = eq_category(tt);
                bool safe = true;
                for (size_t i = 0; i < rv.n; i++) {
                    if (rv.v[i].kind != HL_SLOT_INDEX)
                        continue;
                    if (rv.v[i].target == rc->target)
                        break;
                    int c2 = eq_category(type_of(rv.v[i].target));
                    if (c2 == cat && cat >= 4 && cat != 8)
                        safe = false;
                }
                if (safe)
                    snprintf(text, sizeof text, "remove %s %s", lb[0],
                             label_of(rc->target, lb[1], sizeof lb[1]));
            }
            if (!text[0]) {
                int64_t ix = (int64_t)rc->index;
                if (chance(25)) {
                    hl_object_info info;
                    hl_heap_object_info(R.h, c, &info);
                    ix -= (int64_t)info.length;
                }
                snprintf(text, sizeof text, "delitem %s %" PRId64, lb[0], ix);
            }
        } else if (ct == HL_DICT)
            snprintf(text, sizeof text, "delkey %s %s", lb[0], rc->name);
        else if (ct == HL_INSTANCE)
            snprintf(text, sizeof text, "delattr %s %s", lb[0], rc->name);
        else {
            if (!umap_get(&R.pathidx, rc->target, NULL))
                text[0] = 0;
            else
                snprintf(text, sizeof text, "remove %s %s", lb[0],
                         label_of(rc->target, lb[1], sizeof lb[1]));
        }
        refvec_free(&rv);
        free(rv.v);
        free(sel.v);
        if (!text[0])
            return;
    } else if (PICK(w_wr)) {
        uint64_t tg = pick_path_obj(is_weakrefable);
        if (!tg)
            return;
        uint64_t id0 = hl_heap_next_id(R.h);
        snprintf(text, sizeof text, "weakref o%" PRIu64 " %s%s name=%s", id0,
                 label_of(tg, lb[0], sizeof lb[0]), chance(75) ? " cb" : "", root);
    } else if (PICK(w_collect)) {
        snprintf(text, sizeof text, "collect %u", rndn(3));
    } else if (PICK(w_gc)) {
        snprintf(text, sizeof text, R.gc_enabled ? "gc off" : "gc on");
    } else if (PICK(w_freeze)) {
        /* No unfreeze here: it would move the Python program's frozen
         * prelude into generation 2, module globals dict included, and a
         * full collection traversing that dict re-orders the objects names
         * reach; heaplab's names are roots, not a dict object.  Hand
         * scenarios cover unfreeze where order does not matter. */
        snprintf(text, sizeof text, "freeze");
    } else {
        uint64_t id = pick_path_obj(NULL);
        if (!id)
            return;
        snprintf(text, sizeof text, "observe %s", label_of(id, lb[0], sizeof lb[0]));
    }
#undef PICK
    /* run it through the same parser as scenario files */
    char line[sizeof text];
    strcpy(line, text);
    char *toks[MAX_TOK];
    int n = tokenize(line, toks, MAX_TOK);
    bool header = false;
    begin_op(text);
    run_line(toks, n, &header);
    end_op();
    /* labels are ids: if the model minted another id, relabel */
    if (strncmp(text, "create ", 7) == 0 || strncmp(text, "weakref ", 8) == 0) {
        for (size_t i = 0; i < R.nlabels; i++) {
            if (strcmp(R.labels[i].name, toks[1]) == 0) {
                char want[32];
                snprintf(want, sizeof want, "o%" PRIu64, R.labels[i].id);
                if (strcmp(want, toks[1]) != 0) {
                    free(R.labels[i].name);
                    R.labels[i].name = xstrdup(want);
                    /* keep the dump replayable */
                    if (R.dump)
                        fprintf(R.dump, "# (model gave id %" PRIu64 ")\n", R.labels[i].id);
                }
            }
        }
    }
}

static void run_random(uint64_t seed, long nops, const char *out)
{
    rng_state = seed * 0x2545F4914F6CDD1Dull + 1;
    R.dump_mode = true;
    R.gc_on = false;
    R.thr[0] = 7;
    R.thr[1] = 3;
    R.thr[2] = 3;
    R.compare_counts = true;
    if (R.dump)
        fprintf(R.dump, "# random scenario, seed %" PRIu64 "\ngc off\nthreshold 7 3 3\n"
                        "compare-counts\n",
                seed);
    runner_start();
    long before = 0;
    while (R.opno < nops) {
        before = R.opno;
        random_step();
        (void)before;
    }
    runner_finish(out);
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: hl-scenario [--no-check] FILE.scn OUT.py\n"
                    "       hl-scenario [--no-check] --random SEED --ops N [--dump F.scn] OUT.py\n");
    exit(2);
}

int main(int argc, char **argv)
{
    R.check = true;
    R.thr[0] = 700;
    R.thr[1] = 10;
    R.thr[2] = 10;
    const char *seed = NULL, *ops = "1000", *dump = NULL;
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-check") == 0)
            R.check = false;
        else if (strcmp(argv[i], "--workaround-known") == 0)
            R.workaround = true;
        else if (strcmp(argv[i], "--random") == 0 && i + 1 < argc)
            seed = argv[++i];
        else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
            ops = argv[++i];
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] == '-')
            usage();
        else if (npos < 2)
            pos[npos++] = argv[i];
        else
            usage();
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (seed) {
        if (npos != 1)
            usage();
        if (dump) {
            R.dump = fopen(dump, "w");
            if (!R.dump)
                die("cannot write %s", dump);
        }
        run_random(strtoull(seed, NULL, 10), strtol(ops, NULL, 10), pos[0]);
        if (R.dump)
            fclose(R.dump);
    } else {
        if (npos != 2)
            usage();
        run_file(pos[0], pos[1]);
    }
    fflush(stdout);
    return 0;
}
