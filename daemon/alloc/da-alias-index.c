/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-alias-index.h"

/* grow past 3/4 full, shrink below 1/8: probes stay short, memory follows
 * the number of aliases */
#define MIN_CAPACITY 8

static inline guint32
entry_hash (const DaAliasIndex *index, gconstpointer entry)
{
  guint32 hash;

  memcpy (&hash, (const char *) entry + index->hash_offset, sizeof hash);
  return hash;
}

static inline const char *
entry_name (const DaAliasIndex *index, gconstpointer entry)
{
  return (const char *) entry + index->name_offset;
}

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
da_alias_index_init (DaAliasIndex *index, gsize hash_offset, gsize name_offset)
{
  memset (index, 0, sizeof (*index));
  index->hash_offset = hash_offset;
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
  return index->slots != NULL ? ((gsize) index->mask + 1) * sizeof (gpointer) : 0;
}

gpointer
da_alias_index_lookup (const DaAliasIndex *index, const char *name)
{
  guint32 hash, slot;

  if (index->n == 0)
    return NULL;
  hash = da_alias_hash (name);
  for (slot = hash & index->mask;; slot = (slot + 1) & index->mask) {
    gpointer entry = index->slots[slot];

    if (entry == NULL)
      return NULL;
    if (entry_hash (index, entry) == hash && strcmp (entry_name (index, entry), name) == 0)
      return entry;
  }
}

static void
place (gpointer *slots, guint32 mask, const DaAliasIndex *index, gpointer entry)
{
  guint32 slot = entry_hash (index, entry) & mask;

  while (slots[slot] != NULL)
    slot = (slot + 1) & mask;
  slots[slot] = entry;
}

static void
resize (DaAliasIndex *index, guint32 capacity)
{
  gpointer *slots = g_new0 (gpointer, capacity);
  guint32 old_capacity = index->slots != NULL ? index->mask + 1 : 0;

  for (guint32 i = 0; i < old_capacity; i++)
    if (index->slots[i] != NULL)
      place (slots, capacity - 1, index, index->slots[i]);
  g_free (index->slots);
  index->slots = slots;
  index->mask = capacity - 1;
}

void
da_alias_index_insert (DaAliasIndex *index, gpointer entry)
{
  guint32 capacity = index->slots != NULL ? index->mask + 1 : 0;

  if (capacity == 0 || (guint64) (index->n + 1) * 4 > (guint64) capacity * 3)
    resize (index, capacity == 0 ? MIN_CAPACITY : capacity * 2);
  place (index->slots, index->mask, index, entry);
  index->n++;
}

gboolean
da_alias_index_remove (DaAliasIndex *index, gpointer entry)
{
  guint32 slot, capacity;

  if (index->n == 0)
    return FALSE;
  for (slot = entry_hash (index, entry) & index->mask; index->slots[slot] != entry; slot = (slot + 1) & index->mask)
    if (index->slots[slot] == NULL)
      return FALSE;

  /* backward shift: pull later entries of the probe run into the hole, so
   * lookups never need tombstones */
  for (guint32 hole = slot, next = (slot + 1) & index->mask;; next = (next + 1) & index->mask) {
    gpointer moved = index->slots[next];
    guint32 home;

    if (moved == NULL) {
      index->slots[hole] = NULL;
      break;
    }
    home = entry_hash (index, moved) & index->mask;
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
    gpointer entry = index->slots[iter->slot++];

    if (entry != NULL)
      return entry;
  }
  return NULL;
}
