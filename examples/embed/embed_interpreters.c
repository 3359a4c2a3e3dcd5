/* embed_interpreters: an application that runs several Python interpreters in one process and
 * traces each with its own tracer, then starts and stops tracing many times.
 *
 *   embed_interpreters LOG_DIR [CYCLES]
 *
 * Checks, exiting 1 on the first failure:
 *  - the main interpreter and two sub-interpreters (Py_NewInterpreter) each get a tracer with a
 *    binary log and a counting sink; code runs in them in turn; every event a tracer delivers
 *    carries its own interpreter's id, as does its log (header and events read back), and its
 *    log names only functions defined in its own interpreter (tracers do not see each other's
 *    events);
 *  - a thread Python has never seen marks the main interpreter's log (pmt_tracer_mark takes the
 *    GIL itself) while the main thread waits with the GIL released;
 *  - CYCLES (default 1000) create/start/run/stop/destroy cycles of a tracer leave the C heap
 *    where it was after a warm-up (mallinfo2: a leak of a few bytes per cycle shows). Run it
 *    under valgrind too: the test does.
 */
#define _GNU_SOURCE
#include <Python.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pymemtrace/pymemtrace.h>

#define INTERPRETERS 3
#define ROUNDS       3

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("embed_interpreters: FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void check(int rc, const char *what)
{
    if (rc != PMT_OK)
        die("%s: %s (%s)", what, pmt_strerror(rc), pmt_last_error_message());
}

/* Counts a tracer's events and the ones that name another interpreter. */
typedef struct interp_sink {
    int64_t interpreter_id;
    uint64_t events;
    uint64_t foreign;
} interp_sink;

static int interp_write(const pmt_event *ev, void *user_data)
{
    interp_sink *s = user_data;
    s->events++;
    if (ev->struct_size < offsetof(pmt_event, interpreter_id) + sizeof ev->interpreter_id ||
        ev->interpreter_id != s->interpreter_id)
        s->foreign++;
    return 0;
}

typedef struct interpreter {
    PyThreadState *tstate;
    int64_t id;
    pmt_tracer *tracer;
    interp_sink counts;
    char log_path[4096];
} interpreter;

/* Defines and calls work_<index>() in the interpreter whose thread state is current. */
static void run_work(int index, int round)
{
    char code[512];
    snprintf(code, sizeof code,
             "def work_%d(n):\n"
             "    return [bytes(64) for _ in range(n)]\n"
             "kept_%d_%d = work_%d(1000)\n",
             index, index, round, index);
    if (PyRun_SimpleString(code) != 0)
        die("Python code failed in interpreter %d", index);
}

static void start_tracer(interpreter *in, int index, const char *log_dir)
{
    snprintf(in->log_path, sizeof in->log_path, "%s/interpreter%d.pmt", log_dir, index);
    check(pmt_tracer_create(&in->tracer), "pmt_tracer_create");
    check(pmt_tracer_set_param(in->tracer, PMT_PARAM_D_RSS_TRIGGER, 0), "set trigger");
    pmt_sink *log = NULL, *counter = NULL;
    check(pmt_sink_binary_open(&log, in->log_path, "one interpreter", NULL), "binary log");
    check(pmt_tracer_add_sink(in->tracer, log), "add log");
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = interp_write;
    in->counts.interpreter_id = in->id;
    check(pmt_sink_create(&counter, &ops, &in->counts), "pmt_sink_create");
    check(pmt_tracer_add_sink(in->tracer, counter), "add counter");
    check(pmt_tracer_start(in->tracer), "pmt_tracer_start");
}

/* Every function the log names is this interpreter's work_<index> (or the module level), and
 * work_<index> was seen; marks are counted. */
static void check_log(const interpreter *in, int index, int *marks_out)
{
    pmt_reader *r = NULL;
    check(pmt_reader_open(&r, in->log_path), "pmt_reader_open");
    if (pmt_reader_info(r)->interpreter_id != in->id)
        die("%s records interpreter %lld, not %lld", in->log_path,
            (long long)pmt_reader_info(r)->interpreter_id, (long long)in->id);
    char own[32];
    snprintf(own, sizeof own, "work_%d", index);
    int own_calls = 0, marks = 0;
    const pmt_event *ev;
    while (pmt_reader_next(r, &ev) == 1) {
        if (ev->interpreter_id != in->id)
            die("%s: an event read back names interpreter %lld", in->log_path,
                (long long)ev->interpreter_id);
        if (ev->kind == PMT_EV_MARK) {
            marks++;
            continue;
        }
        /* A function of this interpreter's work_N, or nested in it ("work_0.<locals>...",
         * the qualified names of CPython 3.11+). */
        size_t own_len = strlen(own);
        int mine = strncmp(ev->function, own, own_len) == 0 &&
                   (ev->function[own_len] == '\0' || ev->function[own_len] == '.');
        if (strncmp(ev->function, "work_", 5) == 0 && !mine)
            die("%s names %s: another interpreter's function", in->log_path, ev->function);
        if (ev->kind == PMT_EV_CALL && strcmp(ev->function, own) == 0)
            own_calls++;
    }
    uint64_t offset;
    const char *reason;
    int status = pmt_reader_status(r, &offset, &reason);
    pmt_reader_close(r);
    if (status != PMT_OK)
        die("%s is not readable to its end: %s at %llu", in->log_path, reason,
            (unsigned long long)offset);
    if (own_calls != ROUNDS)
        die("%s has %d calls of %s, not %d", in->log_path, own_calls, own, ROUNDS);
    *marks_out = marks;
}

static void *mark_from_a_foreign_thread(void *arg)
{
    pmt_tracer *t = arg;
    check(pmt_tracer_mark(t, "from a thread Python never saw"), "pmt_tracer_mark");
    return NULL;
}

static void check_interpreters(const char *log_dir)
{
    interpreter in[INTERPRETERS];
    memset(in, 0, sizeof in);
    in[0].tstate = PyThreadState_Get();
    for (int i = 1; i < INTERPRETERS; i++) {
        in[i].tstate = Py_NewInterpreter();
        if (!in[i].tstate)
            die("Py_NewInterpreter failed");
    }
    for (int i = 0; i < INTERPRETERS; i++) {
        PyThreadState_Swap(in[i].tstate);
        in[i].id = PyInterpreterState_GetID(PyInterpreterState_Get());
        start_tracer(&in[i], i, log_dir);
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = INTERPRETERS - 1; i >= 0; i--) {
            PyThreadState_Swap(in[i].tstate);
            run_work(i, round);
        }
    }

    PyThreadState_Swap(in[0].tstate);
    pthread_t thread;
    Py_BEGIN_ALLOW_THREADS if (pthread_create(&thread, NULL, mark_from_a_foreign_thread,
                                              in[0].tracer) != 0) die("pthread_create failed");
    pthread_join(thread, NULL);
    Py_END_ALLOW_THREADS

        for (int i = 0; i < INTERPRETERS; i++)
    {
        PyThreadState_Swap(in[i].tstate);
        check(pmt_tracer_stop(in[i].tracer), "pmt_tracer_stop");
        pmt_tracer_destroy(in[i].tracer);
        if (in[i].counts.events == 0 || in[i].counts.foreign != 0)
            die("interpreter %d: %llu events, %llu with another interpreter's id", i,
                (unsigned long long)in[i].counts.events, (unsigned long long)in[i].counts.foreign);
        int marks = 0;
        check_log(&in[i], i, &marks);
        if (marks != (i == 0 ? 1 : 0))
            die("interpreter %d's log has %d marks", i, marks);
        printf("embed_interpreters: interpreter %lld: %llu events, all its own\n",
               (long long)in[i].id, (unsigned long long)in[i].counts.events);
    }
    for (int i = 1; i < INTERPRETERS; i++) {
        PyThreadState_Swap(in[i].tstate);
        Py_EndInterpreter(in[i].tstate);
    }
    PyThreadState_Swap(in[0].tstate);
}

static int count_write(const pmt_event *ev, void *user_data)
{
    (void)ev;
    ++*(uint64_t *)user_data;
    return 0;
}

static void one_cycle(PyObject *code, PyObject *globals)
{
    pmt_tracer *t = NULL;
    pmt_sink *counter = NULL;
    uint64_t events = 0;
    pmt_sink_ops ops = PMT_SINK_OPS_INIT;
    ops.write = count_write;
    check(pmt_tracer_create(&t), "pmt_tracer_create");
    check(pmt_tracer_set_param(t, PMT_PARAM_D_RSS_TRIGGER, 0), "set trigger");
    check(pmt_sink_create(&counter, &ops, &events), "pmt_sink_create");
    check(pmt_tracer_add_sink(t, counter), "add sink");
    check(pmt_tracer_start(t), "pmt_tracer_start");
    PyObject *r = PyEval_EvalCode(code, globals, globals);
    if (!r)
        die("cycle code failed");
    Py_DECREF(r);
    check(pmt_tracer_stop(t), "pmt_tracer_stop");
    pmt_tracer_destroy(t);
    if (events < 4)
        die("a cycle saw %llu events", (unsigned long long)events);
}

static void check_cycles(long cycles)
{
    PyObject *code = Py_CompileString("def f(n):\n    return sum(range(n))\nf(10)\nf(20)\n",
                                      "<cycle>", Py_file_input);
    PyObject *globals = PyDict_New();
    if (!code || !globals || PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()))
        die("cannot set up the cycle code");
    long warm_up = cycles < 50 ? cycles : 50;
    for (long i = 0; i < warm_up; i++)
        one_cycle(code, globals);
    struct mallinfo2 before = mallinfo2();
    for (long i = warm_up; i < cycles; i++)
        one_cycle(code, globals);
    struct mallinfo2 after = mallinfo2();
    Py_DECREF(code);
    Py_DECREF(globals);
    long long growth = (long long)after.uordblks - (long long)before.uordblks;
    printf("embed_interpreters: %ld start/stop cycles, C heap in use %+lld bytes after warm-up\n",
           cycles, growth);
    /* One leaked byte per cycle is 16+ bytes of heap per cycle: 1000 cycles would show 16 KiB. */
    if (cycles - warm_up >= 500 && growth > 8192)
        die("the C heap grew by %lld bytes over %ld cycles", growth, cycles - warm_up);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s LOG_DIR [CYCLES]\n", argv[0]);
        return 2;
    }
    long cycles = argc == 3 ? strtol(argv[2], NULL, 10) : 1000;
    Py_InitializeEx(0);
    check_interpreters(argv[1]);
    check_cycles(cycles);
    if (Py_FinalizeEx() != 0)
        die("Py_FinalizeEx failed");
    printf("embed_interpreters: OK\n");
    return 0;
}
