/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Damaged state files under a real devaddrd.  One state is made through
 * the API (a snapshot of 100 reservations and a journal of 40 more, each
 * its own record), the place of every record is read from the journal
 * with the store's frame parser, then each test damages a copy of it and
 * starts a daemon on it:
 *   - a torn or damaged journal: the daemon starts, every record outside
 *     the damage is there via the API, and the loss is reported in the log
 *     and in server.info store.recovery;
 *   - a damaged, empty or missing snapshot, a missing journal segment:
 *     the daemon refuses to start, naming the file and --accept-data-loss;
 *     with the flag it starts with what could be read, reports what it
 *     lost, and the next start without the flag is a normal one.
 * What recovery must report is worked out from where the damaged records
 * are, and every assertion on it prints the whole store.recovery object.
 * DA_DAMAGE_SEED replays the random offsets (the seed is printed).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/da-record.h"
#include "daemon/store/da-store-format.h"
#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

#define N_SNAP 100
#define N_TAIL 40

/* where a record is in the journal segment */
typedef struct {
  gsize start;
  gsize end;   /* just past its frame */
  guint64 seq;
} TailFrame;

/* the state every test starts from, made once before the tests run */
static struct {
  char *top;                   /* temporary directory holding state/ */
  char *state;
  char *segment;               /* the journal segment name after the snapshot */
  char *snap_address[N_SNAP];  /* acknowledged address of s<i> */
  char *tail_address[N_TAIL];  /* of t<i> */
  gsize tail_acked[N_TAIL];    /* size of the segment once t<i> was acknowledged */
  TailFrame tail_frame[N_TAIL]; /* t<i>'s frame, as the store's parser finds it */
  gsize snapshot_size;
  gint64 snapshot_records;     /* records of the intact snapshot, as recovery counts them */
  guint32 seed;
} golden;

static char *
newest_segment (const char *state)
{
  g_autoptr (GDir) dir = g_dir_open (state, 0, NULL);
  const char *name;
  char *newest = NULL;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "journal.") && (newest == NULL || strcmp (name, newest) > 0)) {
      g_free (newest);
      newest = g_strdup (name);
    }
  return newest;
}

static gsize
file_size (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;

  g_assert (g_stat (path, &st) == 0);
  return (gsize) st.st_size;
}

static char *
reserve (DaTestClient *client, const char *alias)
{
  g_autofree char *params = g_strdup_printf ("{\"scope\":\"host\",\"type\":\"id\",\"alias\":\"%s\"}", alias);
  g_autoptr (JsonNode) result = da_test_client_call_ok (client, "addr.reserve", params);

  return g_strdup (json_object_get_string_member (json_node_get_object (result), "address"));
}

/* the alias a record reserves when it is one reservation, else NULL */
static char *
record_reserves (const DaStoreFrame *frame)
{
  g_autoptr (GPtrArray) changes = da_record_decode (frame->payload, frame->len, NULL);
  const DaChange *change;

  if (changes == NULL || changes->len != 1)
    return NULL;
  change = g_ptr_array_index (changes, 0);
  return change->kind == DA_CHANGE_RESERVE ? g_strdup (change->alias) : NULL;
}

/* The tests damage records and predict what recovery reports from where
 * the records are, so that is read from the segment itself, frame by frame
 * with the store's own parser, rather than guessed from file sizes.  It
 * also checks what the predictions rest on: the segment holds t0..t39 and
 * nothing else, each its own group (flagged COMMIT), each on disk when it
 * was acknowledged and before the next was written. */
static void
read_tail_frames (const char *state)
{
  g_autofree char *path = g_build_filename (state, golden.segment, NULL);
  g_autofree char *data = NULL;
  gsize len = 0, pos = DA_STORE_FILE_HEADER_SIZE;
  guint n = 0;

  if (!g_file_get_contents (path, &data, &len, NULL) || len < DA_STORE_FILE_HEADER_SIZE)
    g_error ("cannot read the journal segment %s", path);
  while (pos < len) {
    g_autofree char *expected = g_strdup_printf ("t%u", n);
    g_autofree char *alias = NULL;
    DaStoreFrame frame;
    TailFrame *tail;

    if (!da_store_frame_parse ((const guint8 *) data + pos, len - pos, &frame))
      g_error ("%s: no intact frame at offset %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, path, pos, len);
    alias = record_reserves (&frame);
    if (n == N_TAIL)
      g_error ("%s: a frame after t%u's, at offset %" G_GSIZE_FORMAT " (sequence %" G_GUINT64_FORMAT ")", path,
               N_TAIL - 1, pos, frame.seq);
    if (g_strcmp0 (alias, expected) != 0)
      g_error ("%s: the frame at offset %" G_GSIZE_FORMAT " (sequence %" G_GUINT64_FORMAT ") reserves %s, not "
               "%s alone", path, pos, frame.seq, alias != NULL ? alias : "something else", expected);
    tail = &golden.tail_frame[n];
    tail->start = pos;
    tail->end = pos + DA_STORE_FRAME_HEADER_SIZE + frame.len;
    tail->seq = frame.seq;
    if (!(frame.flags & DA_STORE_FRAME_COMMIT) || tail->end != golden.tail_acked[n]
        || (n > 0 && tail->seq != golden.tail_frame[n - 1].seq + 1))
      g_error ("%s: %s's frame (offset %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT ", sequence %" G_GUINT64_FORMAT
               ", flags %#x) is not a group of its own that was acknowledged with the segment at %" G_GSIZE_FORMAT
               " bytes", path, expected, tail->start, tail->end, tail->seq, frame.flags, golden.tail_acked[n]);
    pos = tail->end;
    n++;
  }
  if (n != N_TAIL)
    g_error ("%s holds %u records, not %u", path, n, N_TAIL);
}

static void
make_golden (void)
{
  g_autoptr (DaTestDaemon) devaddrd = da_test_daemon_new (NULL);
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (GError) error = NULL;

  /* the segment's size at each acknowledgement says where its records
   * end: no zeros kept ahead of the end */
  da_test_daemon_set_config (devaddrd, "[daemon]\nsnapshot-records=100\njournal-preallocate=0\n");
  if (!da_test_daemon_start (devaddrd, &error))
    g_error ("%s", error->message);
  client = da_test_client_connect (devaddrd->socket_path, NULL);
  /* one record each; the hundredth makes the daemon write a snapshot */
  for (guint i = 0; i < N_SNAP; i++) {
    g_autofree char *alias = g_strdup_printf ("s%u", i);

    golden.snap_address[i] = reserve (client, alias);
  }
  /* the writer takes the snapshot before the next record, so each answer
   * below comes with its record on disk, in the segment after the snapshot */
  for (guint i = 0; i < N_TAIL; i++) {
    g_autofree char *alias = g_strdup_printf ("t%u", i);

    golden.tail_address[i] = reserve (client, alias);
    if (i == 0)
      golden.segment = newest_segment (devaddrd->state_dir);
    golden.tail_acked[i] = file_size (devaddrd->state_dir, golden.segment);
  }
  g_clear_pointer (&client, da_test_client_free);
  if (da_test_daemon_stop (devaddrd) != 0)
    g_error ("the daemon making the state did not stop cleanly");
  golden.snapshot_size = file_size (devaddrd->state_dir, "snapshot");
  /* what recovery of the intact state says, for the damaged ones to compare with */
  {
    g_autoptr (JsonNode) info = NULL;
    JsonObject *rec;

    if (!da_test_daemon_start (devaddrd, &error))
      g_error ("%s", error->message);
    client = da_test_client_connect (devaddrd->socket_path, NULL);
    info = da_test_client_call_ok (client, "server.info", NULL);
    rec = json_object_get_object_member (json_object_get_object_member (json_node_get_object (info), "store"),
                                         "recovery");
    golden.snapshot_records = json_object_get_int_member (rec, "snapshot_records");
    if (json_object_get_int_member (rec, "journal_records") != N_TAIL || golden.snapshot_records < N_SNAP)
      g_error ("the intact state recovers as %" G_GINT64_FORMAT " + %" G_GINT64_FORMAT " records",
               golden.snapshot_records, json_object_get_int_member (rec, "journal_records"));
    g_clear_pointer (&client, da_test_client_free);
    if (da_test_daemon_stop (devaddrd) != 0)
      g_error ("the daemon checking the state did not stop cleanly");
  }
  {
    g_autofree char *only = newest_segment (devaddrd->state_dir);
    g_autofree char *first = g_strdup_printf ("journal.%016x", N_SNAP);

    /* the layout the tests rely on: the snapshot at 100, one segment after it */
    if (strcmp (only, golden.segment) != 0 || strcmp (golden.segment, first) != 0
        || golden.tail_acked[0] <= DA_STORE_FILE_HEADER_SIZE)
      g_error ("unexpected state layout: %s, %s", only, golden.segment);
  }
  read_tail_frames (devaddrd->state_dir);
  /* keep the state; the daemon's directory goes */
  if (g_rename (devaddrd->state_dir, golden.state) != 0)
    g_error ("cannot keep the state: %s", g_strerror (errno));
}

/* what make_golden() learnt, through a file: it runs in a child process */
static void
save_golden (const char *path)
{
  g_autoptr (GKeyFile) facts = g_key_file_new ();

  g_key_file_set_string (facts, "state", "segment", golden.segment);
  g_key_file_set_uint64 (facts, "state", "snapshot-size", golden.snapshot_size);
  g_key_file_set_int64 (facts, "state", "snapshot-records", golden.snapshot_records);
  for (guint i = 0; i < N_SNAP; i++) {
    g_autofree char *key = g_strdup_printf ("s%u", i);

    g_key_file_set_string (facts, "address", key, golden.snap_address[i]);
  }
  for (guint i = 0; i < N_TAIL; i++) {
    g_autofree char *key = g_strdup_printf ("t%u", i);

    g_key_file_set_string (facts, "address", key, golden.tail_address[i]);
    g_key_file_set_uint64 (facts, "acked", key, golden.tail_acked[i]);
    g_key_file_set_uint64 (facts, "start", key, golden.tail_frame[i].start);
    g_key_file_set_uint64 (facts, "end", key, golden.tail_frame[i].end);
    g_key_file_set_uint64 (facts, "seq", key, golden.tail_frame[i].seq);
  }
  if (!g_key_file_save_to_file (facts, path, NULL))
    g_error ("cannot save %s", path);
}

static void
load_golden (const char *path)
{
  g_autoptr (GKeyFile) facts = g_key_file_new ();

  if (!g_key_file_load_from_file (facts, path, G_KEY_FILE_NONE, NULL))
    g_error ("the state was not made (%s)", path);
  golden.segment = g_key_file_get_string (facts, "state", "segment", NULL);
  golden.snapshot_size = g_key_file_get_uint64 (facts, "state", "snapshot-size", NULL);
  golden.snapshot_records = g_key_file_get_int64 (facts, "state", "snapshot-records", NULL);
  for (guint i = 0; i < N_SNAP; i++) {
    g_autofree char *key = g_strdup_printf ("s%u", i);

    golden.snap_address[i] = g_key_file_get_string (facts, "address", key, NULL);
  }
  for (guint i = 0; i < N_TAIL; i++) {
    g_autofree char *key = g_strdup_printf ("t%u", i);

    golden.tail_address[i] = g_key_file_get_string (facts, "address", key, NULL);
    golden.tail_acked[i] = g_key_file_get_uint64 (facts, "acked", key, NULL);
    golden.tail_frame[i].start = g_key_file_get_uint64 (facts, "start", key, NULL);
    golden.tail_frame[i].end = g_key_file_get_uint64 (facts, "end", key, NULL);
    golden.tail_frame[i].seq = g_key_file_get_uint64 (facts, "seq", key, NULL);
  }
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  gsize len;

  ck_assert (g_file_get_contents (from, &data, &len, NULL));
  ck_assert (g_file_set_contents_full (to, data, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
}

/* a daemon (not started) whose state directory is a copy of the golden one */
static DaTestDaemon *
daemon_on_copy (gboolean accept_data_loss)
{
  const char *lossy[] = { "--accept-data-loss", NULL };
  DaTestDaemon *devaddrd = da_test_daemon_new (accept_data_loss ? lossy : NULL);
  g_autoptr (GDir) dir = g_dir_open (golden.state, 0, NULL);
  const char *name;

  da_test_daemon_set_config (devaddrd, "[daemon]\nsnapshot-records=100\n");
  ck_assert (g_mkdir (devaddrd->state_dir, 0700) == 0);
  while ((name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *from = g_build_filename (golden.state, name, NULL);
    g_autofree char *to = g_build_filename (devaddrd->state_dir, name, NULL);

    copy_file (from, to);
  }
  return devaddrd;
}

static char *
state_path (DaTestDaemon *devaddrd, const char *name)
{
  return g_build_filename (devaddrd->state_dir, name, NULL);
}

static void
truncate_file (DaTestDaemon *devaddrd, const char *name, gsize size)
{
  g_autofree char *path = state_path (devaddrd, name);

  ck_assert (truncate (path, (off_t) size) == 0);
}

static void
flip_byte (DaTestDaemon *devaddrd, const char *name, gsize offset)
{
  g_autofree char *path = state_path (devaddrd, name);
  int fd = open (path, O_RDWR);
  guint8 byte;

  ck_assert (fd >= 0);
  ck_assert (pread (fd, &byte, 1, (off_t) offset) == 1);
  byte ^= 0x5a;
  ck_assert (pwrite (fd, &byte, 1, (off_t) offset) == 1);
  close (fd);
}

/* ------------------------------------------------------------------ */
/* what the started daemon must hold and say */

static JsonObject *
recovery_of (DaTestClient *client)
{
  g_autoptr (JsonNode) info = da_test_client_call_ok (client, "server.info", NULL);
  JsonObject *store = json_object_get_object_member (json_node_get_object (info), "store");

  return json_object_ref (json_object_get_object_member (store, "recovery"));
}

/* the whole recovery object, for failure messages (only made when an
 * assertion fails, which ends the test, so it is never freed) */
static char *
recovery_text (JsonObject *recovery)
{
  g_autoptr (JsonNode) node = NULL;

  if (recovery == NULL)
    return g_strdup ("(not asked for yet)");
  node = json_node_init_object (json_node_alloc (), recovery);
  return json_to_string (node, FALSE);
}

/* assertions that say, when they fail, all that recovery reported */
#define assert_recovery(rec, expr)                                                                            \
  ck_assert_msg ((expr), "Assertion '%s' failed; store.recovery: %s", #expr, recovery_text (rec))
#define assert_recovery_cmp(rec, x, op, y)                                                                    \
  G_STMT_START {                                                                                              \
    gint64 x_ = (gint64) (x);                                                                                 \
    gint64 y_ = (gint64) (y);                                                                                 \
                                                                                                              \
    ck_assert_msg (x_ op y_,                                                                                  \
                   "Assertion '%s %s %s' failed: %s == %" G_GINT64_FORMAT ", %s == %" G_GINT64_FORMAT "; "    \
                   "store.recovery: %s", #x, #op, #y, #x, x_, #y, y_, recovery_text (rec));                   \
  } G_STMT_END
#define assert_recovery_int(rec, member, op, expected)                                                        \
  G_STMT_START {                                                                                              \
    gint64 got_ = rec_int ((rec), (member));                                                                  \
    gint64 expected_ = (gint64) (expected);                                                                   \
                                                                                                              \
    ck_assert_msg (got_ op expected_,                                                                         \
                   "store.recovery %s is %" G_GINT64_FORMAT ", expected %s %s (%" G_GINT64_FORMAT "); "      \
                   "store.recovery: %s", (member), got_, #op, #expected, expected_, recovery_text (rec));     \
  } G_STMT_END

static gint64
rec_int (JsonObject *recovery, const char *member)
{
  ck_assert_msg (json_object_has_member (recovery, member), "store.recovery has no %s: %s", member,
                 recovery_text (recovery));
  return json_object_get_int_member (recovery, member);
}

/* whether alias is held, at its acknowledged address */
static gboolean
holds (DaTestClient *client, const char *alias, const char *address, JsonObject *rec)
{
  g_autofree char *params = g_strdup_printf ("{\"scope\":\"host\",\"alias\":\"%s\"}", alias);
  g_autoptr (JsonNode) reply = da_test_client_request (client, "addr.lookup", params);
  JsonObject *obj = json_node_get_object (reply);
  const char *got;

  if (!json_object_has_member (obj, "result")) {
    const char *reason = da_test_error_reason (json_object_get_object_member (obj, "error"));

    ck_assert_msg (g_strcmp0 (reason, "not-found") == 0, "looking up %s fails with %s; store.recovery: %s", alias,
                   reason, recovery_text (rec));
    return FALSE;
  }
  got = json_object_get_string_member (json_object_get_object_member (obj, "result"), "address");
  ck_assert_msg (g_strcmp0 (got, address) == 0, "%s is at %s, acknowledged at %s; store.recovery: %s", alias, got,
                 address, recovery_text (rec));
  return TRUE;
}

/* the tail records present are exactly those the mask says; returns how
 * many of the snapshot's are present; the pool holds nothing else but
 * extra reservations made since */
static guint
check_held (DaTestClient *client, const gboolean *tail_present, guint extra, JsonObject *rec)
{
  guint n_snap = 0, n_tail = 0;

  for (guint i = 0; i < N_SNAP; i++) {
    g_autofree char *alias = g_strdup_printf ("s%u", i);

    n_snap += holds (client, alias, golden.snap_address[i], rec);
  }
  for (guint i = 0; i < N_TAIL; i++) {
    g_autofree char *alias = g_strdup_printf ("t%u", i);
    gboolean there = holds (client, alias, golden.tail_address[i], rec);

    ck_assert_msg (there == tail_present[i], "%s (offset %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT ", sequence %"
                   G_GUINT64_FORMAT ") is %s; store.recovery: %s", alias, golden.tail_frame[i].start,
                   golden.tail_frame[i].end, golden.tail_frame[i].seq, there ? "there" : "lost", recovery_text (rec));
    n_tail += there;
  }
  {
    g_autoptr (JsonNode) stats = da_test_client_call_ok (client, "pool.stats", "{\"scope\":\"host\",\"type\":\"id\"}");
    JsonObject *obj = json_node_get_object (stats);
    gint64 reservations = json_object_get_int_member_with_default (obj, "reservations", 0);
    gint64 used = json_object_get_int_member (obj, "used");

    assert_recovery_cmp (rec, reservations, ==, n_snap + n_tail + extra);
    assert_recovery_cmp (rec, used, ==, n_snap + n_tail + extra);
  }
  return n_snap;
}

/* check_held() with every reservation of the snapshot there */
static void
assert_all_held (DaTestClient *client, const gboolean *tail_present, JsonObject *rec)
{
  guint n_snap = check_held (client, tail_present, 0, rec);

  assert_recovery_cmp (rec, n_snap, ==, N_SNAP);
}

static void
assert_log_mentions (DaTestDaemon *devaddrd, const char *what)
{
  g_autofree char *log = da_test_daemon_log (devaddrd);

  ck_assert_msg (strstr (log, what) != NULL, "the log does not mention \"%s\":\n%s", what, log);
}

static DaTestClient *
start_ok (DaTestDaemon *devaddrd)
{
  g_autoptr (GError) error = NULL;

  ck_assert_msg (da_test_daemon_start (devaddrd, &error), "%s", error ? error->message : "");
  return da_test_client_connect (devaddrd->socket_path, NULL);
}

/* the daemon must not start, and say which file and how to go on */
static void
assert_refuses (DaTestDaemon *devaddrd, const char *file)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *log = NULL;

  ck_assert_msg (!da_test_daemon_start (devaddrd, &error), "the daemon started on a damaged %s", file);
  g_subprocess_wait (devaddrd->process, NULL, NULL);
  ck_assert (g_subprocess_get_if_exited (devaddrd->process));
  ck_assert_int_eq (g_subprocess_get_exit_status (devaddrd->process), 1);
  g_clear_object (&devaddrd->process);
  log = da_test_daemon_log (devaddrd);
  ck_assert_msg (strstr (log, devaddrd->state_dir) != NULL && strstr (log, file) != NULL,
                 "the refusal does not name %s in %s:\n%s", file, devaddrd->state_dir, log);
  ck_assert_msg (strstr (log, "--accept-data-loss") != NULL, "the refusal does not say how to go on:\n%s", log);
}

static void
all_tail (gboolean *mask, gboolean value)
{
  for (guint i = 0; i < N_TAIL; i++)
    mask[i] = value;
}

/* after a loss (accepted with the flag or a damaged journal's), the next
 * start needs no flag, reports nothing, and finds the same, with what was
 * reserved after the first start (alias at address) */
static void
restart_without_flag (DaTestDaemon *devaddrd, const gboolean *tail_present, guint n_snap, const char *alias,
                      const char *address)
{
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (JsonObject) rec = NULL;

  ck_assert_int_eq (da_test_daemon_stop (devaddrd), 0);
  g_strfreev (devaddrd->extra_args);
  devaddrd->extra_args = NULL;
  client = start_ok (devaddrd);
  rec = recovery_of (client);
  assert_recovery_int (rec, "damaged_regions", ==, 0);
  assert_recovery_int (rec, "dropped_records", ==, 0);
  assert_recovery_int (rec, "tail_bytes_cut", ==, 0);
  assert_recovery (rec, !json_object_get_boolean_member (rec, "snapshot_damaged"));
  assert_recovery (rec, holds (client, alias, address, rec));
  {
    guint held = check_held (client, tail_present, 1, rec);

    assert_recovery_cmp (rec, held, ==, n_snap);
  }
}

/* a reservation made on the recovered state, kept across the next start */
static char *
reserve_after (DaTestClient *client)
{
  return reserve (client, "after-the-damage");
}

/* ------------------------------------------------------------------ */
/* the journal */

static void
check_journal_cut (gsize size)
{
  g_autoptr (DaTestDaemon) devaddrd = daemon_on_copy (FALSE);
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (JsonObject) rec = NULL;
  gboolean present[N_TAIL];
  gsize kept = DA_STORE_FILE_HEADER_SIZE;
  gint64 n_present = 0;
  g_autofree char *address = NULL;

  truncate_file (devaddrd, golden.segment, size);
  client = start_ok (devaddrd);
  for (guint i = 0; i < N_TAIL; i++) {
    present[i] = golden.tail_frame[i].end <= size;
    if (present[i]) {
      kept = golden.tail_frame[i].end;
      n_present++;
    }
  }
  rec = recovery_of (client);
  assert_all_held (client, present, rec);
  if (size >= DA_STORE_FILE_HEADER_SIZE)
    assert_recovery_int (rec, "tail_bytes_cut", ==, size - kept);
  if (size > kept)
    assert_log_mentions (devaddrd, "torn tail");
  assert_recovery_int (rec, "damaged_regions", ==, 0);
  assert_recovery_int (rec, "snapshot_records", ==, golden.snapshot_records);
  assert_recovery_int (rec, "journal_records", ==, n_present);
  /* the cut is repaired: writes go on right after the last intact record,
   * and are there after the next start */
  address = reserve_after (client);
  g_clear_pointer (&client, da_test_client_free);
  restart_without_flag (devaddrd, present, N_SNAP, "after-the-damage", address);
}

START_TEST (test_journal_cut_in_last_record)
{
  check_journal_cut (golden.tail_frame[N_TAIL - 1].end - 3);
}
END_TEST

START_TEST (test_journal_cut_at_random)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (golden.seed + (guint32) _i);
  gsize size = (gsize) g_rand_int_range (rand, 0, (gint32) golden.tail_frame[N_TAIL - 1].end);

  g_print ("journal cut at %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes\n", size,
           golden.tail_frame[N_TAIL - 1].end);
  check_journal_cut (size);
}
END_TEST

typedef struct {
  gsize offset;
  gsize length;
  gint64 records_lost;
} ExpectedDamage;

/* a byte flipped in each of the records given (indices into the tail) */
static void
check_journal_flips (const guint *records, guint n)
{
  g_autoptr (DaTestDaemon) devaddrd = daemon_on_copy (FALSE);
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (JsonObject) rec = NULL;
  g_autoptr (GArray) expected = g_array_new (FALSE, FALSE, sizeof (ExpectedDamage));
  gboolean present[N_TAIL];
  g_autofree char *address = NULL;
  gsize tail_cut = 0, damaged_bytes = 0;
  gint64 dropped = 0;
  JsonArray *damage;

  all_tail (present, TRUE);
  for (guint k = 0; k < n; k++) {
    const TailFrame *frame = &golden.tail_frame[records[k]];

    /* a quarter into the record's frame: in its header, which its checksum covers */
    flip_byte (devaddrd, golden.segment, frame->start + (frame->end - frame->start) / 4);
    present[records[k]] = FALSE;
  }
  /* what recovery must say, worked out from where the frames are: damaged
   * neighbours are one damaged stretch, since the scan picks up again only
   * at the next intact frame; damage that reaches the end of the segment
   * has no intact commit after it, so it is cut as a torn tail */
  for (guint i = 0; i < N_TAIL; i++) {
    guint last = i;

    if (present[i])
      continue;
    while (last + 1 < N_TAIL && !present[last + 1])
      last++;
    if (last == N_TAIL - 1) {
      tail_cut = golden.tail_frame[last].end - golden.tail_frame[i].start;
    } else {
      ExpectedDamage stretch = { golden.tail_frame[i].start,
                                 golden.tail_frame[last].end - golden.tail_frame[i].start, last - i + 1 };

      g_array_append_val (expected, stretch);
      damaged_bytes += stretch.length;
      dropped += stretch.records_lost;
    }
    i = last;
  }
  {
    GString *text = g_string_new ("expected damage:");

    for (guint k = 0; k < expected->len; k++) {
      const ExpectedDamage *want = &g_array_index (expected, ExpectedDamage, k);

      g_string_append_printf (text, " %" G_GSIZE_FORMAT " bytes at offset %" G_GSIZE_FORMAT " (%" G_GINT64_FORMAT
                              " lost),", want->length, want->offset, want->records_lost);
    }
    g_string_append_printf (text, " a torn tail of %" G_GSIZE_FORMAT " bytes\n", tail_cut);
    g_print ("%s", text->str);
    g_string_free (text, TRUE);
  }

  client = start_ok (devaddrd);
  rec = recovery_of (client);
  assert_all_held (client, present, rec);
  assert_recovery_int (rec, "snapshot_records", ==, golden.snapshot_records);
  assert_recovery_int (rec, "journal_records", ==, N_TAIL - n);
  assert_recovery_int (rec, "damaged_regions", ==, expected->len);
  assert_recovery_int (rec, "damaged_bytes", ==, damaged_bytes);
  assert_recovery_int (rec, "dropped_records", ==, dropped);
  assert_recovery_int (rec, "tail_bytes_cut", ==, tail_cut);
  assert_recovery_int (rec, "tail_records_cut", ==, 0);
  damage = json_object_get_array_member (rec, "damage");
  assert_recovery_cmp (rec, json_array_get_length (damage), ==, expected->len);
  for (guint k = 0; k < expected->len; k++) {
    const ExpectedDamage *want = &g_array_index (expected, ExpectedDamage, k);
    JsonObject *got = json_array_get_object_element (damage, k);

    assert_recovery (rec, g_strcmp0 (json_object_get_string_member (got, "file"), golden.segment) == 0);
    assert_recovery_cmp (rec, json_object_get_int_member (got, "offset"), ==, want->offset);
    assert_recovery_cmp (rec, json_object_get_int_member (got, "length"), ==, want->length);
    assert_recovery_cmp (rec, json_object_get_int_member (got, "records_lost"), ==, want->records_lost);
  }
  if (expected->len > 0) {
    assert_log_mentions (devaddrd, golden.segment);
    assert_log_mentions (devaddrd, "records dropped");
  }
  if (tail_cut > 0)
    assert_log_mentions (devaddrd, "torn tail");
  /* the daemon goes on writing, and the next start is a normal one (a new
   * snapshot folded the damage in) */
  address = reserve_after (client);
  g_clear_pointer (&client, da_test_client_free);
  restart_without_flag (devaddrd, present, N_SNAP, "after-the-damage", address);
}

START_TEST (test_journal_flip_middle)
{
  const guint records[] = { N_TAIL / 2 };

  check_journal_flips (records, G_N_ELEMENTS (records));
}
END_TEST

START_TEST (test_journal_flip_tail)
{
  const guint records[] = { N_TAIL - 1 };

  check_journal_flips (records, G_N_ELEMENTS (records));
}
END_TEST

/* neighbours: one damaged stretch of two records, and one record apart */
START_TEST (test_journal_flip_neighbours)
{
  const guint records[] = { N_TAIL / 3 - 1, N_TAIL / 3, N_TAIL / 2 };

  check_journal_flips (records, G_N_ELEMENTS (records));
}
END_TEST

START_TEST (test_journal_flip_several)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (golden.seed ^ 0x9e3779b9u);
  guint records[3];

  /* three different records before the last (neighbours now and then) */
  records[0] = (guint) g_rand_int_range (rand, 0, N_TAIL / 3);
  records[1] = (guint) g_rand_int_range (rand, N_TAIL / 3, 2 * N_TAIL / 3);
  records[2] = (guint) g_rand_int_range (rand, 2 * N_TAIL / 3, N_TAIL - 1);
  g_print ("journal flips in records %u, %u, %u\n", records[0], records[1], records[2]);
  check_journal_flips (records, G_N_ELEMENTS (records));
}
END_TEST

START_TEST (test_journal_segment_missing)
{
  g_autoptr (DaTestDaemon) devaddrd = daemon_on_copy (FALSE);
  g_autoptr (DaTestDaemon) lossy = daemon_on_copy (TRUE);
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (JsonObject) rec = NULL;
  g_autofree char *path = state_path (devaddrd, golden.segment);
  g_autofree char *lossy_path = state_path (lossy, golden.segment);
  g_autofree char *address = NULL;
  gboolean present[N_TAIL];
  JsonArray *damage;

  ck_assert (unlink (path) == 0);
  assert_refuses (devaddrd, golden.segment);
  ck_assert (unlink (lossy_path) == 0);
  client = start_ok (lossy);
  all_tail (present, FALSE);
  rec = recovery_of (client);
  assert_all_held (client, present, rec);
  assert_recovery_int (rec, "damaged_regions", ==, 1);
  damage = json_object_get_array_member (rec, "damage");
  assert_recovery_cmp (rec, json_array_get_length (damage), ==, 1);
  assert_recovery (rec, g_strcmp0 (json_object_get_string_member (json_array_get_object_element (damage, 0), "file"),
                                   golden.segment) == 0);
  assert_log_mentions (lossy, "is missing");
  address = reserve_after (client);
  g_clear_pointer (&client, da_test_client_free);
  restart_without_flag (lossy, present, N_SNAP, "after-the-damage", address);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the snapshot */

typedef enum {
  SNAPSHOT_TRUNCATED,
  SNAPSHOT_FLIPPED,
  SNAPSHOT_EMPTY,
  SNAPSHOT_DELETED,
} SnapshotDamage;

static void
damage_snapshot (DaTestDaemon *devaddrd, SnapshotDamage damage)
{
  g_autofree char *path = state_path (devaddrd, "snapshot");

  switch (damage) {
  case SNAPSHOT_TRUNCATED:
    truncate_file (devaddrd, "snapshot", golden.snapshot_size / 2);
    break;
  case SNAPSHOT_FLIPPED:
    flip_byte (devaddrd, "snapshot", golden.snapshot_size / 2);
    break;
  case SNAPSHOT_EMPTY:
    truncate_file (devaddrd, "snapshot", 0);
    break;
  case SNAPSHOT_DELETED:
    ck_assert (unlink (path) == 0);
    break;
  }
}

static void
check_snapshot_damage (SnapshotDamage damage)
{
  g_autoptr (DaTestDaemon) devaddrd = daemon_on_copy (FALSE);
  g_autoptr (DaTestDaemon) lossy = daemon_on_copy (TRUE);
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (JsonObject) rec = NULL;
  g_autofree char *address = NULL;
  gboolean present[N_TAIL];
  guint n_snap;

  damage_snapshot (devaddrd, damage);
  /* a deleted snapshot: the journal starts above nothing */
  assert_refuses (devaddrd, damage == SNAPSHOT_DELETED ? "there is no snapshot" : "/snapshot");

  damage_snapshot (lossy, damage);
  client = start_ok (lossy);
  all_tail (present, TRUE);
  rec = recovery_of (client);
  n_snap = check_held (client, present, 0, rec);
  assert_recovery_cmp (rec, n_snap, <, N_SNAP);
  assert_recovery_int (rec, "damaged_regions", >=, 1);
  assert_recovery_int (rec, "journal_records", ==, N_TAIL);
  if (damage != SNAPSHOT_DELETED)
    assert_recovery (rec, json_object_get_boolean_member (rec, "snapshot_damaged"));
  if (damage == SNAPSHOT_FLIPPED || damage == SNAPSHOT_TRUNCATED) {
    /* the header is intact: what was lost is known exactly */
    assert_recovery_cmp (rec, n_snap, >, 0);
    assert_recovery_cmp (rec, rec_int (rec, "snapshot_records") + rec_int (rec, "snapshot_records_lost"), ==,
                         golden.snapshot_records);
    assert_recovery_int (rec, "snapshot_records_lost", >=, N_SNAP - n_snap);
    assert_recovery_int (rec, "dropped_records", ==, rec_int (rec, "snapshot_records_lost"));
    if (damage == SNAPSHOT_FLIPPED) {
      assert_recovery_cmp (rec, n_snap, ==, N_SNAP - 1);
      assert_recovery_int (rec, "snapshot_records_lost", ==, 1);
    }
  } else {
    assert_recovery_cmp (rec, n_snap, ==, 0);
    assert_recovery_int (rec, "snapshot_records", ==, 0);
  }
  assert_log_mentions (lossy, "recovery: ");
  address = reserve_after (client);
  g_clear_pointer (&client, da_test_client_free);
  restart_without_flag (lossy, present, n_snap, "after-the-damage", address);
}

START_TEST (test_snapshot_truncated)
{
  check_snapshot_damage (SNAPSHOT_TRUNCATED);
}
END_TEST

START_TEST (test_snapshot_flipped)
{
  check_snapshot_damage (SNAPSHOT_FLIPPED);
}
END_TEST

START_TEST (test_snapshot_empty)
{
  check_snapshot_damage (SNAPSHOT_EMPTY);
}
END_TEST

START_TEST (test_snapshot_deleted)
{
  check_snapshot_damage (SNAPSHOT_DELETED);
}
END_TEST

START_TEST (test_snapshot_tmp_left_behind)
{
  g_autoptr (DaTestDaemon) devaddrd = daemon_on_copy (FALSE);
  g_autoptr (DaTestClient) client = NULL;
  g_autoptr (JsonObject) rec = NULL;
  g_autofree char *snapshot = state_path (devaddrd, "snapshot");
  g_autofree char *tmp = state_path (devaddrd, "snapshot.tmp");
  gboolean present[N_TAIL];

  /* a compaction the crash interrupted halfway */
  copy_file (snapshot, tmp);
  truncate_file (devaddrd, "snapshot.tmp", golden.snapshot_size / 2);
  client = start_ok (devaddrd);
  all_tail (present, TRUE);
  rec = recovery_of (client);
  assert_all_held (client, present, rec);
  assert_recovery (rec, json_object_get_boolean_member (rec, "removed_snapshot_tmp"));
  assert_recovery_int (rec, "damaged_regions", ==, 0);
  assert_recovery_int (rec, "dropped_records", ==, 0);
  assert_recovery (rec, !g_file_test (tmp, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST (test_intact)
{
  g_autoptr (DaTestDaemon) devaddrd = daemon_on_copy (FALSE);
  g_autoptr (DaTestClient) client = start_ok (devaddrd);
  g_autoptr (JsonObject) rec = recovery_of (client);
  gboolean present[N_TAIL];

  /* the baseline: nothing lost, nothing reported */
  all_tail (present, TRUE);
  assert_all_held (client, present, rec);
  assert_recovery_int (rec, "snapshot_records", ==, golden.snapshot_records);
  assert_recovery_int (rec, "journal_records", ==, N_TAIL);
  assert_recovery_int (rec, "tail_bytes_cut", ==, 0);
  assert_recovery_int (rec, "damaged_regions", ==, 0);
  assert_recovery_int (rec, "dropped_records", ==, 0);
  assert_recovery (rec, !json_object_get_boolean_member (rec, "snapshot_damaged"));
  assert_recovery (rec, !json_object_get_boolean_member (rec, "removed_snapshot_tmp"));
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("damage");
  TCase *journal = tcase_create ("journal");
  TCase *snapshot = tcase_create ("snapshot");
  const char *seed_env = g_getenv ("DA_DAMAGE_SEED");
  int exit_status;

  golden.seed = seed_env != NULL ? (guint32) g_ascii_strtoull (seed_env, NULL, 10) : g_random_int ();
  g_print ("damage test DA_DAMAGE_SEED=%u\n", golden.seed);
  golden.top = g_dir_make_tmp ("devaddr-damage-XXXXXX", NULL);
  golden.state = g_build_filename (golden.top, "state", NULL);
  {
    g_autofree char *facts = g_build_filename (golden.top, "facts", NULL);
    int status = 0;
    pid_t pid;

    /* in a child: GSubprocess starts GLib's worker thread, which the
     * forked test processes would not have, and they reap their own
     * daemons through it */
    pid = fork ();
    if (pid == 0) {
      make_golden ();
      save_golden (facts);
      _exit (0);
    }
    if (pid < 0 || waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
      g_error ("making the state failed");
    load_golden (facts);
  }

  tcase_add_test (journal, test_intact);
  tcase_add_test (journal, test_journal_cut_in_last_record);
  tcase_add_loop_test (journal, test_journal_cut_at_random, 0, 4);
  tcase_add_test (journal, test_journal_flip_middle);
  tcase_add_test (journal, test_journal_flip_tail);
  tcase_add_test (journal, test_journal_flip_neighbours);
  tcase_add_test (journal, test_journal_flip_several);
  tcase_add_test (journal, test_journal_segment_missing);
  suite_add_tcase (s, journal);
  tcase_add_test (snapshot, test_snapshot_truncated);
  tcase_add_test (snapshot, test_snapshot_flipped);
  tcase_add_test (snapshot, test_snapshot_empty);
  tcase_add_test (snapshot, test_snapshot_deleted);
  tcase_add_test (snapshot, test_snapshot_tmp_left_behind);
  suite_add_tcase (s, snapshot);
  exit_status = da_test_run_suite (s);
  if (g_getenv ("DA_TEST_KEEP") == NULL)
    da_test_rm_rf (golden.top);
  return exit_status;
}
