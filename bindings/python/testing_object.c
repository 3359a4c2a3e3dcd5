/* pymemtrace.testing (upstream's cMemLeak): blocks of a known size from a known allocator, freed
 * when dropped, so that tests (ours and users') can assert exact sizes, allocators and sites.
 * CMalloc uses libc's malloc, PyRawMalloc PyMem_RawMalloc, PyMalloc PyMem_Malloc. The three
 * factories are C functions (not types) so that every CPython reports their calls as C calls.
 *
 * PyMem_RawMalloc and PyMem_RawFree are outside the limited API before 3.13: they are looked up
 * with dlsym() in the running process (always exported); without them PyRawMalloc raises. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

/* The limited API names it from 3.11; the value is CPython's since 3.3. */
#ifndef PyBUF_WRITE
#define PyBUF_WRITE 0x200
#endif

typedef void *(*raw_malloc_fn)(size_t);
typedef void (*raw_free_fn)(void *);

typedef struct {
    PyObject_HEAD void *data;
    Py_ssize_t size;
    int allocator; /* pmt_allocator: NATIVE, RAW or MEM */
} BlockObject;

static raw_malloc_fn raw_malloc;
static raw_free_fn raw_free;

static int find_raw(void)
{
    if (!raw_malloc || !raw_free) {
        raw_malloc = (raw_malloc_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyMem_RawMalloc");
        raw_free = (raw_free_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "PyMem_RawFree");
    }
    return raw_malloc && raw_free;
}

static void release(BlockObject *self)
{
    if (!self->data)
        return;
    switch (self->allocator) {
    case PMT_ALLOCATOR_NATIVE:
        free(self->data);
        break;
    case PMT_ALLOCATOR_RAW:
        raw_free(self->data);
        break;
    default:
        PyMem_Free(self->data);
        break;
    }
    self->data = NULL;
}

static void Block_dealloc(BlockObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    release(self);
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);
    tp_free(self);
    Py_DECREF(type);
}

static PyObject *Block_get_size(BlockObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(self->size);
}

static PyObject *Block_get_address(BlockObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromVoidPtr(self->data);
}

static PyObject *Block_get_allocator(BlockObject *self, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(pmt_allocator_name(self->allocator));
}

static PyObject *Block_get_buffer(BlockObject *self, void *closure)
{
    (void)closure;
    if (!self->data) {
        PyErr_SetString(PyExc_ValueError, "the block was freed");
        return NULL;
    }
    /* Valid while the block lives: keep the Block while the view is used. */
    return PyMemoryView_FromMemory(self->data, self->size, PyBUF_WRITE);
}

static PyObject *Block_free(BlockObject *self, PyObject *unused)
{
    (void)unused;
    release(self);
    Py_RETURN_NONE;
}

static PyObject *Block_repr(BlockObject *self)
{
    return PyUnicode_FromFormat("<pymemtrace.testing block %s size=%zd address=%p>",
                                pmt_allocator_name(self->allocator), self->size, self->data);
}

static PyGetSetDef Block_getset[] = {
    {"size", (getter)Block_get_size, NULL, "the block's size in bytes", NULL},
    {"address", (getter)Block_get_address, NULL, "the block's address (0 once freed)", NULL},
    {"allocator", (getter)Block_get_allocator, NULL, "'NATIVE', 'RAW' or 'MEM'", NULL},
    {"buffer", (getter)Block_get_buffer, NULL,
     "a writable memoryview of the block (valid while the block lives)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Block_methods[] = {
    {"free", (PyCFunction)Block_free, METH_NOARGS, "free() -> None: frees the block now."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Block_slots[] = {
    {Py_tp_dealloc, Block_dealloc},
    {Py_tp_getset, Block_getset},
    {Py_tp_methods, Block_methods},
    {Py_tp_repr, Block_repr},
    {Py_tp_doc, "A block of memory of a known size from a known allocator."},
    {0, NULL},
};

PyType_Spec pmt_py_block_spec = {"pymemtrace._pymemtrace.Block", sizeof(BlockObject), 0,
                                 Py_TPFLAGS_DEFAULT, Block_slots};

static PyObject *new_block(PyObject *module, PyObject *arg, int allocator)
{
    Py_ssize_t size = PyLong_Check(arg) ? PyLong_AsSsize_t(arg) : -2;
    if (size == -2 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "size must be an int");
        return NULL;
    }
    if (size < 0 || size > PY_SSIZE_T_MAX / 2) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "size must be between 0 and %zd bytes",
                     (Py_ssize_t)(PY_SSIZE_T_MAX / 2));
        return NULL;
    }
    if (allocator == PMT_ALLOCATOR_RAW && !find_raw()) {
        PyErr_SetString(PyExc_RuntimeError, "PyMem_RawMalloc was not found in this process");
        return NULL;
    }
    module_state *state = PyModule_GetState(module);
    allocfunc alloc = (allocfunc)PyType_GetSlot((PyTypeObject *)state->block_type, Py_tp_alloc);
    BlockObject *self = (BlockObject *)alloc((PyTypeObject *)state->block_type, 0);
    if (!self)
        return NULL;
    size_t n = size ? (size_t)size : 1; /* a block of 0 bytes is still a block */
    self->allocator = allocator;
    self->size = size;
    self->data = allocator == PMT_ALLOCATOR_NATIVE ? malloc(n)
                 : allocator == PMT_ALLOCATOR_RAW  ? raw_malloc(n)
                                                   : PyMem_Malloc(n);
    if (!self->data) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    memset(self->data, 0, n);
    return (PyObject *)self;
}

PyObject *pmt_py_c_malloc(PyObject *module, PyObject *size)
{
    return new_block(module, size, PMT_ALLOCATOR_NATIVE);
}

PyObject *pmt_py_raw_malloc(PyObject *module, PyObject *size)
{
    return new_block(module, size, PMT_ALLOCATOR_RAW);
}

PyObject *pmt_py_malloc(PyObject *module, PyObject *size)
{
    return new_block(module, size, PMT_ALLOCATOR_MEM);
}
