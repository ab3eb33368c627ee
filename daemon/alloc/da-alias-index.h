/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "da-slab.h"

G_BEGIN_DECLS

/*
 * The aliases of a scope: an open-addressing hash table (linear probing,
 * backward-shift deletion) of slab records.  A slot is the record's 32-bit
 * hash and its 32-bit slab id, 8 bytes: probing compares hashes in the
 * table and reads a record only when its hash matches, and resizing never
 * hashes a string again.  At a million aliases it costs 16 bytes each.
 * The record layout is the caller's: the table only needs the offset of
 * the NUL-terminated name in it.
 */

typedef struct {
  guint32 hash;
  guint32 id;         /* 0: empty */
} DaAliasSlot;

typedef struct {
  DaAliasSlot *slots;
  guint32 mask;       /* capacity - 1; capacity is a power of two, 0 when empty */
  guint32 n;
  const DaSlab *slab; /* where the ids point */
  gsize name_offset;  /* where a record's name starts */
} DaAliasIndex;

typedef struct {
  const DaAliasIndex *index;
  guint32 slot;
} DaAliasIndexIter;

guint32 da_alias_hash (const char *name);

void da_alias_index_init (DaAliasIndex *index, const DaSlab *slab, gsize name_offset);
void da_alias_index_clear (DaAliasIndex *index);
/* hash is da_alias_hash (name); *id (if given) is the record's id */
gpointer da_alias_index_lookup (const DaAliasIndex *index, const char *name, guint32 hash, guint32 *id);
/* names are unique (the caller checks) */
void da_alias_index_insert (DaAliasIndex *index, guint32 id, guint32 hash);
gboolean da_alias_index_remove (DaAliasIndex *index, guint32 id, guint32 hash);
/* start fetching the slot a lookup of hash begins at (changes nothing) */
void da_alias_index_prefetch (const DaAliasIndex *index, guint32 hash);
guint da_alias_index_size (const DaAliasIndex *index);
gsize da_alias_index_memory (const DaAliasIndex *index);

void da_alias_index_iter_init (DaAliasIndexIter *iter, const DaAliasIndex *index);
/* the next record, or NULL */
gpointer da_alias_index_iter_next (DaAliasIndexIter *iter);

G_END_DECLS
