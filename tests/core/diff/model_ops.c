/* model_ops.c — each scenario op: applied to the model, emitted as the
 * equal Python statement (see scenario.h). */
#include "scenario.h"

/* ------------------------------------------------------------------ */
/* operations: each runs in the model, checks, and emits Python         */


void begin_op(const char *text)
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

void end_op(void)
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

void do_observe(uint64_t id, bool wrap)
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


void op_create(const create_args *a)
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

void op_weakref(const char *lab, uint64_t target, bool cb, const char *name)
{
    const char *tp = R.errtag ? NULL : path_of(target);
    if (name && !is_ident(name))
        die("bad name %s", name);
    hl_create_result res = {0};
    hl_status s = hl_op_weakref(R.h, target, cb, name, &res);
    if (!check_status(s, "weakref"))
        return;
    set_label(lab, res.id);
    if (name)
        py("v_%s = _reg(%" PRIu64 ", weakref.ref(%s%s))", name, res.id, tp, cb ? ", _cb" : "");
    else
        py("_reg(%" PRIu64 ", weakref.ref(%s%s))", res.id, tp, cb ? ", _cb" : "");
}

void op_bind(const char *name, uint64_t id)
{
    if (!is_ident(name))
        die("bad name %s", name);
    const char *p = R.errtag ? NULL : path_of(id);
    hl_status s = hl_op_bind(R.h, name, id);
    if (!check_status(s, "bind"))
        return;
    py("v_%s = %s", name, p);
}

void op_unbind(const char *name)
{
    hl_status s = hl_op_unbind(R.h, name);
    if (!check_status(s, "unbind"))
        return;
    py("del v_%s", name);
}

void op_add_ref(uint64_t cid, hl_ref_op op, int64_t index, const char *key, uint64_t target)
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

void op_remove_ref(uint64_t cid, hl_unref_op op, int64_t index, const char *key,
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

void op_collect(int gen)
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

void op_gc_enable(bool on)
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

void op_threshold(int n, const int *t)
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

void op_freeze(bool freeze)
{
    hl_status s = freeze ? hl_op_freeze(R.h) : hl_op_unfreeze(R.h);
    if (!check_status(s, freeze ? "freeze" : "unfreeze"))
        return;
    py(freeze ? "gc.freeze()" : "gc.unfreeze()");
}

