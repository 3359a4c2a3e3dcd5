/* Linear probing with backward-shift deletion: no tombstones, so a long run of allocations and
 * frees never degrades the probes. */
#include "core/blocks.h"

#include <stdlib.h>

static inline size_t slot_of(uint64_t address, size_t mask)
{
    /* Blocks are 8- or 16-byte aligned: mix the bits above. */
    return (size_t)((address >> 4) * UINT64_C(0x9E3779B97F4A7C15) >> 20) & mask;
}

static void put(pmt__block *slots, size_t mask, pmt__block b)
{
    size_t i = slot_of(b.address, mask);
    while (slots[i].address)
        i = (i + 1) & mask;
    slots[i] = b;
}

static int grow(pmt__blocks *blocks)
{
    size_t capacity = blocks->capacity ? blocks->capacity * 2 : 4096;
    pmt__block *slots = calloc(capacity, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < blocks->capacity; i++)
        if (blocks->slots[i].address)
            put(slots, capacity - 1, blocks->slots[i]);
    free(blocks->slots);
    blocks->slots = slots;
    blocks->capacity = capacity;
    return 0;
}

int pmt__blocks_add(pmt__blocks *blocks, uint64_t address, uint64_t size, unsigned allocator)
{
    if ((blocks->count + 1) * 2 > blocks->capacity && grow(blocks) != 0) {
        blocks->not_kept++;
        return -1;
    }
    size_t mask = blocks->capacity - 1;
    size_t i = slot_of(address, mask);
    uint64_t packed = size | (uint64_t)allocator << PMT__BLOCK_ALLOCATOR_SHIFT;
    for (; blocks->slots[i].address; i = (i + 1) & mask) {
        if (blocks->slots[i].address == address) {
            blocks->bytes -=
                blocks->slots[i].size_allocator & ((UINT64_C(1) << PMT__BLOCK_ALLOCATOR_SHIFT) - 1);
            blocks->bytes += size;
            blocks->slots[i].size_allocator = packed;
            return 0;
        }
    }
    blocks->slots[i] = (pmt__block){address, packed};
    blocks->count++;
    blocks->bytes += size;
    return 0;
}

int pmt__blocks_remove(pmt__blocks *blocks, uint64_t address, uint64_t *size, unsigned *allocator)
{
    if (!blocks->count)
        return 0;
    size_t mask = blocks->capacity - 1;
    size_t i = slot_of(address, mask);
    while (blocks->slots[i].address != address) {
        if (!blocks->slots[i].address)
            return 0;
        i = (i + 1) & mask;
    }
    uint64_t packed = blocks->slots[i].size_allocator;
    *size = packed & ((UINT64_C(1) << PMT__BLOCK_ALLOCATOR_SHIFT) - 1);
    *allocator = (unsigned)(packed >> PMT__BLOCK_ALLOCATOR_SHIFT);
    blocks->count--;
    blocks->bytes -= *size;
    /* Backward shift: move each following entry of the run into the hole when its home slot
     * does not lie (cyclically) between the hole and it. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; blocks->slots[j].address; j = (j + 1) & mask) {
        size_t home = slot_of(blocks->slots[j].address, mask);
        int between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!between) {
            blocks->slots[hole] = blocks->slots[j];
            hole = j;
        }
    }
    blocks->slots[hole] = (pmt__block){0, 0};
    return 1;
}

void pmt__blocks_free(pmt__blocks *blocks)
{
    free(blocks->slots);
    *blocks = (pmt__blocks){0};
}
