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
    [PMT_EV_ALLOC] = "ALLOC",
    [PMT_EV_REALLOC] = "REALLOC",
    [PMT_EV_FREE] = "FREE",
    [PMT_EV_GC_START] = "GC_START",
    [PMT_EV_GC_DONE] = "GC_DONE",
    [PMT_EV_OBJECT_NEW] = "OBJ_NEW",
    [PMT_EV_OBJECT_DELETE] = "OBJ_DEL",
    [PMT_EV_OBJECT_COUNT] = "OBJ_CNT",
    [PMT_EV_SAMPLE] = "SAMPLE",
};

static const char *const allocator_names[PMT_ALLOCATOR_COUNT] = {
    [PMT_ALLOCATOR_NONE] = "",   [PMT_ALLOCATOR_RAW] = "RAW",       [PMT_ALLOCATOR_MEM] = "MEM",
    [PMT_ALLOCATOR_OBJ] = "OBJ", [PMT_ALLOCATOR_NATIVE] = "NATIVE", [PMT_ALLOCATOR_MMAP] = "MMAP",
};

const char *pmt_allocator_name(int allocator)
{
    if (allocator < 0 || allocator >= PMT_ALLOCATOR_COUNT)
        return "UNKNOWN";
    return allocator_names[allocator];
}

const char *pmt_event_kind_name(int kind)
{
    if (kind < 0 || kind >= PMT_EV_KIND_COUNT)
        return "UNKNOWN";
    return kind_names[kind];
}
