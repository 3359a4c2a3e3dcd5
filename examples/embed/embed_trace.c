/* embed_trace: an application that embeds Python and records where its RSS grows.
 *
 *   embed_trace LOG                   run a built-in snippet that grows by 4 MiB and check the log
 *   embed_trace LOG SCRIPT [ARGS...]  run a Python script (sys.argv = [SCRIPT, ARGS...]) and check
 *                                     that the log is complete
 *
 * The program starts an interpreter, creates a tracer that writes every event where RSS changed by
 * a page or more to the text log LOG and to a binary log beside it (LOG with the extension .pmt;
 * an existing file is never overwritten: the names actually used are printed), runs the Python
 * code under it, stops, and reads both logs back: the binary log with pmt_reader_*() must hold
 * the text log's rows. Two sinks of its own ride along: one counts the events, the other fails
 * after a few and must be disabled without disturbing the others. It also checks on the way that
 * the library it runs with is the one it was built against and that the error paths of the API
 * return their documented codes: it doubles as a test of an installed libpymemtrace.
 *
 * Exit status: 0 when every check passed (a one-line summary is printed), 1 when a check failed
 * (each failure is printed to stderr), 2 on a usage error.
 *
 * Build against an installed library:
 *   cc embed_trace.c $(pkg-config --cflags --libs pymemtrace python3-embed) -o embed_trace
 * or with CMake, see CMakeLists.txt beside this file.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pymemtrace/pymemtrace.h>

/* What the built-in snippet allocates and touches in one line (no C call after it, so that the
 * growth shows on the RETURN event of ALLOC_FUNCTION). */
#define ALLOC_BYTES     (UINT64_C(4) << 20)
#define ALLOC_FUNCTION  "embed_alloc"
#define MARK_TEXT       "embed_trace: running the Python code"
#define LOG_FIRST_LINE  "embed_trace example log"
#define MAX_LINE_TOKENS 64
/* The failing sink takes the start and the mark, then fails (at the stop at the latest). */
#define FAILING_WRITES 2

static const char builtin_code[] = "def " ALLOC_FUNCTION "():\n"
                                   "    return bytearray(b\"\\x01\") * (4 << 20)\n"
                                   "\n"
                                   "kept = " ALLOC_FUNCTION "()\n"
                                   "del kept\n";

static int failures;

#if defined(__GNUC__)
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PRINTF_LIKE(fmt, args)
#endif

static void fail(const char *fmt, ...) PRINTF_LIKE(1, 2);

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("embed_trace: FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

/* Checks that a call returned the expected code; on failure prints both codes and the library's
 * message for the calling thread. */
static int expect_rc(const char *call, int got, int want)
{
    if (got == want)
        return 1;
    fail("%s returned %d (%s), expected %d (%s); last message: \"%s\"", call, got,
         pmt_strerror(got), want, pmt_strerror(want), pmt_last_error_message());
    return 0;
}

#define EXPECT(call, want) expect_rc(#call, (call), (want))

static void expect_state(const pmt_tracer *t, int want, const char *when)
{
    int got = pmt_tracer_state_of(t);
    if (got != want)
        fail("tracer state %s is %d, expected %d", when, got, want);
}

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

/* ---- A second sink, defined by the application: counts what it receives. ---- */

typedef struct counting_sink {
    uint64_t events;       /* events received */
    uint64_t alloc_events; /* of which in ALLOC_FUNCTION with dRSS >= ALLOC_BYTES */
    int flushes;
    int closes;
} counting_sink;

static int counting_write(const pmt_event *ev, void *user_data)
{
    counting_sink *c = user_data;
    c->events++;
    /* Read a field only when the library filled it (events only ever grow). */
    if (offsetof(pmt_event, d_rss) + sizeof ev->d_rss > ev->struct_size || !ev->file ||
        !ev->function)
        return -1; /* disables this sink: shows in PMT_STAT_SINKS_FAILED */
    if (ev->reason == PMT_REASON_TRIGGER && strcmp(ev->function, ALLOC_FUNCTION) == 0 &&
        ev->d_rss >= (int64_t)ALLOC_BYTES)
        c->alloc_events++;
    return 0;
}

static int counting_flush(void *user_data)
{
    ((counting_sink *)user_data)->flushes++;
    return 0;
}

static void counting_close(void *user_data)
{
    ((counting_sink *)user_data)->closes++;
}

static int counting_sink_create(pmt_sink **out, counting_sink *c)
{
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = counting_write;
    ops.flush = counting_flush;
    ops.close = counting_close;
    return pmt_sink_create(out, &ops, c);
}

/* ---- A third sink, which fails: the tracer disables it and goes on. ---- */

typedef struct failing_sink {
    int writes; /* calls of write, the failing one included */
    int closes;
} failing_sink;

static int failing_write(const pmt_event *ev, void *user_data)
{
    failing_sink *f = user_data;
    (void)ev;
    return ++f->writes > FAILING_WRITES ? -1 : 0;
}

static void failing_close(void *user_data)
{
    ((failing_sink *)user_data)->closes++;
}

static int failing_sink_create(pmt_sink **out, failing_sink *f)
{
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = failing_write;
    ops.close = failing_close;
    return pmt_sink_create(out, &ops, f);
}

/* LOG with the extension .pmt (LOG.pmt when it has no .log extension). */
static char *binary_log_path(const char *log_path)
{
    size_t n = strlen(log_path);
    char *path = malloc(n + 5);
    if (!path)
        return NULL;
    memcpy(path, log_path, n + 1);
    if (n > 4 && strcmp(path + n - 4, ".log") == 0)
        n -= 4;
    memcpy(path + n, ".pmt", 5);
    return path;
}

/* ---- Checks that need no interpreter. ---- */

static void check_library(const char *dir_for_errors)
{
    if (pmt_version_number() != PMT_VERSION_NUMBER)
        fail("built against pymemtrace %d (%s) but running with %d (%s)", PMT_VERSION_NUMBER,
             PMT_VERSION_STRING, pmt_version_number(), pmt_version_string());
    if (strcmp(pmt_version_string(), PMT_VERSION_STRING) != 0)
        fail("pmt_version_string() is \"%s\", the headers say \"%s\"", pmt_version_string(),
             PMT_VERSION_STRING);

    /* Every known code has its own message; unknown codes have the documented one. */
    for (int code = PMT_OK; code >= PMT_ENOTHREAD; code--) {
        const char *msg = pmt_strerror(code);
        if (!msg || !*msg || strcmp(msg, "unknown error") == 0)
            fail("pmt_strerror(%d) is \"%s\"", code, msg ? msg : "(null)");
    }
    if (strcmp(pmt_strerror(12345), "unknown error") != 0)
        fail("pmt_strerror(12345) is \"%s\", expected \"unknown error\"", pmt_strerror(12345));
    if (strcmp(pmt_event_kind_name(PMT_EV_C_CALL), "C_CALL") != 0)
        fail("pmt_event_kind_name(PMT_EV_C_CALL) is \"%s\"", pmt_event_kind_name(PMT_EV_C_CALL));
    if (strcmp(pmt_event_kind_name(9999), "UNKNOWN") != 0)
        fail("pmt_event_kind_name(9999) is \"%s\"", pmt_event_kind_name(9999));

    /* NULL arguments: EINVAL everywhere, never a crash. */
    uint64_t u64;
    int64_t i64, lo, hi;
    pmt_sink *sink = NULL;
    EXPECT(pmt_tracer_create(NULL), PMT_EINVAL);
    EXPECT(pmt_tracer_start(NULL), PMT_EINVAL);
    EXPECT(pmt_tracer_stop(NULL), PMT_EINVAL);
    EXPECT(pmt_tracer_pause(NULL), PMT_EINVAL);
    EXPECT(pmt_tracer_resume(NULL), PMT_EINVAL);
    EXPECT(pmt_tracer_mark(NULL, "x"), PMT_EINVAL);
    EXPECT(pmt_tracer_set_param(NULL, PMT_PARAM_D_RSS_TRIGGER, 0), PMT_EINVAL);
    EXPECT(pmt_tracer_get_param(NULL, PMT_PARAM_D_RSS_TRIGGER, &i64), PMT_EINVAL);
    EXPECT(pmt_tracer_get_stat(NULL, PMT_STAT_EVENTS_SEEN, &u64), PMT_EINVAL);
    EXPECT(pmt_tracer_state_of(NULL), PMT_EINVAL);
    EXPECT(pmt_tracer_add_sink(NULL, NULL), PMT_EINVAL);
    EXPECT(pmt_tracer_set_rss_provider(NULL, NULL, NULL), PMT_EINVAL);
    EXPECT(pmt_sink_text_open(NULL, "unused.log", NULL), PMT_EINVAL);
    EXPECT(pmt_sink_create(&sink, NULL, NULL), PMT_EINVAL);
    EXPECT(pmt_param_bounds(PMT_PARAM_D_RSS_TRIGGER, NULL, &hi), PMT_EINVAL);
    EXPECT(pmt_rss_current(NULL), PMT_EINVAL);
    EXPECT(pmt_rss_peak(NULL), PMT_EINVAL);
    if (pmt_last_error_message()[0] == '\0')
        fail("pmt_last_error_message() is empty after a failed call");
    if (pmt_sink_path(NULL) != NULL)
        fail("pmt_sink_path(NULL) is not NULL");
    pmt_sink_destroy(NULL);
    pmt_tracer_destroy(NULL);

    /* A sink whose struct_size this library cannot know. */
    pmt_sink_ops bad_ops = PMT_SINK_OPS_INIT;
    bad_ops.write = counting_write;
    bad_ops.struct_size = (uint32_t)sizeof bad_ops + 64;
    EXPECT(pmt_sink_create(&sink, &bad_ops, NULL), PMT_EVERSION);

    /* Bounds, unknown parameters and counters. */
    if (EXPECT(pmt_param_bounds(PMT_PARAM_D_RSS_TRIGGER, &lo, &hi), PMT_OK) &&
        (lo != -1 || hi != INT64_MAX))
        fail("PMT_PARAM_D_RSS_TRIGGER bounds are [%" PRId64 ", %" PRId64 "]", lo, hi);
    EXPECT(pmt_param_bounds((pmt_param)999, &lo, &hi), PMT_ENOTSUP);

    /* An OS error: a log in a directory that does not exist. */
    char path[4096];
    snprintf(path, sizeof path, "%s/no-such-directory/x.log", dir_for_errors);
    if (EXPECT(pmt_sink_text_open(&sink, path, NULL), PMT_EIO) && pmt_last_os_error() != ENOENT)
        fail("pmt_last_os_error() is %d after opening %s, expected ENOENT", pmt_last_os_error(),
             path);

    /* The process-wide RSS helpers. */
    uint64_t rss = 0, peak = 0;
    if (EXPECT(pmt_rss_current(&rss), PMT_OK) && EXPECT(pmt_rss_peak(&peak), PMT_OK) &&
        (rss == 0 || peak < rss / 2))
        fail("implausible RSS %" PRIu64 " / peak %" PRIu64 " (provider %s)", rss, peak,
             pmt_rss_default_provider_name());
}

/* The sinks a tracer gets, and the names their logs actually have. */
typedef struct tracer_sinks {
    counting_sink counter;
    failing_sink failing;
    char *log_path;    /* the text log */
    char *binary_path; /* the binary log, or NULL when it could not be created */
    int compression;
} tracer_sinks;

/* Adds the binary log (zstd when the library has it) beside the text log. */
static void add_binary_log(pmt_tracer *t, const char *log_path, tracer_sinks *sinks)
{
    char *wanted = binary_log_path(log_path);
    if (!wanted) {
        fail("out of memory");
        return;
    }
    pmt_binary_options options = PMT_BINARY_OPTIONS_INIT;
    options.compression =
        pmt_compression_supported(PMT_COMPRESS_ZSTD) ? PMT_COMPRESS_ZSTD : PMT_COMPRESS_NONE;
    sinks->compression = (int)options.compression;
    pmt_sink *binary = NULL;
    options.chunk_bytes = 1000; /* out of bounds: refused */
    EXPECT(pmt_sink_binary_open(&binary, wanted, LOG_FIRST_LINE, &options), PMT_EINVAL);
    options.chunk_bytes = 0; /* the default */
    if (EXPECT(pmt_sink_binary_open(&binary, wanted, LOG_FIRST_LINE, &options), PMT_OK)) {
        sinks->binary_path = copy_string(pmt_sink_path(binary));
        if (!EXPECT(pmt_tracer_add_sink(t, binary), PMT_OK))
            pmt_sink_destroy(binary);
    }
    free(wanted);
}

/* Creates the tracer, checks its parameter handling and adds the sinks: the text log, the
 * binary log, the counting sink and the failing sink. */
static pmt_tracer *create_tracer(const char *log_path, tracer_sinks *sinks)
{
    counting_sink *counter = &sinks->counter;
    char **used_path = &sinks->log_path;
    pmt_tracer *t = NULL;
    if (!EXPECT(pmt_tracer_create(&t), PMT_OK))
        return NULL;
    expect_state(t, PMT_STATE_CREATED, "after create");

    /* Out of bounds and unknown values are refused and change nothing. */
    EXPECT(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, -2), PMT_EINVAL);
    EXPECT(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, INT64_C(1) << 62), PMT_EINVAL);
    EXPECT(pmt_tracer_set_param(t, (pmt_param)999, 1), PMT_ENOTSUP);
    uint64_t u64;
    EXPECT(pmt_tracer_get_stat(t, (pmt_stat)999, &u64), PMT_ENOTSUP);

    EXPECT(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, -1), PMT_OK); /* one page */
    EXPECT(pmt_tracer_set_param(t, PMT_PARAM_EVENT_MASK, (int64_t)PMT_EV_MASK_PROFILE), PMT_OK);
    int64_t value = 0;
    if (EXPECT(pmt_tracer_get_param(t, PMT_PARAM_D_RSS_TRIGGER, &value), PMT_OK) && value != -1)
        fail("PMT_PARAM_D_RSS_TRIGGER reads back as %" PRId64, value);

    /* Nothing can run before the interpreter exists or before start. */
    EXPECT(pmt_tracer_start(t), PMT_ENOTHREAD);
    expect_state(t, PMT_STATE_CREATED, "after a refused start");
    EXPECT(pmt_tracer_stop(t), PMT_ESTATE);
    EXPECT(pmt_tracer_pause(t), PMT_ESTATE);
    EXPECT(pmt_tracer_resume(t), PMT_ESTATE);
    EXPECT(pmt_tracer_mark(t, "too early"), PMT_ESTATE);

    pmt_sink *log = NULL;
    if (!EXPECT(pmt_sink_text_open(&log, log_path, LOG_FIRST_LINE), PMT_OK)) {
        fprintf(stderr, "embed_trace: cannot create the log %s: %s\n", log_path,
                pmt_last_error_message());
        pmt_tracer_destroy(t);
        return NULL;
    }
    *used_path = copy_string(pmt_sink_path(log));
    if (!EXPECT(pmt_tracer_add_sink(t, log), PMT_OK)) {
        pmt_sink_destroy(log);
        pmt_tracer_destroy(t);
        return NULL;
    }
    EXPECT(pmt_tracer_add_sink(t, log), PMT_EINVAL); /* already the tracer's */

    add_binary_log(t, log_path, sinks);

    pmt_sink *counting = NULL;
    if (EXPECT(counting_sink_create(&counting, counter), PMT_OK) &&
        !EXPECT(pmt_tracer_add_sink(t, counting), PMT_OK))
        pmt_sink_destroy(counting);
    pmt_sink *failing = NULL;
    if (EXPECT(failing_sink_create(&failing, &sinks->failing), PMT_OK) &&
        !EXPECT(pmt_tracer_add_sink(t, failing), PMT_OK))
        pmt_sink_destroy(failing);
    return t;
}

static int init_python(int argc, char **argv)
{
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.parse_argv = 0; /* the arguments are the script's, not the interpreter's */
    PyStatus status = PyConfig_SetBytesArgv(&config, argc, argv);
    if (!PyStatus_Exception(status))
        status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        fail("cannot initialize Python: %s%s%s", status.func ? status.func : "",
             status.func ? ": " : "", status.err_msg ? status.err_msg : "unknown error");
        return -1;
    }
    return 0;
}

/* The exit status a SystemExit asks for (the exception is cleared): 0 for None, the number for
 * an int, 1 (after printing it) for anything else, as the python command does. */
static int system_exit_status(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();
#else
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
#endif
    int status = 1;
    PyObject *code = exc ? PyObject_GetAttrString(exc, "code") : NULL;
    if (code == Py_None) {
        status = 0;
    } else if (code && PyLong_Check(code)) {
        status = (int)PyLong_AsLong(code);
    } else if (code) {
        PyObject_Print(code, stderr, Py_PRINT_RAW);
        fputc('\n', stderr);
    }
    PyErr_Clear();
    Py_XDECREF(code);
    Py_XDECREF(exc);
    return status;
}

/* Runs a script file in __main__ as `python SCRIPT` would: __file__ set, its directory first on
 * sys.path, SystemExit turned into a status rather than an exit of the whole process (the tracer
 * still has to stop and write the end of its log). Returns the script's exit status. */
static int run_script(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "embed_trace: cannot open %s: %s\n", path, strerror(errno));
        return 2;
    }
    PyObject *main_module = PyImport_AddModule("__main__");                 /* borrowed */
    PyObject *globals = main_module ? PyModule_GetDict(main_module) : NULL; /* borrowed */
    const char *slash = strrchr(path, '/');
    PyObject *file = PyUnicode_DecodeFSDefault(path);
    PyObject *dir =
        slash ? PyUnicode_DecodeFSDefaultAndSize(path, slash - path) : PyUnicode_FromString("");
    PyObject *sys_path = PySys_GetObject("path"); /* borrowed */
    if (!globals || !file || !dir || !sys_path || PyDict_SetItemString(globals, "__file__", file) ||
        PyList_Insert(sys_path, 0, dir)) {
        Py_XDECREF(file);
        Py_XDECREF(dir);
        fclose(fp);
        PyErr_Print();
        return 1;
    }
    Py_DECREF(file);
    Py_DECREF(dir);
    PyObject *result = PyRun_FileExFlags(fp, path, Py_file_input, globals, globals, 1, NULL);
    if (result) {
        Py_DECREF(result);
        return 0;
    }
    if (PyErr_ExceptionMatches(PyExc_SystemExit))
        return system_exit_status();
    PyErr_Print();
    return 1;
}

/* Runs the built-in snippet, or the script at script_path. Returns 0 on success. */
static int run_python(const char *script_path)
{
    if (!script_path)
        return PyRun_SimpleString(builtin_code) == 0 ? 0 : 1;
    return run_script(script_path);
}

/* ---- Reading the log back. ---- */

typedef struct log_summary {
    int rows; /* FRST/NEXT/PREV/MSG/LAST rows */
    int next_rows;
    int alloc_rows;        /* NEXT rows of ALLOC_FUNCTION with dRSS >= ALLOC_BYTES */
    int mark_rows;         /* MSG rows carrying MARK_TEXT */
    int64_t alloc_d_rss;   /* the largest such dRSS */
    int64_t max_d_rss;     /* the largest dRSS of any NEXT row ... */
    char max_function[64]; /* ... and its function */
} log_summary;

static char *read_file(const char *path, size_t *out_size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fail("cannot open the log %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, size = 0;
    char *data = malloc(cap + 1);
    for (;;) {
        if (!data) {
            fail("out of memory reading %s", path);
            fclose(fp);
            return NULL;
        }
        size += fread(data + size, 1, cap - size, fp);
        if (size < cap)
            break;
        cap *= 2;
        char *grown = realloc(data, cap + 1);
        if (!grown)
            free(data);
        data = grown;
    }
    int error = ferror(fp);
    fclose(fp);
    if (error) {
        fail("cannot read the log %s", path);
        free(data);
        return NULL;
    }
    data[size] = '\0';
    *out_size = size;
    return data;
}

/* Splits a line (modified in place) into whitespace-separated tokens. */
static int tokenize(char *line, char **tokens, int max)
{
    int n = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        if (n == max)
            return -1;
        tokens[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    return n;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return 0;
    *out = v;
    return 1;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Checks the log's structure and collects what the caller checks further:
 *   [LOG_FIRST_LINE] SOF HDR: FRST: {NEXT:|PREV:|MSG:} LAST: EOF
 * An event row's last three columns are Function, RSS and dRSS. */
static void check_log(const char *path, log_summary *s)
{
    memset(s, 0, sizeof *s);
    size_t size = 0;
    char *data = read_file(path, &size);
    if (!data)
        return;
    if (size == 0 || data[size - 1] != '\n') {
        fail("%s: empty, or the last line is cut", path);
        free(data);
        return;
    }
    enum { WANT_FIRST_LINE, WANT_SOF, WANT_HDR, WANT_FRST, IN_ROWS, AFTER_LAST, AFTER_EOF };
    int stage = WANT_FIRST_LINE, lineno = 0;
    char *next_line;
    for (char *line = data; *line; line = next_line) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        next_line = nl + 1;
        lineno++;
        if (stage == WANT_FIRST_LINE) {
            if (strcmp(line, LOG_FIRST_LINE) != 0)
                fail("%s:%d: expected the log's message \"%s\", got \"%.60s\"", path, lineno,
                     LOG_FIRST_LINE, line);
            stage = WANT_SOF;
            continue;
        }
        if (stage == WANT_SOF) {
            if (strcmp(line, "SOF") != 0)
                fail("%s:%d: expected SOF, got \"%.60s\"", path, lineno, line);
            stage = WANT_HDR;
            continue;
        }
        char *tokens[MAX_LINE_TOKENS];
        if (stage == WANT_HDR) {
            int n = tokenize(line, tokens, MAX_LINE_TOKENS);
            if (n < 4 || strcmp(tokens[0], "HDR:") != 0 || strcmp(tokens[n - 3], "Function") ||
                strcmp(tokens[n - 2], "RSS") || strcmp(tokens[n - 1], "dRSS"))
                fail("%s:%d: expected the HDR: row ending in Function RSS dRSS", path, lineno);
            stage = WANT_FRST;
            continue;
        }
        if (stage == AFTER_LAST) {
            if (strcmp(line, "EOF") != 0)
                fail("%s:%d: expected EOF after LAST:, got \"%.60s\"", path, lineno, line);
            stage = AFTER_EOF;
            continue;
        }
        if (stage == AFTER_EOF) {
            fail("%s:%d: text after EOF", path, lineno);
            break;
        }
        /* An event or message row. */
        const char *tag = line;
        int is_frst = starts_with(tag, "FRST: "), is_next = starts_with(tag, "NEXT: ");
        int is_prev = starts_with(tag, "PREV: "), is_msg = starts_with(tag, "MSG:  ");
        int is_last = starts_with(tag, "LAST: ");
        if (!(is_frst || is_next || is_prev || is_msg || is_last)) {
            fail("%s:%d: unexpected row \"%.60s\"", path, lineno, line);
            continue;
        }
        if (stage == WANT_FRST && !is_frst)
            fail("%s:%d: the first row is not FRST:", path, lineno);
        else if (stage == IN_ROWS && is_frst)
            fail("%s:%d: a second FRST: row", path, lineno);
        stage = is_last ? AFTER_LAST : IN_ROWS;
        s->rows++;
        if (is_msg) {
            if (strstr(line, "# " MARK_TEXT))
                s->mark_rows++;
            continue;
        }
        int n = tokenize(line, tokens, MAX_LINE_TOKENS);
        int64_t rss, d_rss;
        if (n < 8 || !parse_i64(tokens[n - 2], &rss) || !parse_i64(tokens[n - 1], &d_rss) ||
            rss <= 0) {
            fail("%s:%d: the row does not end in RSS and dRSS", path, lineno);
            continue;
        }
        if (!is_next)
            continue;
        s->next_rows++;
        const char *function = tokens[n - 3];
        if (d_rss > s->max_d_rss) {
            s->max_d_rss = d_rss;
            snprintf(s->max_function, sizeof s->max_function, "%s", function);
        }
        if (strcmp(function, ALLOC_FUNCTION) == 0 && d_rss >= (int64_t)ALLOC_BYTES) {
            s->alloc_rows++;
            if (d_rss > s->alloc_d_rss)
                s->alloc_d_rss = d_rss;
        }
    }
    if (stage != AFTER_EOF)
        fail("%s: the log ends before %s", path,
             stage == AFTER_LAST ? "EOF"
             : stage < IN_ROWS   ? "its first row"
                                 : "LAST:");
    free(data);
}

/* Reads the binary log back with pmt_reader_*(): complete, with the header it was given, the same
 * events as the text log's rows, and the same NEXT rows of the allocating function. */
static void check_binary_log(const char *path, const log_summary *s, uint64_t written,
                             int compression)
{
    pmt_reader *r = NULL;
    if (!EXPECT(pmt_reader_open(&r, path), PMT_OK))
        return;
    const pmt_log_info *info = pmt_reader_info(r);
    if (!info->message || strcmp(info->message, LOG_FIRST_LINE) != 0)
        fail("%s: the header's message is \"%s\"", path, info->message ? info->message : "(none)");
    if (info->compression != (uint32_t)compression)
        fail("%s: compression %u, expected %d", path, info->compression, compression);
    if (strcmp(info->library_version, pmt_version_string()) != 0)
        fail("%s: written by pymemtrace \"%s\"", path, info->library_version);
    int events = 0, next_rows = 0, alloc_rows = 0, mark_rows = 0;
    int64_t max_d_rss = 0;
    char max_function[64] = "";
    const pmt_event *ev;
    while (pmt_reader_next(r, &ev) == 1) {
        events++;
        if (ev->kind == PMT_EV_MARK && ev->message && strcmp(ev->message, MARK_TEXT) == 0)
            mark_rows++;
        if (ev->reason != PMT_REASON_TRIGGER)
            continue;
        next_rows++;
        if (ev->d_rss > max_d_rss) {
            max_d_rss = ev->d_rss;
            snprintf(max_function, sizeof max_function, "%s", ev->function);
        }
        if (strcmp(ev->function, ALLOC_FUNCTION) == 0 && ev->d_rss >= (int64_t)ALLOC_BYTES)
            alloc_rows++;
    }
    uint64_t offset = 0;
    const char *reason = "";
    int status = pmt_reader_status(r, &offset, &reason);
    if (status != PMT_OK)
        fail("%s: reading stopped at byte %" PRIu64 ": %s (%s)", path, offset, reason,
             pmt_strerror(status));
    if (events != s->rows || (uint64_t)events != written)
        fail("%s has %d events, the text log %d rows, the tracer wrote %" PRIu64, path, events,
             s->rows, written);
    if (next_rows != s->next_rows || alloc_rows != s->alloc_rows || mark_rows != s->mark_rows)
        fail("%s: %d NEXT (%d of %s()) and %d marks, the text log %d (%d) and %d", path, next_rows,
             alloc_rows, ALLOC_FUNCTION, mark_rows, s->next_rows, s->alloc_rows, s->mark_rows);
    if (max_d_rss != s->max_d_rss || strcmp(max_function, s->max_function) != 0)
        fail("%s: largest growth %" PRId64 " in \"%s\", the text log %" PRId64 " in \"%s\"", path,
             max_d_rss, max_function, s->max_d_rss, s->max_function);
    if (!info->has_summary || info->events_written != written)
        fail("%s: the summary says %" PRIu64 " events written (has_summary %u)", path,
             info->events_written, info->has_summary);
    pmt_reader_close(r);
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s LOG [SCRIPT.py [ARGS...]]\n"
            "  Runs Python code under a pymemtrace tracer writing the text log LOG and the\n"
            "  binary log LOG.pmt (LOG's .log replaced), then checks both. Without SCRIPT.py,\n"
            "  runs a built-in snippet that grows by 4 MiB.\n",
            argv0);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '\0' || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        usage(argv[0]);
        return 2;
    }
    const char *log_path = argv[1];
    const char *script = argc > 2 ? argv[2] : NULL;

    /* The directory of the log, for the I/O error check. */
    char log_dir[4096];
    snprintf(log_dir, sizeof log_dir, "%s", log_path);
    char *slash = strrchr(log_dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(log_dir, sizeof log_dir, ".");

    check_library(log_dir);

    tracer_sinks sinks;
    memset(&sinks, 0, sizeof sinks);
    counting_sink *const counter = &sinks.counter;
    pmt_tracer *t = create_tracer(log_path, &sinks);
    char *used_path = sinks.log_path;
    if (!t || !used_path) {
        fprintf(stderr, "embed_trace: %d check(s) failed before Python started\n", failures);
        pmt_tracer_destroy(t);
        free(used_path);
        free(sinks.binary_path);
        return 1;
    }

    /* sys.argv is [SCRIPT, ARGS...] for a script, [argv[0]] for the built-in snippet. */
    if (script ? init_python(argc - 2, argv + 2) : init_python(1, argv)) {
        pmt_tracer_destroy(t);
        free(used_path);
        free(sinks.binary_path);
        return 1;
    }
    long hexversion = PY_VERSION_HEX;
    PyObject *hex = PySys_GetObject("hexversion"); /* borrowed; the running interpreter's */
    if (hex)
        hexversion = PyLong_AsLong(hex);
    char python_version[32];
    snprintf(python_version, sizeof python_version, "%ld.%ld.%ld", (hexversion >> 24) & 0xff,
             (hexversion >> 16) & 0xff, (hexversion >> 8) & 0xff);
    const char *hook = hexversion >= 0x030C0000 ? "sys.monitoring" : "sys.setprofile";

    /* The calling thread holds the GIL of the interpreter just created. */
    int python_failed = 0;
    if (EXPECT(pmt_tracer_start(t), PMT_OK)) {
        expect_state(t, PMT_STATE_RUNNING, "after start");
        EXPECT(pmt_tracer_start(t), PMT_ESTATE);
        EXPECT(pmt_tracer_resume(t), PMT_ESTATE);
        EXPECT(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 0), PMT_ESTATE);
        counting_sink late_counter = {0, 0, 0, 0};
        pmt_sink *late = NULL;
        if (EXPECT(counting_sink_create(&late, &late_counter), PMT_OK)) {
            EXPECT(pmt_tracer_add_sink(t, late), PMT_ESTATE);
            pmt_sink_destroy(late); /* still ours after a refused add */
            if (late_counter.closes != 1)
                fail("a destroyed sink was closed %d times", late_counter.closes);
        }
        EXPECT(pmt_tracer_pause(t), PMT_OK);
        expect_state(t, PMT_STATE_PAUSED, "after pause");
        EXPECT(pmt_tracer_pause(t), PMT_ESTATE);
        EXPECT(pmt_tracer_resume(t), PMT_OK);
        expect_state(t, PMT_STATE_RUNNING, "after resume");
        EXPECT(pmt_tracer_mark(t, MARK_TEXT), PMT_OK);

        int status = run_python(script);
        if (status != 0) {
            python_failed = 1;
            if (script)
                fail("%s exited with status %d", script, status);
            else
                fail("the Python code raised an exception (traceback above)");
        }

        EXPECT(pmt_tracer_stop(t), PMT_OK);
        expect_state(t, PMT_STATE_STOPPED, "after stop");
        EXPECT(pmt_tracer_stop(t), PMT_ESTATE);
        EXPECT(pmt_tracer_mark(t, "too late"), PMT_ESTATE);
    }

    uint64_t seen = 0, written = 0, sinks_failed = 0, rss_errors = 0;
    EXPECT(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_SEEN, &seen), PMT_OK);
    EXPECT(pmt_tracer_get_stat(t, PMT_STAT_EVENTS_WRITTEN, &written), PMT_OK);
    EXPECT(pmt_tracer_get_stat(t, PMT_STAT_SINKS_FAILED, &sinks_failed), PMT_OK);
    EXPECT(pmt_tracer_get_stat(t, PMT_STAT_RSS_ERRORS, &rss_errors), PMT_OK);
    pmt_tracer_destroy(t); /* closes every sink: the text log gets its EOF, the binary its index */

    if (Py_FinalizeEx() < 0)
        fail("Py_FinalizeEx failed (flushing stdout or stderr)");

    /* The counters agree with each other and with the sinks. */
    if (seen < 3 || written < 3 || written > seen)
        fail("implausible counters: %" PRIu64 " events seen, %" PRIu64 " written", seen, written);
    /* Only the failing sink failed: called until it failed, never after, closed once. */
    if (sinks_failed != 1)
        fail("%" PRIu64 " sink(s) failed, expected 1 (the failing sink)", sinks_failed);
    if (sinks.failing.writes != FAILING_WRITES + 1 || sinks.failing.closes != 1)
        fail("the failing sink was called %d times (expected %d) and closed %d times",
             sinks.failing.writes, FAILING_WRITES + 1, sinks.failing.closes);
    if (rss_errors != 0)
        fail("%" PRIu64 " RSS read(s) failed", rss_errors);
    if (counter->events != written)
        fail("the counting sink received %" PRIu64 " events, the tracer wrote %" PRIu64,
             counter->events, written);
    if (counter->closes != 1 || counter->flushes < 1)
        fail("the counting sink was flushed %d and closed %d times", counter->flushes,
             counter->closes);

    log_summary s;
    check_log(used_path, &s);
    if ((uint64_t)s.rows != written)
        fail("%s has %d rows, the tracer wrote %" PRIu64 " events", used_path, s.rows, written);
    if (s.mark_rows != 1)
        fail("%s has %d MSG: rows with \"%s\", expected 1", used_path, s.mark_rows, MARK_TEXT);
    if (sinks.binary_path)
        check_binary_log(sinks.binary_path, &s, written, sinks.compression);
    else
        fail("no binary log was written");
    if (!script && !python_failed) {
        if (s.alloc_rows < 1)
            fail("%s has no NEXT: row of %s() with dRSS >= %" PRIu64 " (largest: %" PRId64
                 " in \"%s\")",
                 used_path, ALLOC_FUNCTION, ALLOC_BYTES, s.max_d_rss, s.max_function);
        if (counter->alloc_events < 1)
            fail("the counting sink saw no event of %s() with dRSS >= %" PRIu64, ALLOC_FUNCTION,
                 ALLOC_BYTES);
    }

    if (failures) {
        fprintf(stderr, "embed_trace: %d check(s) failed (log: %s)\n", failures, used_path);
        free(used_path);
        free(sinks.binary_path);
        return 1;
    }
    if (script)
        printf("embed_trace: OK: %s under Python %s (%s), pymemtrace %s: %" PRIu64
               " events seen, %" PRIu64 " written, largest growth %+" PRId64
               " bytes in %s; log: %s; binary log: %s\n",
               script, python_version, hook, pmt_version_string(), seen, written, s.max_d_rss,
               s.max_function[0] ? s.max_function : "(none)", used_path,
               sinks.binary_path ? sinks.binary_path : "(none)");
    else
        printf("embed_trace: OK: Python %s (%s), pymemtrace %s: %" PRIu64 " events seen, %" PRIu64
               " written, %s() grew RSS by %" PRId64 " bytes; log: %s; binary log: %s\n",
               python_version, hook, pmt_version_string(), seen, written, ALLOC_FUNCTION,
               s.alloc_d_rss, used_path, sinks.binary_path ? sinks.binary_path : "(none)");
    free(used_path);
    free(sinks.binary_path);
    return 0;
}
