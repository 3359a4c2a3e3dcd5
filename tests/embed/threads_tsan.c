/* The library's threads under ThreadSanitizer (tests/embed/threads_tsan.sh): an embedded
 * interpreter runs four Python threads that call functions while four C threads the interpreter
 * does not know write marks into the same tracer, and an RSS monitor hands it samples from a
 * thread of its own (each sample must reach the log); then pause/resume storms with a marking
 * thread running, and start/stop storms. Every mark and no race must come out: the log is read back
 * and its marks counted. threads_tsan LOG_DIR */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <pymemtrace/pymemtrace.h>

enum { MARKERS = 4, MARKS = 200, STORMS = 300 };

static pmt_tracer *tracer;
static atomic_int marks_failed;
static atomic_int storm_over;

static void *marker(void *arg)
{
    char text[64];
    for (int i = 0; i < MARKS; i++) {
        snprintf(text, sizeof text, "marker %d mark %d", (int)(intptr_t)arg, i);
        if (pmt_tracer_mark(tracer, text) != PMT_OK)
            atomic_fetch_add(&marks_failed, 1);
    }
    return NULL;
}

/* Marks while another thread pauses and resumes the tracer: each is written, never a race. */
static void *storm_marker(void *arg)
{
    (void)arg;
    while (!atomic_load(&storm_over))
        (void)pmt_tracer_mark(tracer, "storm");
    return NULL;
}

static int fail(const char *what)
{
    fprintf(stderr, "threads_tsan: FAILED: %s: %s\n", what, pmt_last_error_message());
    return 1;
}

static const char *const program = "import threading\n"
                                   "def work(n):\n"
                                   "    return sum(i * i for i in range(n))\n"
                                   "def run():\n"
                                   "    for _ in range(200):\n"
                                   "        work(50)\n"
                                   "threads = [threading.Thread(target=run) for _ in range(4)]\n"
                                   "for t in threads: t.start()\n";

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s LOG_DIR\n", argv[0]);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/threads.pmt", argv[1]);
    Py_Initialize();
    pmt_sink *sink = NULL;
    if (pmt_tracer_create(&tracer) != PMT_OK ||
        pmt_tracer_set_param(tracer, PMT_PARAM_D_RSS_TRIGGER, 0) != PMT_OK ||
        pmt_sink_binary_open(&sink, path, "threads", NULL) != PMT_OK ||
        pmt_tracer_add_sink(tracer, sink) != PMT_OK)
        return fail("setting up");
    /* A monitor beside it: its thread hands samples over while the Python threads, each in
     * turn with the GIL, write them (the queue's one producer and its consumers). */
    pmt_monitor *monitor = NULL;
    if (pmt_monitor_create(&monitor) != PMT_OK ||
        pmt_monitor_set_interval_ns(monitor, 1000000) != PMT_OK ||
        pmt_monitor_add_tracer(monitor, tracer) != PMT_OK)
        return fail("setting up the monitor");
    if (pmt_tracer_start(tracer) != PMT_OK || pmt_monitor_start(monitor) != PMT_OK)
        return fail("start");
    if (PyRun_SimpleString(program) != 0)
        return fail("starting Python threads");
    PyThreadState *saved = PyEval_SaveThread(); /* the Python threads and markers run */
    pthread_t threads[MARKERS];
    for (int i = 0; i < MARKERS; i++)
        pthread_create(&threads[i], NULL, marker, (void *)(intptr_t)i);
    for (int i = 0; i < MARKERS; i++)
        pthread_join(threads[i], NULL);
    PyEval_RestoreThread(saved);
    if (PyRun_SimpleString("for t in threads: t.join()\n") != 0)
        return fail("joining Python threads");
    if (pmt_monitor_stop(monitor) != PMT_OK || pmt_tracer_stop(tracer) != PMT_OK)
        return fail("stop");
    uint64_t written = 0, samples_written = 0, samples_taken = 0;
    pmt_tracer_get_stat(tracer, PMT_STAT_EVENTS_WRITTEN, &written);
    pmt_tracer_get_stat(tracer, PMT_STAT_SAMPLES_WRITTEN, &samples_written);
    pmt_monitor_samples(monitor, &samples_taken);
    pmt_tracer_destroy(tracer); /* closes the log */
    pmt_monitor_destroy(monitor);

    /* Storms: pause and resume while a foreign thread marks (each mark written or refused,
     * never a race); then new tracers started and stopped. */
    pmt_tracer *t = NULL;
    pmt_sink *storm_sink = NULL;
    char storm_path[4096];
    snprintf(storm_path, sizeof storm_path, "%s/storm.pmt", argv[1]);
    if (pmt_tracer_create(&t) != PMT_OK ||
        pmt_sink_binary_open(&storm_sink, storm_path, NULL, NULL) != PMT_OK ||
        pmt_tracer_add_sink(t, storm_sink) != PMT_OK || pmt_tracer_start(t) != PMT_OK)
        return fail("storm tracer");
    tracer = t;
    pthread_t storm;
    saved = PyEval_SaveThread();
    pthread_create(&storm, NULL, storm_marker, NULL);
    PyEval_RestoreThread(saved);
    int storm_failures = 0;
    for (int i = 0; i < STORMS; i++) {
        storm_failures += pmt_tracer_pause(t) != PMT_OK;
        saved = PyEval_SaveThread(); /* the marking thread gets the GIL in between */
        PyEval_RestoreThread(saved);
        storm_failures += pmt_tracer_resume(t) != PMT_OK;
        saved = PyEval_SaveThread();
        PyEval_RestoreThread(saved);
    }
    saved = PyEval_SaveThread();
    atomic_store(&storm_over, 1);
    pthread_join(storm, NULL);
    PyEval_RestoreThread(saved);
    storm_failures += pmt_tracer_stop(t) != PMT_OK;
    pmt_tracer_destroy(t);
    for (int i = 0; i < STORMS; i++) {
        if (pmt_tracer_create(&t) != PMT_OK)
            return fail("storm create");
        storm_failures += pmt_tracer_start(t) != PMT_OK;
        storm_failures += pmt_tracer_stop(t) != PMT_OK;
        pmt_tracer_destroy(t);
    }
    Py_FinalizeEx();
    if (storm_failures)
        return fprintf(stderr, "threads_tsan: FAILED: %d storm calls failed\n", storm_failures), 1;

    pmt_reader *r = NULL;
    if (pmt_reader_open(&r, path) != PMT_OK)
        return fail("reading the log");
    const pmt_event *ev;
    int marks = 0, calls = 0, samples = 0;
    while (pmt_reader_next(r, &ev) == 1) {
        marks += ev->kind == PMT_EV_MARK;
        calls += ev->kind == PMT_EV_CALL;
        samples += ev->kind == PMT_EV_SAMPLE;
    }
    int status = pmt_reader_status(r, NULL, NULL);
    pmt_reader_close(r);
    printf("threads_tsan: %d marks of %d, %d calls, %llu events written, %d samples of %llu, "
           "status %d\n",
           marks, MARKERS * MARKS, calls, (unsigned long long)written, samples,
           (unsigned long long)samples_taken, status);
    if (status != PMT_OK || marks != MARKERS * MARKS - atomic_load(&marks_failed) ||
        atomic_load(&marks_failed) != 0 || calls < 4 * 200 || samples < 2 ||
        (uint64_t)samples != samples_written || samples_written != samples_taken)
        return fprintf(stderr, "threads_tsan: FAILED: the log is not what was written\n"), 1;
    printf("threads_tsan: OK\n");
    return 0;
}
