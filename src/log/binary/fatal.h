/* A fatal signal's last record (fatal.c): when the traced process dies of SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE or SIGABRT (a crash in an extension module, an abort), each binary log with a
 * live area gets a final MARK naming the signal and the thread, at the place of its last event,
 * when that can be done safely: its writer was not in the middle of a record. The previous
 * handlers run afterwards, as if ours were not there. */
#ifndef PMT_LOG_BINARY_FATAL_H
#define PMT_LOG_BINARY_FATAL_H

#include <stdint.h>

/* Writes the record into a sink's live area for pmt__fatal_signals[which]; called from the
 * signal handler, so it may only use async-signal-safe calls and the sink's memory. */
typedef void (*pmt__fatal_record_fn)(void *sink, int which, uint64_t thread_id);

/* The signals handled, in the order of the messages the writer prepares. */
enum { PMT__FATAL_SIGNALS = 5 };
extern const int pmt__fatal_signals[PMT__FATAL_SIGNALS];
extern const char *const pmt__fatal_messages[PMT__FATAL_SIGNALS];

/* Adds a sink (its handlers installed at the first one, chained to those before); 0, or -1 when
 * there is no room (the sink then gets no final record). GIL held. */
int pmt__fatal_register(void *sink, pmt__fatal_record_fn record);

/* Removes it (a sink that closes, forgets its file in a child, or leaves its live area). */
void pmt__fatal_unregister(void *sink);

#endif
