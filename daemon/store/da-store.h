/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "da-snapshot-builder.h"
#include "da-store-error.h"

G_BEGIN_DECLS

/*
 * The durable store: opaque records in a checksummed journal plus
 * snapshots, made durable by one writer thread with group commit.  It never
 * interprets a record and decides nothing.
 *
 * Life cycle, all on the main thread:
 *   da_store_open()     create and lock the state directory
 *   da_store_recover()  hand every durable record to the caller, repair a torn tail
 *   da_store_start()    start the writer thread; completions arrive on a GMainContext
 *   da_store_append() / da_store_snapshot() ... never block on disk
 *   da_store_close()    finish what is queued, stop the thread, release the lock
 *   da_store_free()
 */
typedef struct _DaStore DaStore;

typedef struct {
  /* recover from a damaged snapshot with the records that are intact,
   * instead of refusing with DA_STORE_ERROR_CORRUPT */
  gboolean accept_data_loss;
  /* group commit: when the last group held several records, more are
   * probably on their way; wait up to this long for as many before writing
   * (0: write at once).  A lone writer never waits. */
  gint64 group_delay_us;
  /* keep this many bytes of synced zeros ahead of the journal's end, so
   * that a group's sync overwrites blocks the file has instead of growing
   * it (0: append) */
  guint64 preallocate_bytes;
} DaStoreOptions;

/* one stretch of bytes recovery could not use */
typedef struct {
  char *file;         /* "snapshot" or "journal.<base>" */
  guint64 offset;
  guint64 length;
  guint64 seq_before; /* journal: sequence of the intact record before it; snapshot: ordinal; 0 when none */
  guint64 seq_after;  /* the same for the intact record after it; 0 when the damage runs to the end */
  /* snapshot: records lost exactly; journal: at most this many (sequences
   * of failed appends also leave holes); 0 when unknown */
  guint64 records_lost;
} DaStoreDamage;

typedef struct {
  guint64 snapshot_seq;          /* the last sequence the snapshot covers; 0 without one */
  guint64 snapshot_records;      /* records delivered from the snapshot */
  guint64 snapshot_records_lost; /* accept_data_loss only: records of a damaged snapshot left out */
  guint64 journal_records;       /* records delivered from the journal */
  guint segments;                /* journal segments read */
  guint64 bytes;                 /* bytes of snapshot and journal read */
  guint64 tail_bytes_cut;        /* torn tail cut from the last segment */
  guint64 tail_records_cut;      /* whole but unacknowledged records in that tail */
  GArray *damage;                /* DaStoreDamage, file by file */
  guint64 damaged_bytes;
  gboolean removed_snapshot_tmp; /* an unfinished snapshot.tmp was deleted */
  guint64 last_seq;              /* the highest sequence in use; appends continue above it */
  gint64 duration_usec;
} DaStoreRecovery;

typedef struct {
  guint64 appends;         /* records handed to da_store_append() */
  guint64 records_written; /* records made durable */
  guint64 records_failed;  /* records completed with an error */
  guint64 groups;          /* journal groups written, i.e. journal fdatasync calls */
  guint64 largest_group;   /* records in the largest group */
  guint64 bytes_written;   /* journal bytes made durable */
  guint64 failures;        /* groups whose write or sync failed */
  guint64 snapshots;       /* snapshots made durable */
  guint64 snapshot_failures;
  guint64 journal_bytes;   /* bytes in all live journal segments */
  guint journal_segments;
  guint64 last_durable_seq;
  guint64 queued;          /* records and snapshots waiting for the writer */
  gboolean failed;         /* in the failed state (see da_store_clear_failure()) */
} DaStoreCounters;

/* Called on the main context, strictly in sequence order; error is NULL when
 * the record is durable.  A snapshot's callback comes after those of every
 * record it covers and before any later one. */
typedef void (*DaStoreDoneFunc) (guint64 seq, const GError *error, gpointer user_data);

/* Recovery hands each record over with the data valid only during the call.
 * Snapshot records come first, all with the snapshot's sequence; journal
 * records follow in sequence order.  Returning FALSE aborts recovery. */
typedef gboolean (*DaStoreRecordFunc) (guint64 seq, const guint8 *data, gsize len, gpointer user_data,
                                       GError **error);

DaStore *da_store_open (const char *dir, const DaStoreOptions *options, GError **error);
gboolean da_store_recover (DaStore *store, DaStoreRecordFunc record_func, gpointer user_data,
                           DaStoreRecovery *report, GError **error);
gboolean da_store_start (DaStore *store, GMainContext *context, GError **error);

/* Queues one record (at most DA_STORE_RECORD_MAX bytes) and returns its
 * sequence number; never blocks on disk.  done may be NULL. */
guint64 da_store_append (DaStore *store, GBytes *record, DaStoreDoneFunc done, gpointer user_data);

/* Queues a snapshot of the caller's state as of the last appended sequence,
 * which it returns.  payload_records comes from da_snapshot_builder_steal().
 * It is written only after every earlier record is durable, and discarded
 * (done gets DA_STORE_ERROR_UNAVAILABLE) if one of them failed.  A failed
 * snapshot does not put the store in the failed state. */
guint64 da_store_snapshot (DaStore *store, GBytes *payload_records, DaStoreDoneFunc done, gpointer user_data);

/* After a write or sync fails, the store is in the failed state: that group
 * and every record queued or appended after it fail with
 * DA_STORE_ERROR_UNAVAILABLE, and nothing is written.  The caller rolls its
 * state back to the last durable record and then calls this; records
 * appended afterwards are written again.  Records appended before the call
 * still fail, even if their callbacks arrive after it. */
void da_store_clear_failure (DaStore *store);
gboolean da_store_is_failed (DaStore *store);

void da_store_get_counters (DaStore *store, DaStoreCounters *counters);
const char *da_store_get_dir (DaStore *store);

/* Writes everything queued, delivers every pending callback (on the calling
 * thread, which must own the main context), stops the writer and releases
 * the lock.  Records appended later fail with DA_STORE_ERROR_CLOSED.
 * Idempotent; must not be called from a done callback. */
void da_store_close (DaStore *store);
/* closes if needed, then frees */
void da_store_free (DaStore *store);

void da_store_recovery_clear (DaStoreRecovery *report);
/* one line for the log, e.g. "12 snapshot + 40 journal records, 3 bytes of torn tail cut" */
char *da_store_recovery_describe (const DaStoreRecovery *report);

/* fault injection for tests: called on the writer thread before each step
 * below; return 0 to go on, an errno to make that step fail with it, or
 * DA_STORE_FAULT_CRASH to stop all disk activity there as a crash would.
 * A failing or crashing write writes the first half of its bytes first. */
typedef enum {
  DA_STORE_FAULT_JOURNAL_WRITE,
  DA_STORE_FAULT_JOURNAL_SYNC,
  DA_STORE_FAULT_JOURNAL_TRUNCATE, /* cutting a failed group back off */
  DA_STORE_FAULT_SEGMENT_CREATE,   /* new segment: create and write its header */
  DA_STORE_FAULT_SEGMENT_SYNC,     /* new segment: fdatasync it and the directory */
  DA_STORE_FAULT_SNAPSHOT_WRITE,   /* each chunk of snapshot.tmp */
  DA_STORE_FAULT_SNAPSHOT_SYNC,    /* fsync snapshot.tmp */
  DA_STORE_FAULT_SNAPSHOT_RENAME,  /* snapshot.tmp -> snapshot */
  DA_STORE_FAULT_SNAPSHOT_DIR_SYNC,
  DA_STORE_FAULT_SEGMENT_DELETE,   /* unlink segments the snapshot covers */
  DA_STORE_FAULT_SEGMENT_DELETE_SYNC,
} DaStoreFaultPoint;

#define DA_STORE_FAULT_CRASH (-1)

typedef int (*DaStoreFaultFunc) (DaStoreFaultPoint point, gpointer user_data);
void da_store_set_fault_hook (DaStore *store, DaStoreFaultFunc func, gpointer user_data);
const char *da_store_fault_point_to_string (DaStoreFaultPoint point);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaStore, da_store_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DaStoreRecovery, da_store_recovery_clear)

G_END_DECLS
