/* The object counts per type (PMT_PARAM_OBJECTS, doc/objects.md): a type object's address leads
 * to its entry, one per type name, so that the types of one name (a class defined again, a type
 * freed and another made at its address) add up under that name. The hot path is
 * pmt__object_types_find: one hash probe. */
#ifndef PMT_CORE_OBJECT_TYPES_H
#define PMT_CORE_OBJECT_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef struct pmt__type_entry {
    const char *name; /* interned: lives as long as the tracer */
    uint64_t created, destroyed;
    int selected; /* its objects are counted (objects mode, type globs) */
    int metatype; /* a type of that name makes types: a destroyed object may be a type */
} pmt__type_entry;

typedef struct pmt__type_slot {
    uintptr_t type; /* 0: empty */
    uint32_t entry;
} pmt__type_slot;

typedef struct pmt__object_types {
    pmt__type_slot *by_type; /* open addressing, at most half full */
    size_t type_capacity, type_count;
    pmt__type_slot *by_name; /* the same table keyed by the interned name's address */
    size_t name_capacity;
    pmt__type_entry *entries;
    size_t entry_count, entry_capacity;
} pmt__object_types;

static inline size_t pmt__type_hash(uintptr_t key, size_t capacity)
{
    return (size_t)(((uint64_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> 20) & (capacity - 1);
}

/* The entry of the type at this address, or NULL when it was not seen (or was forgotten). */
static inline pmt__type_entry *pmt__object_types_find(const pmt__object_types *o, uintptr_t type)
{
    if (!o->type_capacity)
        return NULL;
    size_t mask = o->type_capacity - 1;
    for (size_t i = pmt__type_hash(type, o->type_capacity);; i = (i + 1) & mask) {
        const pmt__type_slot *s = &o->by_type[i];
        if (s->type == type)
            return &o->entries[s->entry];
        if (!s->type)
            return NULL;
    }
}

/* Adds the type at this address under its interned name (the name's entry, made with selected
 * when new); metatype: its objects are types (the entry keeps it when any type of the name is).
 * NULL: out of memory. */
pmt__type_entry *pmt__object_types_add(pmt__object_types *o, uintptr_t type, const char *name,
                                       int selected, int metatype);

/* The type at this address was destroyed: its address may come back as another type. Its
 * entry, and the counts under its name, stay. */
void pmt__object_types_forget(pmt__object_types *o, uintptr_t type);

/* Every entry, in the order names were first seen. */
static inline size_t pmt__object_types_count(const pmt__object_types *o)
{
    return o->entry_count;
}

void pmt__object_types_free(pmt__object_types *o);

#endif
