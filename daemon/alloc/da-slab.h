/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A slab of small records of varying size (reservations with their alias
 * inline): records never move, each has a 32-bit id that is never 0, and
 * sizes are rounded to 8 bytes only, where malloc rounds a 43-byte record
 * to a 64-byte chunk.  Records of one size share 8 KiB chunks; a chunk that
 * empties is freed unless it is the last one of its size with room, so
 * memory follows the number of records.  Ids let a hash table refer to a
 * record in 4 bytes.
 */

#define DA_SLAB_MAX_RECORD 512

typedef struct {
  guint8 *mem;
  guint16 slot_size;  /* bytes; 0 while the chunk is unused */
  guint16 n_slots;
  guint16 live;
  guint16 bump;       /* slots from here on were never handed out */
  guint16 free_head;  /* 1 + the first freed slot, 0: none */
  guint32 next;       /* 1 + the next chunk of the size with room (or unused chunk), 0: none */
  guint32 prev;       /* 1 + the previous chunk of the size with room, 0: none */
} DaSlabChunk;

typedef struct {
  DaSlabChunk *chunks;
  guint32 n_chunks;
  guint32 chunks_allocated;
  guint32 unused;     /* 1 + the first unused chunk slot, 0: none */
  guint32 with_room[DA_SLAB_MAX_RECORD / 8 + 1]; /* per size class: 1 + first chunk with room */
  guint64 n_records;
  gsize memory;
} DaSlab;

void da_slab_init (DaSlab *slab);
/* frees every chunk; records still allocated are gone */
void da_slab_clear (DaSlab *slab);
/* a record of size bytes (1 ..  DA_SLAB_MAX_RECORD), uninitialized */
gpointer da_slab_alloc (DaSlab *slab, gsize size, guint32 *id);
void da_slab_free (DaSlab *slab, guint32 id);
guint64 da_slab_get_n_records (const DaSlab *slab);
/* bytes of chunks and of the chunk table */
gsize da_slab_memory (const DaSlab *slab);

#define DA_SLAB_SLOT_BITS 10
#define DA_SLAB_CHUNK_SIZE 8192

/* the record of a live id */
static inline gpointer
da_slab_get (const DaSlab *slab, guint32 id)
{
  const DaSlabChunk *chunk = &slab->chunks[(id >> DA_SLAB_SLOT_BITS) - 1];

  return chunk->mem + (gsize) (id & ((1u << DA_SLAB_SLOT_BITS) - 1)) * chunk->slot_size;
}

G_END_DECLS
