/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-slab.h"

/* ids are (1 + chunk) << SLOT_BITS | slot, so 2^22 - 1 chunks of 8 KiB
 * (32 GiB) at most; like g_malloc, running out aborts */
#define MAX_CHUNKS ((1u << (32 - DA_SLAB_SLOT_BITS)) - 1)

G_STATIC_ASSERT (DA_SLAB_CHUNK_SIZE / 8 <= (1u << DA_SLAB_SLOT_BITS));
G_STATIC_ASSERT (DA_SLAB_MAX_RECORD <= DA_SLAB_CHUNK_SIZE);

void
da_slab_init (DaSlab *slab)
{
  memset (slab, 0, sizeof (*slab));
}

void
da_slab_clear (DaSlab *slab)
{
  for (guint32 i = 0; i < slab->n_chunks; i++)
    g_free (slab->chunks[i].mem);
  g_free (slab->chunks);
  da_slab_init (slab);
}

guint64
da_slab_get_n_records (const DaSlab *slab)
{
  return slab->n_records;
}

gsize
da_slab_memory (const DaSlab *slab)
{
  return slab->memory + (gsize) slab->chunks_allocated * sizeof (DaSlabChunk);
}

static void
unlink_room (DaSlab *slab, guint32 c, guint cls)
{
  DaSlabChunk *chunk = &slab->chunks[c];

  if (chunk->prev != 0)
    slab->chunks[chunk->prev - 1].next = chunk->next;
  else
    slab->with_room[cls] = chunk->next;
  if (chunk->next != 0)
    slab->chunks[chunk->next - 1].prev = chunk->prev;
  chunk->next = chunk->prev = 0;
}

static void
link_room (DaSlab *slab, guint32 c, guint cls)
{
  DaSlabChunk *chunk = &slab->chunks[c];

  chunk->prev = 0;
  chunk->next = slab->with_room[cls];
  if (chunk->next != 0)
    slab->chunks[chunk->next - 1].prev = c + 1;
  slab->with_room[cls] = c + 1;
}

/* a chunk for records of slot_size bytes, on its class's list */
static guint32
chunk_new (DaSlab *slab, guint cls, guint16 slot_size)
{
  DaSlabChunk *chunk;
  guint32 c;

  if (slab->unused != 0) {
    c = slab->unused - 1;
    slab->unused = slab->chunks[c].next;
  } else {
    if (slab->n_chunks == MAX_CHUNKS)
      g_error ("%s: more than %u chunks of records", G_STRLOC, MAX_CHUNKS);
    if (slab->n_chunks == slab->chunks_allocated) {
      slab->chunks_allocated = MAX (16, slab->chunks_allocated * 2);
      slab->chunks = g_renew (DaSlabChunk, slab->chunks, slab->chunks_allocated);
    }
    c = slab->n_chunks++;
  }
  chunk = &slab->chunks[c];
  chunk->mem = g_malloc (DA_SLAB_CHUNK_SIZE);
  chunk->slot_size = slot_size;
  chunk->n_slots = (guint16) (DA_SLAB_CHUNK_SIZE / slot_size);
  chunk->live = 0;
  chunk->bump = 0;
  chunk->free_head = 0;
  slab->memory += DA_SLAB_CHUNK_SIZE;
  link_room (slab, c, cls);
  return c;
}

gpointer
da_slab_alloc (DaSlab *slab, gsize size, guint32 *id)
{
  guint cls = (guint) ((size + 7) / 8);
  DaSlabChunk *chunk;
  guint32 c;
  guint slot;

  g_return_val_if_fail (size > 0 && size <= DA_SLAB_MAX_RECORD, NULL);

  c = slab->with_room[cls] != 0 ? slab->with_room[cls] - 1 : chunk_new (slab, cls, (guint16) (cls * 8));
  chunk = &slab->chunks[c];
  if (chunk->free_head != 0) {
    guint16 next;

    slot = chunk->free_head - 1u;
    memcpy (&next, chunk->mem + (gsize) slot * chunk->slot_size, sizeof next);
    chunk->free_head = next;
  } else {
    slot = chunk->bump++;
  }
  if (++chunk->live == chunk->n_slots)
    unlink_room (slab, c, cls);
  slab->n_records++;
  *id = ((c + 1) << DA_SLAB_SLOT_BITS) | slot;
  return chunk->mem + (gsize) slot * chunk->slot_size;
}

void
da_slab_free (DaSlab *slab, guint32 id)
{
  guint32 c = (id >> DA_SLAB_SLOT_BITS) - 1;
  guint slot = id & ((1u << DA_SLAB_SLOT_BITS) - 1);
  DaSlabChunk *chunk;
  guint cls;
  guint16 next;

  g_return_if_fail (id != 0 && c < slab->n_chunks && slab->chunks[c].slot_size != 0);

  chunk = &slab->chunks[c];
  cls = chunk->slot_size / 8u;
  slab->n_records--;
  if (chunk->live-- == chunk->n_slots)
    link_room (slab, c, cls);
  /* an empty chunk goes back to malloc unless it is all the room its
   * size has: a record freed and made again must not cost a chunk */
  if (chunk->live == 0 && (chunk->prev != 0 || chunk->next != 0)) {
    unlink_room (slab, c, cls);
    g_free (chunk->mem);
    chunk->mem = NULL;
    chunk->slot_size = 0;
    slab->memory -= DA_SLAB_CHUNK_SIZE;
    chunk->next = slab->unused;
    slab->unused = c + 1;
    return;
  }
  next = chunk->free_head;
  memcpy (chunk->mem + (gsize) slot * chunk->slot_size, &next, sizeof next);
  chunk->free_head = (guint16) (slot + 1);
}
