/* parse.c — the scenario file format (see README.md and scenario.h). */
#include "scenario.h"

/* ------------------------------------------------------------------ */
/* scenario files                                                      */

int tokenize(char *line, char **toks, int max)
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

void run_line(char **t, int n, bool *header)
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

void run_file(const char *path, const char *out)
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

