/* The text log as its format is documented (text_sink.c), written independently with printf, so
 * that the tests compare the sink's hand-made formatting against the specification. */
#ifndef PMT_TESTS_UNIT_EXPECT_TEXT_H
#define PMT_TESTS_UNIT_EXPECT_TEXT_H

#include <stdint.h>

#include "fakes.h"

/* The optional message line, SOF and the HDR: line. */
void expect_header(strbuf *b, const char *message);

/* One event row; tag is "FRST:", "NEXT:", "PREV:" or "LAST:"; ns is the time since the first
 * written event; file and function as they should appear (escaped by the caller). */
void expect_row(strbuf *b, const char *tag, uint64_t seq, uint64_t d_seq, uint64_t ns,
                const char *what, const char *file, int32_t line, const char *function,
                uint64_t rss, int64_t d_rss);

/* One MSG: row carrying one line of a mark. */
void expect_msg(strbuf *b, uint64_t seq, uint64_t d_seq, uint64_t ns, const char *text);

#endif
