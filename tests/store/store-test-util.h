/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>
#include <glib.h>

#include "daemon/store/da-store-format.h"
#include "daemon/store/da-store.h"

G_BEGIN_DECLS

/* shared by the store tests: temporary directories, recovery into an
 * array, completion bookkeeping and a fault hook that tests can steer */

typedef struct {
  guint64 seq;
  GBytes *data;
} TestRecord;

TestRecord *test_record_new (guint64 seq, GBytes *data);
void test_record_free (TestRecord *record);

char *test_make_dir (void);
void test_remove_dir (const char *dir);
void test_copy_dir (const char *from, const char *to);
guint8 *test_read_file (const char *dir, const char *name, gsize *len);
void test_write_file (const char *dir, const char *name, const guint8 *data, gsize len);
gsize test_file_size (const char *dir, const char *name);
gboolean test_file_exists (const char *dir, const char *name);
guint test_file_mode (const char *dir, const char *name);
/* the names of the journal segments, sorted */
GPtrArray *test_list_segments (const char *dir);

/* a payload that says which record it is */
GBytes *test_payload (guint64 i, gsize len);

/* recover into records (TestRecord), failing the test on error */
DaStore *test_open_recover (const char *dir, const DaStoreOptions *options, GPtrArray **records,
                            DaStoreRecovery *report);
/* the same, returning FALSE with error; records gets what was handed over */
gboolean test_try_recover (const char *dir, const DaStoreOptions *options, GPtrArray **records,
                           DaStoreRecovery *report, GError **error);
/* open, recover (expecting nothing in particular) and start */
DaStore *test_open_started (const char *dir, const DaStoreOptions *options, GPtrArray **records);

typedef struct {
  GArray *seqs;      /* guint64 per completion, in delivery order */
  GPtrArray *errors; /* GError (or NULL) per completion */
  guint n_done;
  guint n_failed;
} TestCompletions;

TestCompletions *test_completions_new (void);
void test_completions_free (TestCompletions *c);
void test_done_cb (guint64 seq, const GError *error, gpointer user_data);
/* iterates the default main context until n completions arrived */
void test_wait_done (TestCompletions *c, guint n);
/* append and wait for the one completion; returns the seq, asserts success */
guint64 test_append_sync (DaStore *store, GBytes *payload);

/* a fault hook: acts at one point after skipping some hits */
typedef struct {
  GMutex mutex;
  GCond cond;
  gint point;       /* a DaStoreFaultPoint, or -1 for none */
  int action;       /* an errno, DA_STORE_FAULT_CRASH, or 0 to only count/block */
  gint skip;        /* hits to let pass first */
  gint times;       /* how many hits to act on; -1 for all */
  gboolean block;   /* wait for test_fault_release() before acting */
  gint hits;        /* acted-on hits (atomic) */
  gboolean blocked; /* a writer is waiting in the hook */
  gboolean released;
} TestFault;

void test_fault_init (TestFault *fault, gint point, int action, gint skip, gint times, gboolean block);
void test_fault_clear (TestFault *fault);
int test_fault_func (DaStoreFaultPoint point, gpointer user_data);
/* iterate the main context until the hook acted (or blocked) once */
void test_fault_wait_hit (TestFault *fault);
void test_fault_release (TestFault *fault);

/* frame offsets of a journal or snapshot file */
GArray *test_frame_offsets (const guint8 *data, gsize len, gsize start);

/* compare recovered records with expected payloads in order */
void test_assert_payloads (GPtrArray *records, GPtrArray *expected);
/* open dir with recovery, check the records against expected, close it;
 * report (if given) says what recovery found */
void test_assert_recovers (const char *dir, const DaStoreOptions *options, GPtrArray *expected,
                           DaStoreRecovery *report);
/* the same, and recovery found neither a torn tail nor damage */
void test_assert_recovers_clean (const char *dir, const DaStoreOptions *options, GPtrArray *expected);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestCompletions, test_completions_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestRecord, test_record_free)

G_END_DECLS
