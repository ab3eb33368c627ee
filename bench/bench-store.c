/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-store: what durability costs, against baselines measured in the
 * same run on the same directory.
 *
 *   (a) the raw rate of "write 64 bytes + fdatasync" (the ceiling of any
 *       store that acknowledges one record per sync)
 *   (b) appends/s from one producer waiting for each completion, and with
 *       8 and 64 appends kept in flight (group commit), with records/sync
 *   (c) building, writing and recovering a snapshot of 1,000,000 records of
 *       60 bytes, and recovering the same number from the journal, against
 *       a plain read of the same file; time and peak RSS
 *
 * Usage: bench-store [--dir DIR] [--records N] [--seconds S]
 * The directory defaults to a fresh one under the current directory (so
 * that it sits on the disk being measured, not on a tmpfs).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/store/da-crc32c.h"
#include "daemon/store/da-store.h"

typedef struct {
  guint sent;
  guint done;
  guint failed;
} Flight;

static void
flight_done (guint64 seq, const GError *error, gpointer user_data)
{
  Flight *flight = user_data;

  flight->done++;
  if (error != NULL) {
    if (flight->failed++ == 0)
      g_printerr ("append %" G_GUINT64_FORMAT " failed: %s\n", seq, error->message);
  }
}

static gboolean
count_record (guint64 seq, const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  guint64 *n = user_data;

  (*n)++;
  return TRUE;
}

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* kB from /proc/self/status */
static long
proc_status_kb (const char *field)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, field);
  return line != NULL ? strtol (line + strlen (field) + 1, NULL, 10) : -1;
}

/* restart the peak-RSS counter, so that VmHWM measures only what follows */
static gboolean
reset_peak_rss (void)
{
  int fd = open ("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, "5", 1) == 1;
  close (fd);
  return ok;
}

static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);

    if (g_file_test (path, G_FILE_TEST_IS_DIR))
      remove_tree (path);
    else
      g_unlink (path);
  }
  g_rmdir (dir);
}

/* (a) */
static double
bench_raw_sync (const char *dir, double seconds, guint *count)
{
  g_autofree char *path = g_build_filename (dir, "raw-sync", NULL);
  guint8 buf[64];
  double start, elapsed;
  guint n = 0;
  int fd;

  memset (buf, 0xa5, sizeof buf);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    g_error ("cannot create %s: %s", path, g_strerror (errno));
  start = now ();
  do {
    if (pwrite (fd, buf, sizeof buf, (off_t) n * sizeof buf) != sizeof buf || fdatasync (fd) != 0)
      g_error ("raw write/fdatasync failed: %s", g_strerror (errno));
    n++;
    elapsed = now () - start;
  } while (elapsed < seconds || n < 20);
  close (fd);
  g_unlink (path);
  *count = n;
  return n / elapsed;
}

static DaStore *
open_store (const char *dir, guint64 *recovered, DaStoreRecovery *report)
{
  g_autoptr (GError) error = NULL;
  DaStore *store = da_store_open (dir, NULL, &error);
  guint64 n = 0;

  if (store == NULL || !da_store_recover (store, count_record, &n, report, &error))
    g_error ("%s", error->message);
  if (recovered != NULL)
    *recovered = n;
  return store;
}

/* (b) */
/* each scenario is measured right after a fresh baseline, so that a disk
 * whose speed drifts during the run (a shared VM) is compared with itself */
static void
bench_appends (const char *top, guint window, double seconds)
{
  g_autofree char *dir = g_strdup_printf ("%s/appends-%u", top, window);
  g_autoptr (GBytes) payload = NULL;
  g_autoptr (GError) error = NULL;
  guint8 data[60];
  DaStoreCounters counters;
  Flight flight = { 0 };
  double start, elapsed;
  DaStore *store;
  guint raw_count;
  double baseline = bench_raw_sync (top, seconds / 2, &raw_count);

  memset (data, 0x3c, sizeof data);
  payload = g_bytes_new (data, sizeof data);
  store = open_store (dir, NULL, NULL);
  if (!da_store_start (store, NULL, &error))
    g_error ("%s", error->message);
  start = now ();
  do {
    while (flight.sent - flight.done < window) {
      da_store_append (store, payload, flight_done, &flight);
      flight.sent++;
    }
    g_main_context_iteration (NULL, TRUE);
    elapsed = now () - start;
  } while (elapsed < seconds);
  while (flight.done < flight.sent)
    g_main_context_iteration (NULL, TRUE);
  elapsed = now () - start;
  da_store_get_counters (store, &counters);
  da_store_free (store);
  remove_tree (dir);

  printf ("  %2u in flight: %8.0f appends/s  %6.2f x raw sync rate (%5.0f/s just before)  %6" G_GUINT64_FORMAT
          " syncs  %5.1f records/sync  (largest group %" G_GUINT64_FORMAT ")%s\n",
          window, flight.done / elapsed, flight.done / elapsed / baseline, baseline, counters.groups,
          (double) counters.records_written / MAX (counters.groups, 1), counters.largest_group,
          flight.failed > 0 ? "  FAILURES" : "");
}

static void
snapshot_done (guint64 seq, const GError *error, gpointer user_data)
{
  gboolean *done = user_data;

  if (error != NULL)
    g_error ("snapshot failed: %s", error->message);
  *done = TRUE;
}

/* plain 1 MiB reads of a file (and a CRC-32C over them when crc is set):
 * the floors for recovering it */
static double
bench_read_file (const char *path, gboolean crc, gsize *size)
{
  g_autofree guint8 *buf = g_malloc (1024 * 1024);
  double start = now ();
  guint32 sum = 0;
  ssize_t n;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  *size = 0;
  if (fd < 0)
    g_error ("cannot open %s: %s", path, g_strerror (errno));
  while ((n = read (fd, buf, 1024 * 1024)) > 0) {
    *size += (gsize) n;
    if (crc)
      sum = da_crc32c (sum, buf, (gsize) n);
  }
  close (fd);
  if (crc && sum == 0x12345678)
    printf ("  (what are the odds)\n");
  return now () - start;
}

static void
report_recovery (const char *what, const char *dir, const char *file, guint64 records)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_auto (DaStoreRecovery) report = { 0 };
  gboolean hwm_reset;
  double read_time, crc_time, start, elapsed;
  long rss_before, hwm;
  guint64 n = 0;
  gsize size;
  DaStore *store;

  /* warm the page cache the same way for both, then compare */
  bench_read_file (path, FALSE, &size);
  read_time = bench_read_file (path, FALSE, &size);
  crc_time = bench_read_file (path, TRUE, &size);
  rss_before = proc_status_kb ("VmRSS:");
  hwm_reset = reset_peak_rss ();
  start = now ();
  store = open_store (dir, &n, &report);
  elapsed = now () - start;
  hwm = proc_status_kb ("VmHWM:");
  da_store_free (store);
  if (n != records)
    g_error ("recovered %" G_GUINT64_FORMAT " records, expected %" G_GUINT64_FORMAT, n, records);
  printf ("  recover from %-8s %8" G_GUINT64_FORMAT " records, %5.1f MB: %6.1f ms (%5.2f M records/s); "
          "%5.2f x a plain read (%.1f ms), %4.2f x read + CRC-32C (%.1f ms); peak RSS +%ld kB%s\n",
          what, n, size / 1e6, elapsed * 1e3, n / elapsed / 1e6, elapsed / read_time, read_time * 1e3,
          elapsed / crc_time, crc_time * 1e3, hwm - rss_before,
          hwm_reset ? "" : " (peak not resettable: whole-process figure)");
}

/* (c) */
static void
bench_recovery (const char *top, guint64 records)
{
  g_autofree char *dir = g_strdup_printf ("%s/recovery", top);
  g_autoptr (DaSnapshotBuilder) builder = NULL;
  g_autoptr (GBytes) packed = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *segment = NULL;
  Flight flight = { 0 };
  gboolean done = FALSE;
  DaStoreCounters counters;
  double start, build_time, write_time, append_time;
  guint8 data[60];
  DaStore *store;

  /* (c1) a snapshot of `records` records */
  store = open_store (dir, NULL, NULL);
  if (!da_store_start (store, NULL, &error))
    g_error ("%s", error->message);
  start = now ();
  builder = da_snapshot_builder_new (records * (sizeof data + 4));
  for (guint64 i = 0; i < records; i++) {
    guint8 *room = da_snapshot_builder_reserve (builder, sizeof data);

    memset (room, (int) (i & 0xff), sizeof data);
    memcpy (room, &i, sizeof i);
  }
  packed = da_snapshot_builder_steal (builder);
  build_time = now () - start;
  start = now ();
  da_store_snapshot (store, packed, snapshot_done, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  write_time = now () - start;
  da_store_free (store);
  printf ("  build a snapshot of %" G_GUINT64_FORMAT " records of %zu bytes on the main thread: %.1f ms\n", records,
          sizeof data, build_time * 1e3);
  printf ("  write it (frames, CRC, fsync, rename, directory fsync) on the writer thread: %.1f ms\n",
          write_time * 1e3);
  report_recovery ("snapshot", dir, "snapshot", records);
  remove_tree (dir);

  /* (c2) the same number of records in the journal */
  store = open_store (dir, NULL, NULL);
  if (!da_store_start (store, NULL, &error))
    g_error ("%s", error->message);
  memset (data, 0x5a, sizeof data);
  start = now ();
  {
    g_autoptr (GBytes) payload = g_bytes_new (data, sizeof data);

    while (flight.done < records) {
      while (flight.sent < records && flight.sent - flight.done < 100000) {
        da_store_append (store, payload, flight_done, &flight);
        flight.sent++;
      }
      g_main_context_iteration (NULL, TRUE);
    }
  }
  append_time = now () - start;
  da_store_get_counters (store, &counters);
  da_store_free (store);
  printf ("  append %" G_GUINT64_FORMAT " records with 100000 in flight: %.1f ms (%.2f M records/s, %" G_GUINT64_FORMAT
          " syncs)\n",
          records, append_time * 1e3, records / append_time / 1e6, counters.groups);
  segment = g_strdup ("journal.0000000000000000");
  report_recovery ("journal", dir, segment, records);
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_autofree char *dir_option = NULL;
  g_autofree char *top = NULL;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  gint64 records = 1000000;
  double seconds = 2.0;
  double baseline;
  guint raw_count;
  const GOptionEntry entries[] = {
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir_option, "directory to measure (default: a new one here)", "DIR" },
    { "records", 0, 0, G_OPTION_ARG_INT64, &records, "records for the recovery benchmark (1000000)", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "duration of each rate measurement (2)", "S" },
    { NULL },
  };

  context = g_option_context_new ("- benchmark the durable store");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  if (dir_option != NULL) {
    top = g_build_filename (dir_option, "bench-store.XXXXXX", NULL);
  } else {
    g_autofree char *cwd = g_get_current_dir ();

    top = g_build_filename (cwd, "bench-store.XXXXXX", NULL);
  }
  if (g_mkdtemp_full (top, 0700) == NULL) {
    g_printerr ("cannot create %s: %s\n", top, g_strerror (errno));
    return 1;
  }
  printf ("directory: %s\n", top);

  printf ("(a) baseline: write 64 bytes + fdatasync\n");
  baseline = bench_raw_sync (top, seconds, &raw_count);
  printf ("  %8.0f syncs/s (%u in %.1f s, %.3f ms each)\n", baseline, raw_count, seconds, 1e3 / baseline);

  printf ("(b) appends of 60-byte records, group commit\n");
  bench_appends (top, 1, seconds);
  bench_appends (top, 8, seconds);
  bench_appends (top, 64, seconds);

  printf ("(c) recovery\n");
  bench_recovery (top, (guint64) records);

  remove_tree (top);
  return 0;
}
