#define _GNU_SOURCE
#include "expect_text.h"

#include <inttypes.h>
#include <stdio.h>

/* Seconds with six decimals, rounded to the microsecond. */
static void format_clock(char *out, size_t size, uint64_t ns)
{
    uint64_t us = (ns + 500) / 1000;
    snprintf(out, size, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

void expect_header(strbuf *b, const char *message)
{
    if (message)
        strbuf_printf(b, "%s\n", message);
    strbuf_printf(b, "SOF\n");
    /* "dEvent" heads the " +" and the number after it: 1 + 6 columns. */
    strbuf_printf(b, "%-6s%-12s %-7s %-12s %-8s %-80s %5s %-32s %12s %12s\n", "HDR:", "Event",
                  "dEvent", "Clock", "What", "File", "#line", "Function", "RSS", "dRSS");
}

void expect_row(strbuf *b, const char *tag, uint64_t seq, uint64_t d_seq, uint64_t ns,
                const char *what, const char *file, int32_t line, const char *function,
                uint64_t rss, int64_t d_rss)
{
    char clock[48];
    format_clock(clock, sizeof clock, ns);
    strbuf_printf(b,
                  "%-6s%-12" PRIu64 " +%-6" PRIu64 " %-12s %-8s %-80s %5" PRId32 " %-32s %12" PRIu64
                  " %12" PRId64 "\n",
                  tag, seq, d_seq, clock, what, file, line, function, rss, d_rss);
}

void expect_msg(strbuf *b, uint64_t seq, uint64_t d_seq, uint64_t ns, const char *text)
{
    char clock[48];
    format_clock(clock, sizeof clock, ns);
    strbuf_printf(b, "%-6s%-12" PRIu64 " +%-6" PRIu64 " %-12s # %s\n", "MSG:", seq, d_seq, clock,
                  text);
}
