/* The object counts' tables (object_types.h): two open-addressing tables of (key, entry index),
 * by type address and by name address, over an array of entries. Deletion (a type destroyed)
 * shifts the run after the slot back, so that no tombstone ever slows a probe. */
#include "core/object_types.h"

#include <stdlib.h>
#include <string.h>

static int grow_table(pmt__type_slot **table, size_t *capacity, size_t used)
{
    size_t old_capacity = *capacity;
    if ((used + 1) * 2 <= old_capacity)
        return 0;
    size_t new_capacity = old_capacity ? old_capacity * 2 : 64;
    pmt__type_slot *grown = calloc(new_capacity, sizeof *grown);
    if (!grown)
        return -1;
    for (size_t i = 0; i < old_capacity; i++) {
        const pmt__type_slot *s = &(*table)[i];
        if (!s->type)
            continue;
        size_t j = pmt__type_hash(s->type, new_capacity);
        while (grown[j].type)
            j = (j + 1) & (new_capacity - 1);
        grown[j] = *s;
    }
    free(*table);
    *table = grown;
    *capacity = new_capacity;
    return 0;
}

static pmt__type_slot *slot_for(pmt__type_slot *table, size_t capacity, uintptr_t key)
{
    size_t i = pmt__type_hash(key, capacity);
    while (table[i].type && table[i].type != key)
        i = (i + 1) & (capacity - 1);
    return &table[i];
}

pmt__type_entry *pmt__object_types_add(pmt__object_types *o, uintptr_t type, const char *name,
                                       int selected, int metatype)
{
    if (grow_table(&o->by_type, &o->type_capacity, o->type_count) != 0 ||
        grow_table(&o->by_name, &o->name_capacity, o->entry_count) != 0)
        return NULL;
    pmt__type_slot *named = slot_for(o->by_name, o->name_capacity, (uintptr_t)name);
    if (!named->type) {
        if (o->entry_count == o->entry_capacity) {
            size_t capacity = o->entry_capacity ? o->entry_capacity * 2 : 64;
            pmt__type_entry *grown = realloc(o->entries, capacity * sizeof *grown);
            if (!grown)
                return NULL;
            o->entries = grown;
            o->entry_capacity = capacity;
        }
        o->entries[o->entry_count] = (pmt__type_entry){name, 0, 0, selected, 0};
        *named = (pmt__type_slot){(uintptr_t)name, (uint32_t)o->entry_count++};
    }
    pmt__type_slot *typed = slot_for(o->by_type, o->type_capacity, type);
    if (!typed->type)
        o->type_count++;
    *typed = (pmt__type_slot){type, named->entry};
    o->entries[named->entry].metatype |= metatype;
    return &o->entries[named->entry];
}

void pmt__object_types_forget(pmt__object_types *o, uintptr_t type)
{
    if (!o->type_capacity)
        return;
    size_t mask = o->type_capacity - 1;
    size_t i = pmt__type_hash(type, o->type_capacity);
    while (o->by_type[i].type != type) {
        if (!o->by_type[i].type)
            return;
        i = (i + 1) & mask;
    }
    /* Backward shift: each later slot of the run moves into the hole when its home allows. */
    for (size_t j = (i + 1) & mask; o->by_type[j].type; j = (j + 1) & mask) {
        size_t home = pmt__type_hash(o->by_type[j].type, o->type_capacity);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            o->by_type[i] = o->by_type[j];
            i = j;
        }
    }
    o->by_type[i] = (pmt__type_slot){0, 0};
    o->type_count--;
}

void pmt__object_types_free(pmt__object_types *o)
{
    free(o->by_type);
    free(o->by_name);
    free(o->entries);
    memset(o, 0, sizeof *o);
}
