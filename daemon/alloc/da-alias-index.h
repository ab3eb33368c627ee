/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "da-slab.h"

G_BEGIN_DECLS

/*
 * The aliases of a scope: an open-addressing hash table (linear probing,
 * backward-shift deletion) of slab records.  A slot is the record's 32-bit
 * hash, its 32-bit slab id and a 64-bit key the caller keeps with it (the
 * engine keeps the reservation's first address there), 16 bytes: probing
 * compares hashes in the table and reads a record only when its hash
 * matches, resizing never hashes a string again, and a caller that needs
 * the key can ask for what the key leads to while the record is still on
 * its way.  A hash picks its home slot by multiplication, not masking, so
 * the capacity need not be a power of two: it grows past 3/4 full by steps
 * of 1.5 and 1.33 (8 or 12 times a power of two), so a table that grew is
 * at least half full, and shrinks below 1/8 full to a third full.  Homes
 * follow the order of hashes, so a resize writes the new table from start
 * to end.  The record layout is the caller's: the table only needs the
 * offset of the NUL-terminated name in it.
 */

typedef struct {
  guint32 hash;
  guint32 id;         /* 0: empty */
  guint64 key;
} DaAliasSlot;

typedef struct {
  DaAliasSlot *slots;
  guint32 capacity;   /* 0 when empty */
  guint32 n;
  const DaSlab *slab; /* where the ids point */
  gsize name_offset;  /* where a record's name starts */
} DaAliasIndex;

typedef struct {
  const DaAliasIndex *index;
  guint32 slot;
} DaAliasIndexIter;

guint32 da_alias_hash (const char *name);
/* the same for a name of len bytes, when the caller knows its length */
guint32 da_alias_hash_len (const char *name, gsize len);

void da_alias_index_init (DaAliasIndex *index, const DaSlab *slab, gsize name_offset);
void da_alias_index_clear (DaAliasIndex *index);
/* hash is da_alias_hash (name); *id (if given) is the record's id */
gpointer da_alias_index_lookup (const DaAliasIndex *index, const char *name, guint32 hash, guint32 *id);
/* names are unique (the caller checks); key is kept in the record's slot */
void da_alias_index_insert (DaAliasIndex *index, guint32 id, guint32 hash, guint64 key);
gboolean da_alias_index_remove (DaAliasIndex *index, guint32 id, guint32 hash);
/* start fetching the slot a lookup of hash begins at (changes nothing) */
void da_alias_index_prefetch (const DaAliasIndex *index, guint32 hash);
/* the key kept with the first record of that hash, whose fetching this
 * starts, so that the caller can fetch what the key leads to meanwhile;
 * FALSE when no record has that hash.  A lookup still decides: another
 * name may have the same hash. */
gboolean da_alias_index_peek (const DaAliasIndex *index, guint32 hash, guint64 *key);
guint da_alias_index_size (const DaAliasIndex *index);
gsize da_alias_index_memory (const DaAliasIndex *index);

void da_alias_index_iter_init (DaAliasIndexIter *iter, const DaAliasIndex *index);
/* the next record, or NULL */
gpointer da_alias_index_iter_next (DaAliasIndexIter *iter);

G_END_DECLS
