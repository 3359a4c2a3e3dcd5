#include <pymemtrace/event.h>

/* The names pymemtrace's text log uses, so that existing log readers keep working. */
static const char *const kind_names[PMT_EV_KIND_COUNT] = {
    [PMT_EV_CALL] = "CALL",
    [PMT_EV_RETURN] = "RETURN",
    [PMT_EV_C_CALL] = "C_CALL",
    [PMT_EV_C_RETURN] = "C_RETURN",
    [PMT_EV_C_EXCEPTION] = "C_EXCEPT",
    [PMT_EV_EXCEPTION] = "EXCEPT",
    [PMT_EV_LINE] = "LINE",
    [PMT_EV_MARK] = "MARK",
    [PMT_EV_START] = "START",
    [PMT_EV_STOP] = "STOP",
};

const char *pmt_event_kind_name(int kind)
{
    if (kind < 0 || kind >= PMT_EV_KIND_COUNT)
        return "UNKNOWN";
    return kind_names[kind];
}
