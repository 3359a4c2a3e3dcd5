/* Which code is the user's: what growth is charged to in reports (`top --user`). By default every
 * file but the standard library's (the directory of its os module, lib-dynload below it),
 * installed packages (site-packages, dist-packages), frozen and generated code ("<frozen ...>",
 * "<string>": a dataclass's __init__) and the tracer's own. */
#include <stdlib.h>
#include <string.h>

#include "cpython/cpython.h"

/* The standard library's directory: that of the os module, always imported, read from
 * sys.modules without running any Python code (a Python-level call here would show up as events
 * in the logs of tracers already running). */
void pmt__user_code_init(pmt__cpy_state *st)
{
    if (st->not_user_dirs[0])
        return;
    PyObject *modules = PySys_GetObject("modules"); /* borrowed */
    PyObject *os = modules && PyDict_Check(modules) ? PyDict_GetItemString(modules, "os") : NULL;
    PyObject *file = os ? PyObject_GetAttrString(os, "__file__") : NULL;
    Py_ssize_t n = 0;
    const char *path = file && PyUnicode_Check(file) ? PyUnicode_AsUTF8AndSize(file, &n) : NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (slash) {
        size_t len = (size_t)(slash - path) + 1; /* with the slash */
        char *dir = malloc(len + 1);
        if (dir) {
            memcpy(dir, path, len);
            dir[len] = '\0';
            st->not_user_dirs[0] = dir;
        }
    }
    Py_XDECREF(file);
    PyErr_Clear(); /* without it, only the other rules apply */
}

void pmt__user_code_free(pmt__cpy_state *st)
{
    for (size_t i = 0; i < sizeof st->not_user_dirs / sizeof *st->not_user_dirs; i++) {
        free(st->not_user_dirs[i]);
        st->not_user_dirs[i] = NULL;
    }
}

int pmt__user_code_default(const pmt__cpy_state *st, const char *file)
{
    if (!file[0] || file[0] == '<')
        return 0;
    if (strstr(file, "/site-packages/") || strstr(file, "/dist-packages/"))
        return 0;
    for (size_t i = 0; i < sizeof st->not_user_dirs / sizeof *st->not_user_dirs; i++)
        if (st->not_user_dirs[i] &&
            strncmp(file, st->not_user_dirs[i], strlen(st->not_user_dirs[i])) == 0)
            return 0;
    return 1;
}

int pmt__own_file(const pmt__cpy_state *st, const char *file)
{
    const char *prefix = st->tracer->own_code_prefix;
    return prefix && strncmp(file, prefix, strlen(prefix)) == 0;
}

int pmt__user_file(pmt__cpy_state *st, const char *file)
{
    size_t i = ((uintptr_t)file >> 3) * 0x9E3779B1u >> 16 & (PMT__USER_FILE_CACHE - 1);
    if (st->user_files[i].file == file)
        return st->user_files[i].user;
    int user = !pmt__own_file(st, file) &&
               pmt__tracer_user_code(st->tracer, file, pmt__user_code_default(st, file));
    st->user_files[i].file = file;
    st->user_files[i].user = user;
    return user;
}
