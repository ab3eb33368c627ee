/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "da-store.h"

G_BEGIN_DECLS

/* shared by da-store.c (open, writer thread, API) and da-store-recovery.c */

#define DA_STORE_LOCK_NAME "lock"
#define DA_STORE_SNAPSHOT_NAME "snapshot"
#define DA_STORE_SNAPSHOT_TMP_NAME "snapshot.tmp"
#define DA_STORE_SEGMENT_PREFIX "journal."
/* "journal." and 16 hex digits */
#define DA_STORE_SEGMENT_NAME_LEN (sizeof DA_STORE_SEGMENT_PREFIX - 1 + 16)
/* a segment with zeros kept ahead of its end is this long, a multiple */
#define DA_STORE_PREALLOC_ALIGN (64 * 1024)

typedef struct {
  guint64 base;
  guint64 size; /* bytes; for the active segment, only those known durable */
} DaStoreSegment;

typedef enum {
  DA_STORE_ITEM_RECORD,
  DA_STORE_ITEM_SNAPSHOT,
} DaStoreItemKind;

typedef struct {
  DaStoreItemKind kind;
  guint64 seq;        /* record: its sequence; snapshot: the last sequence it covers */
  guint64 generation; /* da_store_clear_failure() calls before it was queued, plus one */
  GBytes *bytes;
  DaStoreDoneFunc done;
  gpointer user_data;
  GError *error;      /* the outcome, once written or failed */
} DaStoreItem;

struct _DaStore {
  char *dir;
  DaStoreOptions options;
  int dir_fd;
  int lock_fd;

  /* main thread */
  gboolean recovered;
  gboolean started;
  gboolean closed;
  guint64 next_seq;
  GMainContext *context;
  GSource *completion_source;

  /* the journal: the main thread's during recovery, the writer's after start */
  GArray *segments; /* DaStoreSegment by base; the last one is the active segment */
  int journal_fd;
  gboolean journal_needs_truncate; /* bytes past the durable size may be on disk */
  /* the active segment's file size: zeros past its durable size, written
   * and synced ahead, so that a group's fdatasync overwrites blocks the
   * file already has and flushes no size or extent change */
  guint64 journal_allocated;
  guint64 prealloc_retry_at; /* after a failure: not before the segment is this long */
  GByteArray *group_buf;
  gboolean crashed;                /* the fault hook simulated a crash: no more disk activity */

  GThread *writer;
  GMutex mutex;
  GCond cond;
  /* under mutex */
  GQueue queue;     /* DaStoreItem waiting for the writer */
  GQueue completed; /* DaStoreItem waiting for their callback */
  gboolean accepting;
  gboolean stopping;
  guint64 generation;
  guint64 failed_generation; /* items of this generation or older fail */
  GError *failure;           /* what put the store in the failed state */
  DaStoreCounters counters;
  guint last_group_size; /* records in the last group written */
  guint waiting_for;     /* the writer waits for this many queued records */
  DaStoreFaultFunc fault_func;
  gpointer fault_data;
};

char *da_store_segment_name (guint64 base);
gboolean da_store_segment_name_parse (const char *name, guint64 *base);
/* openat() below the state directory; mode 0600 whatever the umask */
int da_store_open_file (DaStore *store, const char *name, int flags, int *errsv);
/* a new segment with its header written (not yet synced); -1 and errno */
int da_store_segment_create (DaStore *store, guint64 base, guint64 prev_base, int *errsv);
/* pwrite() all of buf at offset, through short writes and EINTR */
gboolean da_store_write_all (int fd, const guint8 *buf, gsize len, guint64 offset, int *errsv);
DaStoreSegment *da_store_active_segment (DaStore *store);

G_END_DECLS
