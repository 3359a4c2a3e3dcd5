/* The fatal-signal handler (fatal.h). Installed once per process, at the first binary log with a
 * live area, and never removed: sinks come and go in a fixed table it reads. */
#define _GNU_SOURCE
#include "log/binary/fatal.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const int pmt__fatal_signals[PMT__FATAL_SIGNALS] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
const char *const pmt__fatal_messages[PMT__FATAL_SIGNALS] = {
    "pymemtrace: the process died of SIGSEGV (a crash) after the event before this row",
    "pymemtrace: the process died of SIGBUS after the event before this row",
    "pymemtrace: the process died of SIGILL after the event before this row",
    "pymemtrace: the process died of SIGFPE after the event before this row",
    "pymemtrace: the process died of SIGABRT (abort) after the event before this row",
};

enum { MAX_SINKS = 32 };

typedef struct entry {
    void *sink; /* NULL: free */
    pmt__fatal_record_fn record;
    pid_t pid; /* the process it was registered in: a child of fork must not write it */
} entry;

static entry table[MAX_SINKS];
static struct sigaction previous[PMT__FATAL_SIGNALS];
static int installed;

static void on_fatal(int sig, siginfo_t *info, void *context)
{
    (void)info;
    (void)context;
    int which = 0;
    while (which < PMT__FATAL_SIGNALS - 1 && pmt__fatal_signals[which] != sig)
        which++;
    pid_t pid = getpid();
    uint64_t thread = (uint64_t)syscall(SYS_gettid);
    for (int i = 0; i < MAX_SINKS; i++) {
        void *sink = __atomic_load_n(&table[i].sink, __ATOMIC_ACQUIRE);
        if (sink && table[i].pid == pid)
            table[i].record(sink, which, thread);
    }
    sigaction(sig, &previous[which], NULL); /* as if ours had never been there */
    if (sig == SIGABRT)
        raise(sig);
    /* A fault comes back when the instruction runs again, to the previous handler. */
}

static void install(void)
{
    if (installed)
        return;
    installed = 1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fatal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < PMT__FATAL_SIGNALS; i++)
        sigaction(pmt__fatal_signals[i], &action, &previous[i]);
}

int pmt__fatal_register(void *sink, pmt__fatal_record_fn record)
{
    for (int i = 0; i < MAX_SINKS; i++) {
        if (table[i].sink)
            continue;
        table[i].record = record;
        table[i].pid = getpid();
        __atomic_store_n(&table[i].sink, sink, __ATOMIC_RELEASE);
        install();
        return 0;
    }
    return -1;
}

void pmt__fatal_unregister(void *sink)
{
    for (int i = 0; i < MAX_SINKS; i++)
        if (table[i].sink == sink)
            __atomic_store_n(&table[i].sink, NULL, __ATOMIC_RELEASE);
}
