/**
 * @file event.h
 * @brief The event model: what happened, where, and what RSS was at that moment.
 *
 * Sinks receive events as `const pmt_event *`. An event is owned by the library and valid only
 * during the call that delivers it; copy what must outlive the call (the `file`, `function` and
 * `message` strings stay valid until the tracer is destroyed).
 */
#ifndef PYMEMTRACE_EVENT_H
#define PYMEMTRACE_EVENT_H

#include <stdint.h>

#include <pymemtrace/export.h>

PMT_BEGIN_DECLS

struct pmt_sample; /* monitor.h */

/**
 * @brief What happened. Values are pinned; new kinds are only appended.
 */
typedef enum pmt_event_kind {
    PMT_EV_CALL = 0,        /**< A Python function started (or a generator resumed). */
    PMT_EV_RETURN = 1,      /**< A Python function returned (or yielded, or unwound). */
    PMT_EV_C_CALL = 2,      /**< A C function is about to be called from Python. */
    PMT_EV_C_RETURN = 3,    /**< A C function returned. */
    PMT_EV_C_EXCEPTION = 4, /**< A C function raised. */
    PMT_EV_EXCEPTION = 5,   /**< An exception was raised in Python code. */
    PMT_EV_LINE = 6,        /**< A new line of Python code is about to run. */
    PMT_EV_MARK = 7,        /**< A user mark (a message written into the log). */
    PMT_EV_START = 8,       /**< The tracer started: the first row of a log. */
    PMT_EV_STOP = 9,        /**< The tracer stopped: the last row of a log. */
    /** A block was allocated (pmt_event.allocator, address, size): doc/allocations.md. */
    PMT_EV_ALLOC = 10,
    /** A block was resized: address and size are the new block's, old_address and old_size
     *  the old one's (old_size 0 when the tracer did not see it allocated). */
    PMT_EV_REALLOC = 11,
    /** A block was freed: address, and size when the tracer saw it allocated (else 0). */
    PMT_EV_FREE = 12,
    /** A garbage collection starts (pmt_event.gc_generation); its RSS is the RSS before it. */
    PMT_EV_GC_START = 13,
    /** A garbage collection ended: gc_generation, gc_collected, gc_uncollectable,
     *  gc_duration_ns; its RSS is the RSS after it. */
    PMT_EV_GC_DONE = 14,
    /** An object was made (CPython 3.13+, #PMT_PARAM_OBJECTS): pmt_event.address is the
     *  object, type_name its type, type_live the net count of its type after it
     *  (doc/objects.md). */
    PMT_EV_OBJECT_NEW = 15,
    /** An object is about to be destroyed: address, type_name, type_live as for
     *  #PMT_EV_OBJECT_NEW. */
    PMT_EV_OBJECT_DELETE = 16,
    /** The counts of one type of object at a mark or at stop (one event per type that had an
     *  object made or destroyed): type_name, type_created, type_destroyed, type_live. Written
     *  whenever #PMT_PARAM_OBJECTS counts, whatever the event mask. */
    PMT_EV_OBJECT_COUNT = 17,
    /** A sample of the RSS monitor attached to the tracer (pmt_monitor_add_tracer(),
     *  doc/monitor.md): pmt_event.sample holds it, rss is its RSS, message its label (or NULL),
     *  thread_id the monitor's thread. Written at the tracer's next event after it was taken,
     *  whatever the stages say; its dRSS is against the last written event, which it leaves
     *  alone (the trigger and the dRSS column of the other rows do not see samples). */
    PMT_EV_SAMPLE = 18,
    PMT_EV_KIND_COUNT = 19 /**< Number of kinds in this version; not a kind. */
} pmt_event_kind;

/** @brief The bit of kind @p k in an event mask (see #PMT_PARAM_EVENT_MASK). */
#define PMT_EV_BIT(k) (UINT64_C(1) << (k))

/** @brief Python calls and returns only: what Python's `pymemtrace.Profile()` records by
 *         default. */
#define PMT_EV_MASK_CALLS (PMT_EV_BIT(PMT_EV_CALL) | PMT_EV_BIT(PMT_EV_RETURN))

/** @brief Python and C calls and returns, C exceptions: what pymemtrace's
 *         `cPyMemTrace.Profile` records, Python's `Profile(c_calls=True)`, and a new tracer's
 *         default event mask. */
#define PMT_EV_MASK_PROFILE                                                                        \
    (PMT_EV_MASK_CALLS | PMT_EV_BIT(PMT_EV_C_CALL) | PMT_EV_BIT(PMT_EV_C_RETURN) |                 \
     PMT_EV_BIT(PMT_EV_C_EXCEPTION))

/** @brief Events a line tracer records: Python calls, returns, lines and exceptions. */
#define PMT_EV_MASK_TRACE                                                                          \
    (PMT_EV_BIT(PMT_EV_CALL) | PMT_EV_BIT(PMT_EV_RETURN) | PMT_EV_BIT(PMT_EV_LINE) |               \
     PMT_EV_BIT(PMT_EV_EXCEPTION))

/** @brief The allocation kinds (#PMT_EV_ALLOC, #PMT_EV_REALLOC, #PMT_EV_FREE). */
#define PMT_EV_MASK_ALLOCATIONS                                                                    \
    (PMT_EV_BIT(PMT_EV_ALLOC) | PMT_EV_BIT(PMT_EV_REALLOC) | PMT_EV_BIT(PMT_EV_FREE))

/** @brief Garbage collections (#PMT_EV_GC_START, #PMT_EV_GC_DONE): a hook kind of the event
 *         mask (Python's `gc=True`). */
#define PMT_EV_MASK_GC (PMT_EV_BIT(PMT_EV_GC_START) | PMT_EV_BIT(PMT_EV_GC_DONE))

/** @brief One event per object made and destroyed (#PMT_EV_OBJECT_NEW, #PMT_EV_OBJECT_DELETE),
 *         of the types #PMT_PARAM_OBJECTS counts (Python's `object_events=True`). */
#define PMT_EV_MASK_OBJECTS (PMT_EV_BIT(PMT_EV_OBJECT_NEW) | PMT_EV_BIT(PMT_EV_OBJECT_DELETE))

/**
 * @brief Which allocator an allocation event's block belongs to (pmt_event.allocator). Values
 *        are pinned; #PMT_PARAM_ALLOCATORS selects them with PMT_ALLOCATOR_BIT().
 */
typedef enum pmt_allocator {
    PMT_ALLOCATOR_NONE = 0,   /**< Not an allocation event. */
    PMT_ALLOCATOR_RAW = 1,    /**< CPython's PYMEM_DOMAIN_RAW (PyMem_RawMalloc, ...). */
    PMT_ALLOCATOR_MEM = 2,    /**< CPython's PYMEM_DOMAIN_MEM (PyMem_Malloc, ...). */
    PMT_ALLOCATOR_OBJ = 3,    /**< CPython's PYMEM_DOMAIN_OBJ (PyObject_Malloc: objects). */
    PMT_ALLOCATOR_NATIVE = 4, /**< libc malloc, calloc, realloc, free and friends, from C code. */
    PMT_ALLOCATOR_MMAP = 5,   /**< mmap/munmap of anonymous memory, from C code. */
    PMT_ALLOCATOR_COUNT = 6   /**< Number of allocators in this version; not an allocator. */
} pmt_allocator;

/** @brief The bit of allocator @p a in #PMT_PARAM_ALLOCATORS. */
#define PMT_ALLOCATOR_BIT(a) (1u << (a))

/** @brief CPython's three domains: what Python's `allocations=True` traces. */
#define PMT_ALLOCATORS_PYTHON                                                                      \
    (PMT_ALLOCATOR_BIT(PMT_ALLOCATOR_RAW) | PMT_ALLOCATOR_BIT(PMT_ALLOCATOR_MEM) |                 \
     PMT_ALLOCATOR_BIT(PMT_ALLOCATOR_OBJ))

/** @brief libc's allocator and anonymous mmap: what `run --native` adds. */
#define PMT_ALLOCATORS_NATIVE                                                                      \
    (PMT_ALLOCATOR_BIT(PMT_ALLOCATOR_NATIVE) | PMT_ALLOCATOR_BIT(PMT_ALLOCATOR_MMAP))

/**
 * @brief Why an event reached the sinks.
 */
typedef enum pmt_event_reason {
    PMT_REASON_FIRST = 0,   /**< The start event, always written (text log: `FRST:`). */
    PMT_REASON_TRIGGER = 1, /**< |RSS change| reached the trigger (text log: `NEXT:`). */
    PMT_REASON_BEFORE = 2,  /**< The unwritten event just before a trigger (text log: `PREV:`). */
    PMT_REASON_MESSAGE = 3, /**< A user mark, always written (text log: `MSG:`). */
    PMT_REASON_LAST = 4,    /**< The stop event, always written (text log: `LAST:`). */
    /** An allocation event that passed the allocation stages: written whatever RSS did (text
     *  log: `ALOC:`). */
    PMT_REASON_ALLOCATION = 5,
    /** A garbage collection's start or end, always written when its kind is in the event mask
     *  (text log: `GC:`). */
    PMT_REASON_GC = 6,
    /** An object's creation or destruction that passed the stages, or a type's counts (text
     *  log: `OBJ:`). */
    PMT_REASON_OBJECT = 7,
    /** A sample of the monitor attached to the tracer, always written (text log: `SMPL:`). */
    PMT_REASON_SAMPLE = 8
} pmt_event_reason;

/**
 * @brief One event. Read-only; fields are only ever appended.
 *
 * Check `struct_size` before reading a field added after the first version:
 * `offsetof(pmt_event, field) + sizeof ev->field <= ev->struct_size`.
 */
typedef struct pmt_event {
    uint32_t struct_size; /**< sizeof the struct as the library filled it. */
    uint32_t kind;        /**< A #pmt_event_kind. */
    uint32_t reason;      /**< A #pmt_event_reason. */
    /** The number of Python frames on the thread's stack at the event, its own frame included
     *  (a CALL counts the frame it enters, a RETURN the frame it leaves); 0 when no Python frame
     *  runs (a mark from a thread outside Python). */
    int32_t depth;
    uint64_t seq;         /**< Event number: counts every event seen, written or not. */
    uint64_t time_ns;     /**< Monotonic clock in nanoseconds (CLOCK_MONOTONIC on POSIX). */
    uint64_t thread_id;   /**< OS thread id of the thread the event happened on. */
    const char *file;     /**< UTF-8 file name of the code, never NULL ("" if unknown). */
    const char *function; /**< UTF-8 function name (qualified for C functions), never NULL. */
    int32_t line;         /**< Line number, 1-based; 0 if unknown. */
    uint32_t reserved0;   /**< Zero; keeps the layout the same on 32- and 64-bit targets. */
    uint64_t rss;         /**< Resident set size in bytes at the event. */
    int64_t d_rss;        /**< rss minus the rss of the previously written event (0 before). */
    const char *message;  /**< UTF-8 text of a #PMT_EV_MARK, else NULL. */
    /** The traced interpreter's id (PyInterpreterState_GetID(): 0 for the main one, one per
     *  sub-interpreter). Present when struct_size covers it. */
    int64_t interpreter_id;
    /** The event's *user site*: the file of the nearest frame on the thread's stack whose code
     *  is the user's (not the standard library, site- or dist-packages, frozen or generated
     *  code, unless the user-code globs say otherwise; doc/user-terms.md), the event's own frame
     *  included. "" when no frame is the user's, or #PMT_PARAM_CALLS is 0. Never NULL when
     *  struct_size covers it. */
    const char *user_file;
    /** The user site's function (qualified name where CPython has one), "" when none. */
    const char *user_function;
    /** The user site's line: the event's own line when its frame is the user's, else the line
     *  of the user's frame that is waiting for the call the event happened in; 0 when none. */
    int32_t user_line;
    /** The call path the event happened in: the node (pmt_call_stats.node) of the innermost
     *  call on the thread's stack that the call aggregation has entered (for a #PMT_EV_CALL,
     *  its caller's: the call's own node is entered after the event is written). Read the stack
     *  by following the nodes' parents in pmt_tracer_call_stats() or pmt_reader_call_stats().
     *  0 when the thread has no such call, or #PMT_PARAM_CALLS is below 2. */
    uint32_t call_node;
    /** A #pmt_allocator for the allocation kinds, else #PMT_ALLOCATOR_NONE. Present when
     *  struct_size covers it, as are the fields below. */
    uint32_t allocator;
    uint32_t reserved1; /**< Zero. */
    uint64_t address;   /**< The block's address (the new block's for a #PMT_EV_REALLOC). */
    /** The block's size in bytes (the new size for a #PMT_EV_REALLOC); for a #PMT_EV_FREE the
     *  size the tracer saw it allocated with, 0 when it did not. */
    uint64_t size;
    uint64_t old_address; /**< #PMT_EV_REALLOC: the block that was resized; else 0. */
    uint64_t old_size;    /**< #PMT_EV_REALLOC: its size when known; else 0. */
    /** #PMT_EV_GC_START, #PMT_EV_GC_DONE: the generation collected (0-2); else 0. Present when
     *  struct_size covers it, as are the fields below. */
    int32_t gc_generation;
    uint32_t reserved2;        /**< Zero. */
    uint64_t gc_collected;     /**< #PMT_EV_GC_DONE: objects collected. */
    uint64_t gc_uncollectable; /**< #PMT_EV_GC_DONE: objects found uncollectable. */
    uint64_t gc_duration_ns;   /**< #PMT_EV_GC_DONE: the collection's duration. */
    /** The object kinds: the type's name (its `tp_name`: "dict", "Node", "module.Class" for a
     *  static type of an extension); valid while the tracer lives; NULL for the other kinds.
     *  Present when struct_size covers it, as are the fields below. */
    const char *type_name;
    /** The object kinds: objects of the type made minus those destroyed since start, after the
     *  event (negative when more objects made before start died than were made); else 0. */
    int64_t type_live;
    uint64_t type_created;   /**< #PMT_EV_OBJECT_COUNT: objects of the type made since start. */
    uint64_t type_destroyed; /**< #PMT_EV_OBJECT_COUNT: objects of the type destroyed since. */
    /** #PMT_EV_SAMPLE: the monitor's sample (monitor.h; its time_ns is when it was taken, the
     *  event's time_ns when it entered the log, never earlier than the row before); NULL for
     *  the other kinds. Present when struct_size covers it. */
    const struct pmt_sample *sample;
} pmt_event;

/**
 * @brief The upper-case name of an event kind as written in text logs ("CALL", "C_EXCEPT").
 * @param kind A #pmt_event_kind.
 * @return A static string; "UNKNOWN" for a kind this version does not know.
 * @par Thread safety: always safe.
 */
PMT_API const char *pmt_event_kind_name(int kind);

/**
 * @brief The upper-case name of an allocator ("RAW", "MEM", "OBJ", "NATIVE", "MMAP").
 * @param allocator A #pmt_allocator.
 * @return A static string; "" for #PMT_ALLOCATOR_NONE, "UNKNOWN" for a value this version does
 *         not know.
 * @par Thread safety: always safe.
 */
PMT_API const char *pmt_allocator_name(int allocator);

PMT_END_DECLS

#endif /* PYMEMTRACE_EVENT_H */
