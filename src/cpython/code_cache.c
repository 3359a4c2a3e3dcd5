/* Code objects and C functions resolved to interned names once, so that events do no string
 * work. Keys are held by strong references for the run so that an address is never reused for a
 * different object while cached. */
#include <stdlib.h>
#include <string.h>

#include "cpython/cpython.h"

static size_t hash_keys(uintptr_t k1, uintptr_t k2)
{
    uint64_t h = ((uint64_t)k1 >> 4) * 0x9E3779B97F4A7C15u;
    h ^= ((uint64_t)k2 >> 4) * 0xC2B2AE3D27D4EB4Fu;
    return (size_t)(h ^ (h >> 29));
}

void pmt__code_cache_free(pmt__code_cache *cache)
{
    for (size_t i = 0; i < cache->capacity; i++) {
        pmt__code_entry *e = cache->slots[i];
        if (!e)
            continue;
        Py_XDECREF(e->ref1);
        Py_XDECREF(e->ref2);
        free(e->lines);
        free(e);
    }
    free(cache->slots);
    memset(cache, 0, sizeof *cache);
}

static int grow(pmt__code_cache *cache)
{
    size_t cap = cache->capacity ? cache->capacity * 2 : 1024;
    pmt__code_entry **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < cache->capacity; i++) {
        pmt__code_entry *e = cache->slots[i];
        if (!e)
            continue;
        size_t j = hash_keys(e->key1, e->key2) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = e;
    }
    free(cache->slots);
    cache->slots = slots;
    cache->capacity = cap;
    return 0;
}

static inline pmt__code_entry *find(pmt__code_cache *cache, uintptr_t k1, uintptr_t k2,
                                    size_t *free_slot)
{
    size_t mask = cache->capacity - 1;
    for (size_t i = hash_keys(k1, k2) & mask;; i = (i + 1) & mask) {
        pmt__code_entry *e = cache->slots[i];
        if (!e) {
            *free_slot = i;
            return NULL;
        }
        if (e->key1 == k1 && e->key2 == k2)
            return e;
    }
}

static const char *intern(pmt__cpy_state *st, const char *text, size_t len)
{
    const char *kept = pmt__strings_intern(&st->tracer->strings, text, len);
    return kept ? kept : "?";
}

/* UTF-8 of a str, whole; unencodable characters (lone surrogates from undecodable file names)
 * are written as backslash escapes rather than lost. */
static const char *intern_str(pmt__cpy_state *st, PyObject *s)
{
    if (!s || !PyUnicode_Check(s))
        return intern(st, "?", 1);
    Py_ssize_t n;
    const char *utf8 = PyUnicode_AsUTF8AndSize(s, &n);
    if (utf8)
        return intern(st, utf8, (size_t)n);
    PyErr_Clear();
    PyObject *bytes = PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
    if (!bytes) {
        PyErr_Clear();
        return intern(st, "?", 1);
    }
    const char *kept = intern(st, PyBytes_AsString(bytes), (size_t)PyBytes_Size(bytes));
    Py_DECREF(bytes);
    return kept;
}

static const char *intern_attr(pmt__cpy_state *st, PyObject *obj, const char *name)
{
    PyObject *value = PyObject_GetAttrString(obj, name);
    if (!value)
        PyErr_Clear();
    const char *kept = intern_str(st, value);
    Py_XDECREF(value);
    return kept;
}

/* The qualified name where CPython has one (co_qualname, 3.11+: "Record.__init__",
 * "outer.<locals>.inner"), else co_name: a row says which class's method it is. */
static const char *intern_qualname(pmt__cpy_state *st, PyObject *code)
{
    PyObject *value = PyObject_GetAttrString(code, "co_qualname");
    if (!value) {
        PyErr_Clear();
        value = PyObject_GetAttrString(code, "co_name");
        if (!value)
            PyErr_Clear();
    }
    const char *kept = intern_str(st, value);
    Py_XDECREF(value);
    return kept;
}

static pmt__code_entry *insert(pmt__cpy_state *st, size_t slot, uintptr_t k1, uintptr_t k2)
{
    pmt__code_cache *cache = &st->cache;
    if ((cache->count + 1) * 2 > cache->capacity) {
        if (grow(cache) != 0)
            return NULL;
        find(cache, k1, k2, &slot);
    }
    pmt__code_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->key1 = k1;
    e->key2 = k2;
    cache->slots[slot] = e;
    cache->count++;
    return e;
}

pmt__code_entry *pmt__code_entry_slow(pmt__cpy_state *st, PyObject *code)
{
    int was = pmt__own_work_begin(st);
    pmt__code_entry *e = pmt__code_entry_lookup(st, code);
    pmt__own_work_end(st, was);
    st->recent[pmt__recent_slot(code)] = e; /* NULL only when out of memory */
    return e;
}

pmt__code_entry *pmt__code_entry_lookup(pmt__cpy_state *st, PyObject *code)
{
    size_t slot = 0;
    if (st->cache.capacity) {
        pmt__code_entry *e = find(&st->cache, (uintptr_t)code, 0, &slot);
        if (e)
            return e;
    } else if (grow(&st->cache) != 0) {
        return NULL;
    } else {
        find(&st->cache, (uintptr_t)code, 0, &slot);
    }
    pmt__code_entry *e = insert(st, slot, (uintptr_t)code, 0);
    if (!e)
        return NULL;
    Py_INCREF(code);
    e->ref1 = code;
    e->file = intern_attr(st, code, "co_filename");
    e->function = intern_qualname(st, code);
    PyObject *first = PyObject_GetAttrString(code, "co_firstlineno");
    e->first_line = first ? (int32_t)PyLong_AsLong(first) : 0;
    Py_XDECREF(first);
    if (PyErr_Occurred())
        PyErr_Clear();
    e->ignored = pmt__own_file(st, e->file);
    e->user = !e->ignored && pmt__user_file(st, e->file);
    e->code_axes = pmt__tracer_code_axes(st->tracer, e->file, e->function);
    return e;
}

/* "module.qualname" for module-level C functions, "type.method" for methods. */
static const char *c_function_name(pmt__cpy_state *st, PyObject *callable)
{
    PyObject *qualname = PyObject_GetAttrString(callable, "__qualname__");
    if (!qualname) {
        PyErr_Clear();
        return intern_attr(st, callable, "__name__");
    }
    PyObject *module = PyObject_GetAttrString(callable, "__module__");
    if (!module)
        PyErr_Clear();
    PyObject *full = NULL;
    if (module && PyUnicode_Check(module) &&
        PyUnicode_CompareWithASCIIString(module, "builtins") != 0)
        full = PyUnicode_FromFormat("%U.%U", module, qualname);
    if (PyErr_Occurred())
        PyErr_Clear();
    const char *kept = intern_str(st, full ? full : qualname);
    Py_XDECREF(full);
    Py_XDECREF(module);
    Py_DECREF(qualname);
    return kept;
}

static pmt__code_entry *c_function_entry(pmt__cpy_state *st, PyObject *callable);

pmt__code_entry *pmt__c_function_entry_of(pmt__cpy_state *st, PyObject *callable)
{
    int was = pmt__own_work_begin(st);
    pmt__code_entry *e = c_function_entry(st, callable);
    pmt__own_work_end(st, was);
    return e;
}

static pmt__code_entry *c_function_entry(pmt__cpy_state *st, PyObject *callable)
{
    uintptr_t k1, k2 = 0;
    PyObject *ref1 = NULL, *ref2 = NULL;
    if (PyCFunction_Check(callable)) {
        /* Bound builtin methods are created per call: key on the C function and the type of
         * self instead of the short-lived object. */
        PyCFunction fn = PyCFunction_GetFunction(callable);
        PyObject *self = PyCFunction_GetSelf(callable);
        k1 = (uintptr_t)fn;
        if (self) {
            ref2 = (PyObject *)Py_TYPE(self);
            k2 = (uintptr_t)ref2;
        }
    } else if (PyObject_TypeCheck(callable, &PyMethodDescr_Type)) {
        k1 = (uintptr_t)callable;
        ref1 = callable;
    } else {
        return NULL;
    }
    if (!st->cache.capacity && grow(&st->cache) != 0)
        return NULL;
    size_t slot;
    pmt__code_entry *e = find(&st->cache, k1, k2, &slot);
    if (e)
        return e;
    e = insert(st, slot, k1, k2);
    if (!e)
        return NULL;
    Py_XINCREF(ref1);
    Py_XINCREF(ref2);
    e->ref1 = ref1;
    e->ref2 = ref2;
    e->file = "";
    e->function = c_function_name(st, callable);
    e->code_axes = pmt__tracer_code_axes(st->tracer, e->file, e->function);
    return e;
}

/* dis.opmap["RESUME"] (3.11+): its number changes between versions; -1 before 3.11. */
int pmt__resume_opcode(void)
{
    PyObject *dis = PyImport_ImportModule("dis");
    PyObject *opmap = dis ? PyObject_GetAttrString(dis, "opmap") : NULL;
    PyObject *op = opmap ? PyMapping_GetItemString(opmap, "RESUME") : NULL;
    long value = op ? PyLong_AsLong(op) : -1;
    Py_XDECREF(op);
    Py_XDECREF(opmap);
    Py_XDECREF(dis);
    PyErr_Clear();
    return value > 0 && value < 256 ? (int)value : -1;
}

/* Offset of the first RESUME in co_code (2-byte code units; inline caches are opcode 0). */
static int32_t first_resume(PyObject *co_code, int resume_opcode)
{
    const unsigned char *bytes = (const unsigned char *)PyBytes_AsString(co_code);
    Py_ssize_t size = PyBytes_Size(co_code);
    for (Py_ssize_t off = 0; bytes && resume_opcode > 0 && off + 1 < size; off += 2)
        if (bytes[off] == resume_opcode)
            return (int32_t)off;
    return -1;
}

/* Builds offset -> line from code.co_lines(): (start, end, line) byte ranges, line may be None;
 * and finds the first RESUME. */
static void build_lines_now(pmt__cpy_state *st, pmt__code_entry *e, PyObject *code);

static void build_lines(pmt__cpy_state *st, pmt__code_entry *e, PyObject *code)
{
    int was = pmt__own_work_begin(st);
    build_lines_now(st, e, code);
    pmt__own_work_end(st, was);
}

static void build_lines_now(pmt__cpy_state *st, pmt__code_entry *e, PyObject *code)
{
    e->lines_built = 1;
    e->resume_offset = -1;
    PyObject *co_code = PyObject_GetAttrString(code, "co_code");
    Py_ssize_t size = co_code && PyBytes_Check(co_code) ? PyBytes_Size(co_code) : 0;
    if (size > 0)
        e->resume_offset = first_resume(co_code, st->resume_opcode);
    Py_XDECREF(co_code);
    PyObject *it = size > 0 ? PyObject_CallMethod(code, "co_lines", NULL) : NULL;
    int32_t *lines = it ? calloc((size_t)size / 2 + 1, sizeof *lines) : NULL;
    if (lines) {
        PyObject *item;
        PyObject *iter = PyObject_GetIter(it);
        while (iter && (item = PyIter_Next(iter)) != NULL) {
            long start = 0, end = 0, line = 0;
            if (PyTuple_Check(item) && PyTuple_Size(item) == 3) {
                start = PyLong_AsLong(PyTuple_GetItem(item, 0));
                end = PyLong_AsLong(PyTuple_GetItem(item, 1));
                PyObject *l = PyTuple_GetItem(item, 2);
                line = l == Py_None ? 0 : PyLong_AsLong(l);
            }
            for (long off = start; off < end && off / 2 <= size / 2; off += 2)
                if (off >= 0)
                    lines[off / 2] = (int32_t)line;
            Py_DECREF(item);
        }
        Py_XDECREF(iter);
        e->lines = lines;
        e->line_count = (uint32_t)(size / 2 + 1);
    }
    Py_XDECREF(it);
    if (PyErr_Occurred())
        PyErr_Clear();
}

int pmt__code_before_entry(pmt__cpy_state *st, pmt__code_entry *e, PyObject *code, long offset)
{
    if (!e->lines_built)
        build_lines(st, e, code);
    return e->resume_offset >= 0 && offset >= 0 && offset <= e->resume_offset;
}

int32_t pmt__code_line_at(pmt__cpy_state *st, pmt__code_entry *e, PyObject *code, long offset)
{
    if (!e->lines_built)
        build_lines(st, e, code);
    if (e->lines && offset >= 0 && (unsigned long)offset / 2 < e->line_count) {
        int32_t line = e->lines[offset / 2];
        if (line > 0)
            return line;
    }
    return e->first_line;
}
