/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The aliases of a scope: an open-addressing hash table of entry pointers
 * (linear probing, backward-shift deletion).  Each entry keeps its own
 * 32-bit hash, so the table is one pointer per slot and resizing never
 * hashes a string again: at a million aliases it costs 16 bytes each where
 * a GHashTable costs 24.  The entry layout is the caller's: the table only
 * needs to find the hash and the NUL-terminated name in it.
 */

typedef struct {
  gpointer *slots;
  guint32 mask;       /* capacity - 1; capacity is a power of two, 0 when empty */
  guint32 n;
  gsize hash_offset;  /* where an entry keeps its guint32 hash */
  gsize name_offset;  /* where its name starts */
} DaAliasIndex;

typedef struct {
  const DaAliasIndex *index;
  guint32 slot;
} DaAliasIndexIter;

guint32 da_alias_hash (const char *name);

void da_alias_index_init (DaAliasIndex *index, gsize hash_offset, gsize name_offset);
void da_alias_index_clear (DaAliasIndex *index);
gpointer da_alias_index_lookup (const DaAliasIndex *index, const char *name);
/* the entry's hash must already be set; names are unique (the caller checks) */
void da_alias_index_insert (DaAliasIndex *index, gpointer entry);
gboolean da_alias_index_remove (DaAliasIndex *index, gpointer entry);
guint da_alias_index_size (const DaAliasIndex *index);
gsize da_alias_index_memory (const DaAliasIndex *index);

void da_alias_index_iter_init (DaAliasIndexIter *iter, const DaAliasIndex *index);
gpointer da_alias_index_iter_next (DaAliasIndexIter *iter);

G_END_DECLS
