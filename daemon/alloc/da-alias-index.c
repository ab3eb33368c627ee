/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-alias-index.h"

/* grow past 3/4 full, shrink below 1/8: probes stay short, memory follows
 * the number of aliases */
#define MIN_CAPACITY 8

/* FNV-1a, then a final mix so that the low bits used for the slot depend
 * on every byte */
guint32
da_alias_hash (const char *name)
{
  guint32 h = 2166136261u;

  for (const guchar *p = (const guchar *) name; *p != '\0'; p++)
    h = (h ^ *p) * 16777619u;
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}

void
da_alias_index_init (DaAliasIndex *index, const DaSlab *slab, gsize name_offset)
{
  memset (index, 0, sizeof (*index));
  index->slab = slab;
  index->name_offset = name_offset;
}

void
da_alias_index_clear (DaAliasIndex *index)
{
  g_clear_pointer (&index->slots, g_free);
  index->mask = 0;
  index->n = 0;
}

guint
da_alias_index_size (const DaAliasIndex *index)
{
  return index->n;
}

gsize
da_alias_index_memory (const DaAliasIndex *index)
{
  return index->slots != NULL ? ((gsize) index->mask + 1) * sizeof (DaAliasSlot) : 0;
}

void
da_alias_index_prefetch (const DaAliasIndex *index, guint32 hash)
{
#if defined(__GNUC__) || defined(__clang__)
  if (index->slots != NULL)
    __builtin_prefetch (&index->slots[hash & index->mask]);
#endif
}

gpointer
da_alias_index_lookup (const DaAliasIndex *index, const char *name, guint32 hash, guint32 *id)
{
  if (index->n == 0)
    return NULL;
  for (guint32 slot = hash & index->mask;; slot = (slot + 1) & index->mask) {
    const DaAliasSlot *s = &index->slots[slot];

    if (s->id == 0)
      return NULL;
    if (s->hash == hash) {
      gpointer entry = da_slab_get (index->slab, s->id);

      if (strcmp ((const char *) entry + index->name_offset, name) == 0) {
        if (id != NULL)
          *id = s->id;
        return entry;
      }
    }
  }
}

static void
place (DaAliasSlot *slots, guint32 mask, DaAliasSlot entry)
{
  guint32 slot = entry.hash & mask;

  while (slots[slot].id != 0)
    slot = (slot + 1) & mask;
  slots[slot] = entry;
}

static void
resize (DaAliasIndex *index, guint32 capacity)
{
  DaAliasSlot *slots = g_new0 (DaAliasSlot, capacity);
  guint32 old_capacity = index->slots != NULL ? index->mask + 1 : 0;

  for (guint32 i = 0; i < old_capacity; i++)
    if (index->slots[i].id != 0)
      place (slots, capacity - 1, index->slots[i]);
  g_free (index->slots);
  index->slots = slots;
  index->mask = capacity - 1;
}

void
da_alias_index_insert (DaAliasIndex *index, guint32 id, guint32 hash)
{
  guint32 capacity = index->slots != NULL ? index->mask + 1 : 0;

  g_return_if_fail (id != 0);

  if (capacity == 0 || (guint64) (index->n + 1) * 4 > (guint64) capacity * 3)
    resize (index, capacity == 0 ? MIN_CAPACITY : capacity * 2);
  place (index->slots, index->mask, (DaAliasSlot) { hash, id });
  index->n++;
}

gboolean
da_alias_index_remove (DaAliasIndex *index, guint32 id, guint32 hash)
{
  guint32 slot, capacity;

  if (index->n == 0 || id == 0)
    return FALSE;
  for (slot = hash & index->mask; index->slots[slot].id != id; slot = (slot + 1) & index->mask)
    if (index->slots[slot].id == 0)
      return FALSE;

  /* backward shift: pull later entries of the probe run into the hole, so
   * lookups never need tombstones */
  for (guint32 hole = slot, next = (slot + 1) & index->mask;; next = (next + 1) & index->mask) {
    DaAliasSlot moved = index->slots[next];
    guint32 home;

    if (moved.id == 0) {
      index->slots[hole].id = 0;
      break;
    }
    home = moved.hash & index->mask;
    /* moved may fill the hole unless its home lies cyclically in (hole, next] */
    if ((next > hole && (home <= hole || home > next)) || (next < hole && home <= hole && home > next)) {
      index->slots[hole] = moved;
      hole = next;
    }
  }
  index->n--;
  capacity = index->mask + 1;
  if (index->n == 0) {
    da_alias_index_clear (index);
  } else if (capacity > MIN_CAPACITY && (guint64) index->n * 8 < capacity) {
    resize (index, capacity / 2);
  }
  return TRUE;
}

void
da_alias_index_iter_init (DaAliasIndexIter *iter, const DaAliasIndex *index)
{
  iter->index = index;
  iter->slot = 0;
}

gpointer
da_alias_index_iter_next (DaAliasIndexIter *iter)
{
  const DaAliasIndex *index = iter->index;

  if (index->slots == NULL)
    return NULL;
  while (iter->slot <= index->mask) {
    const DaAliasSlot *s = &index->slots[iter->slot++];

    if (s->id != 0)
      return da_slab_get (index->slab, s->id);
  }
  return NULL;
}
