/* The outstanding-block table of allocation tracing: every block the tracer recorded as
 * allocated and has not seen freed, with its size and allocator. It decides which frees are
 * written (those of recorded blocks: a sampled or filtered-out allocation's free is dropped too),
 * gives a free its size, and counts what is live. */
#ifndef PMT_CORE_BLOCKS_H
#define PMT_CORE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

/* One block: its address (0 = an empty slot; no allocator returns NULL for a block) and its
 * size with the allocator in the top byte. 16 bytes; the table is at most half full. */
typedef struct pmt__block {
    uint64_t address;
    uint64_t size_allocator;
} pmt__block;

typedef struct pmt__blocks {
    pmt__block *slots;
    size_t capacity; /* a power of two, or 0 */
    size_t count;
    uint64_t bytes;    /* sum of the live blocks' sizes */
    uint64_t not_kept; /* blocks that could not be recorded (no memory to grow) */
} pmt__blocks;

enum { PMT__BLOCK_ALLOCATOR_SHIFT = 56 };

/* Records a block; replaces one at the same address (its free was not seen). Returns 0, or -1
 * when the table could not grow (the block is then not recorded). Grows (allocates) when half
 * full: amortized, never for a block already known. */
int pmt__blocks_add(pmt__blocks *blocks, uint64_t address, uint64_t size, unsigned allocator);

/* Removes the block at address; returns 1 and its size and allocator when it was recorded. */
int pmt__blocks_remove(pmt__blocks *blocks, uint64_t address, uint64_t *size, unsigned *allocator);

/* Forgets every block (a new run) and frees the table. */
void pmt__blocks_free(pmt__blocks *blocks);

#endif
