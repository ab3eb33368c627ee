/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-alias-index.h"

/* grow past 3/4 full, shrink below 1/8 (to 1/3 full): probes stay short,
 * memory follows the number of aliases */
#define MIN_CAPACITY 8

static inline guint64
load64 (const guchar *p)
{
  guint64 w;

  memcpy (&w, p, sizeof w);
  return w;
}

static inline guint64
load32 (const guchar *p)
{
  guint32 w;

  memcpy (&w, p, sizeof w);
  return w;
}

static inline guint64
mix_word (guint64 h, guint64 w)
{
  h = (h ^ w) * G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  return h ^ (h >> 32);
}

/* eight bytes at a time; the last word overlaps the one before it rather
 * than reading past the name, and the length goes in first, so names of
 * one length map to distinct words.  A final mix makes the high bits,
 * which pick the home slot, depend on every byte.  The hash lives in
 * memory only, never in a file: it may change between versions. */
guint32
da_alias_hash_len (const char *name, gsize len)
{
  const guchar *p = (const guchar *) name;
  guint64 h = (guint64) len * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  if (len >= 8) {
    gsize i;

    for (i = 0; i + 8 < len; i += 8)
      h = mix_word (h, load64 (p + i));
    h = mix_word (h, load64 (p + len - 8));
  } else if (len >= 4) {
    h = mix_word (h, load32 (p) | load32 (p + len - 4) << 32);
  } else if (len > 0) {
    h = mix_word (h, (guint64) p[0] | (guint64) p[len / 2] << 8 | (guint64) p[len - 1] << 16);
  }
  h ^= h >> 33;
  h *= G_GUINT64_CONSTANT (0xc4ceb9fe1a85ec53);
  h ^= h >> 33;
  return (guint32) (h >> 32);
}

guint32
da_alias_hash (const char *name)
{
  return da_alias_hash_len (name, strlen (name));
}

/* capacities are 8 or 12 times a power of two */
static guint32
capacity_after (guint32 capacity)
{
  return (capacity & (capacity - 1)) == 0 ? capacity / 2 * 3 : capacity / 3 * 4;
}

/* the capacity for n entries after a removal left the table less than
 * 1/8 full: at least three times n, so that the next shrink waits until
 * n is three times smaller again */
static guint32
capacity_for (guint32 n)
{
  guint32 capacity = MIN_CAPACITY;

  while (capacity < (guint64) n * 3)
    capacity = capacity_after (capacity);
  return capacity;
}

/* the hash scaled to the capacity: slots follow the order of hashes */
static inline guint32
home (guint32 hash, guint32 capacity)
{
  return (guint32) (((guint64) hash * capacity) >> 32);
}

static inline guint32
next_slot (guint32 slot, guint32 capacity)
{
  return slot + 1 == capacity ? 0 : slot + 1;
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
  index->capacity = 0;
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
  return (gsize) index->capacity * sizeof (DaAliasSlot);
}

void
da_alias_index_prefetch (const DaAliasIndex *index, guint32 hash)
{
#if defined(__GNUC__) || defined(__clang__)
  if (index->slots != NULL)
    __builtin_prefetch (&index->slots[home (hash, index->capacity)]);
#endif
}

gpointer
da_alias_index_lookup (const DaAliasIndex *index, const char *name, guint32 hash, guint32 *id)
{
  if (index->n == 0)
    return NULL;
  for (guint32 slot = home (hash, index->capacity);; slot = next_slot (slot, index->capacity)) {
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

gboolean
da_alias_index_peek (const DaAliasIndex *index, guint32 hash, guint64 *key)
{
  if (index->n == 0)
    return FALSE;
  for (guint32 slot = home (hash, index->capacity);; slot = next_slot (slot, index->capacity)) {
    const DaAliasSlot *s = &index->slots[slot];

    if (s->id == 0)
      return FALSE;
    if (s->hash == hash) {
#if defined(__GNUC__) || defined(__clang__)
      const char *entry = da_slab_get (index->slab, s->id);

      __builtin_prefetch (entry);
      __builtin_prefetch (entry + index->name_offset);
#endif
      *key = s->key;
      return TRUE;
    }
  }
}

static void
place (DaAliasSlot *slots, guint32 capacity, const DaAliasSlot *entry)
{
  guint32 slot = home (entry->hash, capacity);

  while (slots[slot].id != 0)
    slot = next_slot (slot, capacity);
  slots[slot] = *entry;
}

static void
resize (DaAliasIndex *index, guint32 capacity)
{
  DaAliasSlot *slots = g_new0 (DaAliasSlot, capacity);

  /* by index: a first resize has no slots (NULL) to step through */
  for (guint32 i = 0; i < index->capacity; i++)
    if (index->slots[i].id != 0)
      place (slots, capacity, &index->slots[i]);
  g_free (index->slots);
  index->slots = slots;
  index->capacity = capacity;
}

void
da_alias_index_insert (DaAliasIndex *index, guint32 id, guint32 hash, guint64 key)
{
  DaAliasSlot entry = { hash, id, key };

  g_return_if_fail (id != 0);

  if (index->capacity == 0)
    resize (index, MIN_CAPACITY);
  else if ((guint64) (index->n + 1) * 4 > (guint64) index->capacity * 3)
    resize (index, capacity_after (index->capacity));
  place (index->slots, index->capacity, &entry);
  index->n++;
}

gboolean
da_alias_index_remove (DaAliasIndex *index, guint32 id, guint32 hash)
{
  guint32 capacity = index->capacity;
  guint32 slot;

  if (index->n == 0 || id == 0)
    return FALSE;
  for (slot = home (hash, capacity); index->slots[slot].id != id; slot = next_slot (slot, capacity))
    if (index->slots[slot].id == 0)
      return FALSE;

  /* backward shift: pull later entries of the probe run into the hole, so
   * lookups never need tombstones */
  for (guint32 hole = slot, next = next_slot (slot, capacity);; next = next_slot (next, capacity)) {
    DaAliasSlot *moved = &index->slots[next];
    guint32 at;

    if (moved->id == 0) {
      index->slots[hole].id = 0;
      break;
    }
    at = home (moved->hash, capacity);
    /* moved may fill the hole unless its home lies cyclically in (hole, next] */
    if ((next > hole && (at <= hole || at > next)) || (next < hole && at <= hole && at > next)) {
      index->slots[hole] = *moved;
      hole = next;
    }
  }
  index->n--;
  if (index->n == 0)
    da_alias_index_clear (index);
  else if (capacity > MIN_CAPACITY && (guint64) index->n * 8 < capacity)
    resize (index, capacity_for (index->n));
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

  while (iter->slot < index->capacity) {
    const DaAliasSlot *s = &index->slots[iter->slot++];

    if (s->id != 0)
      return da_slab_get (index->slab, s->id);
  }
  return NULL;
}
