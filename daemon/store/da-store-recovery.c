/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Recovery: the snapshot, then every journal record above it, in order.
 *
 * Each file is mapped and checked in full before any of its records is
 * handed over, so that a damaged snapshot is refused before the caller has
 * seen half of it, and so that the records of an unacknowledged group at
 * the end of the journal (no COMMIT frame after them) are never handed over.
 * The second walk over a checked file reads only the frame lengths.  Pages
 * behind both walks are given back, so memory stays flat however large the
 * file is.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "da-store-format.h"
#include "da-store-private.h"

#define DA_STORE_RELEASE_STEP (8 * 1024 * 1024)

typedef struct {
  int fd;
  guint8 *data;
  gsize len;
  gsize released; /* pages below this offset were given back */
} DaStoreMapping;

static gboolean
mapping_open (DaStore *store, const char *name, int flags, DaStoreMapping *mapping, int *errsv)
{
  struct stat st;

  memset (mapping, 0, sizeof *mapping);
  mapping->fd = da_store_open_file (store, name, flags, errsv);
  if (mapping->fd < 0)
    return FALSE;
  if (fstat (mapping->fd, &st) != 0) {
    *errsv = errno;
    close (mapping->fd);
    return FALSE;
  }
  mapping->len = (gsize) st.st_size;
  if (mapping->len == 0)
    return TRUE;
  /* one mapping and no per-record system calls: the kernel reads ahead */
  mapping->data = mmap (NULL, mapping->len, PROT_READ, MAP_PRIVATE, mapping->fd, 0);
  if (mapping->data == MAP_FAILED) {
    *errsv = errno;
    mapping->data = NULL;
    close (mapping->fd);
    return FALSE;
  }
  madvise (mapping->data, mapping->len, MADV_SEQUENTIAL);
  return TRUE;
}

/* gives back the pages wholly below offset; they are read again from the
 * page cache if touched later */
static void
mapping_release (gsize offset, gpointer user_data)
{
  DaStoreMapping *mapping = user_data;
  gsize page = (gsize) sysconf (_SC_PAGESIZE);
  gsize upto = offset / page * page;

  if (mapping->data == NULL || upto <= mapping->released)
    return;
  madvise (mapping->data + mapping->released, upto - mapping->released, MADV_DONTNEED);
  mapping->released = upto;
}

/* after the checking walk: give back the rest and start counting again
 * for the walk that hands the records over */
static void
mapping_rewind (DaStoreMapping *mapping)
{
  if (mapping->data != NULL && mapping->len > mapping->released)
    madvise (mapping->data + mapping->released, mapping->len - mapping->released, MADV_DONTNEED);
  mapping->released = 0;
}

static void
mapping_unmap (DaStoreMapping *mapping)
{
  if (mapping->data != NULL)
    munmap (mapping->data, mapping->len);
  mapping->data = NULL;
}

static void
mapping_close (DaStoreMapping *mapping)
{
  mapping_unmap (mapping);
  if (mapping->fd >= 0)
    close (mapping->fd);
  mapping->fd = -1;
}

static void
damage_clear (gpointer data)
{
  g_free (((DaStoreDamage *) data)->file);
}

void
da_store_recovery_clear (DaStoreRecovery *report)
{
  g_clear_pointer (&report->damage, g_array_unref);
}

static void
report_damage (DaStoreRecovery *report, const char *file, guint64 offset, guint64 length, guint64 seq_before,
               guint64 seq_after, guint64 records_lost)
{
  DaStoreDamage damage = { g_strdup (file), offset, length, seq_before, seq_after, records_lost };

  g_array_append_val (report->damage, damage);
  report->damaged_bytes += length;
}

/* hands over the frames of the spans; with override every frame is handed
 * over as sequence seq, and frames at or below skip_upto are passed over */
static gboolean
deliver_spans (DaStoreMapping *mapping, GArray *spans, gboolean override, guint64 seq, guint64 skip_upto,
               DaStoreRecordFunc func, gpointer user_data, guint64 *delivered, GError **error)
{
  gsize next_release = DA_STORE_RELEASE_STEP;

  mapping_rewind (mapping);
  for (guint i = 0; i < spans->len; i++) {
    const DaStoreSpan *span = &g_array_index (spans, DaStoreSpan, i);
    gsize pos = span->start;

    while (pos < span->end) {
      DaStoreFrame frame;

      da_store_frame_peek (mapping->data + pos, &frame);
      if (frame.seq > skip_upto) {
        if (func != NULL &&
            !func (override ? seq : frame.seq, frame.payload, frame.len, user_data, error))
          return FALSE;
        (*delivered)++;
      }
      pos += DA_STORE_FRAME_HEADER_SIZE + frame.len;
      if (pos >= next_release) {
        mapping_release (pos, mapping);
        next_release = pos + DA_STORE_RELEASE_STEP;
      }
    }
  }
  return TRUE;
}

static gboolean
unsupported (DaStore *store, const char *name, guint32 version, GError **error)
{
  g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_UNSUPPORTED,
               "%s/%s has format version %u; this build reads version %u only", store->dir, name, version,
               DA_STORE_FORMAT_VERSION);
  return FALSE;
}

/* the oldest segment starts at or below the snapshot: otherwise the
 * records in between are gone */
static gboolean
check_journal_start (DaStore *store, GArray *bases, guint64 snapshot_seq, gboolean present,
                     DaStoreRecovery *report, GError **error)
{
  g_autofree char *name = NULL;
  guint64 first;

  if (bases->len == 0 || g_array_index (bases, guint64, 0) <= snapshot_seq)
    return TRUE;
  first = g_array_index (bases, guint64, 0);
  name = da_store_segment_name (first);
  if (!store->options.accept_data_loss) {
    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_CORRUPT,
                 "the journal of %s starts at %s but %s; refusing to start rather than lose records", store->dir,
                 name, present ? "the snapshot ends below it" : "there is no snapshot");
    return FALSE;
  }
  report_damage (report, DA_STORE_SNAPSHOT_NAME, 0, 0, snapshot_seq, first + 1, 0);
  return TRUE;
}

/* a snapshot covering seq is renamed into place only after journal.<seq>
 * was created and synced (or was the active segment already), so the
 * newest segment starts at seq or above; when none does, the segment with
 * the records after the snapshot is gone */
static gboolean
check_journal_end (DaStore *store, GArray *bases, guint64 snapshot_seq, DaStoreRecovery *report, GError **error)
{
  g_autofree char *name = NULL;

  if (bases->len > 0 && g_array_index (bases, guint64, bases->len - 1) >= snapshot_seq)
    return TRUE;
  name = da_store_segment_name (snapshot_seq);
  if (!store->options.accept_data_loss) {
    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_CORRUPT,
                 "journal segment %s/%s is missing (the snapshot ends at %" G_GUINT64_FORMAT
                 " and no segment starts there or later); refusing to start rather than lose records",
                 store->dir, name, snapshot_seq);
    return FALSE;
  }
  report_damage (report, name, 0, 0, snapshot_seq, 0, 0);
  return TRUE;
}

/* report->snapshot_seq: the sequence the snapshot covers; when neither its
 * header nor its trailer survived (accept_data_loss only) the base of the
 * oldest segment stands in for it */
static gboolean
recover_snapshot (DaStore *store, GArray *bases, DaStoreRecordFunc func, gpointer user_data,
                  DaStoreRecovery *report, gboolean *present, GError **error)
{
  DaStoreMapping mapping;
  DaStoreFileHeader header = { 0 }, trailer = { 0 };
  DaStoreHeaderStatus hs, ts = DA_STORE_HEADER_BAD;
  DaStoreScan scan;
  const char *problem = NULL;
  gsize frames_start, frames_end;
  gboolean header_ok, trailer_ok;
  guint32 version = 0;
  guint64 count;
  int errsv = 0;

  *present = FALSE;
  if (!mapping_open (store, DA_STORE_SNAPSHOT_NAME, O_RDONLY, &mapping, &errsv)) {
    if (errsv == ENOENT)
      return TRUE;
    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot read %s/" DA_STORE_SNAPSHOT_NAME ": %s",
                 store->dir, g_strerror (errsv));
    return FALSE;
  }
  *present = TRUE;
  report->bytes += mapping.len;

  hs = da_store_file_header_decode (DA_STORE_FILE_SNAPSHOT, mapping.data, mapping.len, &header, &version);
  if (hs == DA_STORE_HEADER_VERSION) {
    mapping_close (&mapping);
    return unsupported (store, DA_STORE_SNAPSHOT_NAME, version, error);
  }
  if (mapping.len >= 2 * DA_STORE_FILE_HEADER_SIZE)
    ts = da_store_file_header_decode (DA_STORE_FILE_SNAPSHOT_TRAILER,
                                      mapping.data + mapping.len - DA_STORE_FILE_HEADER_SIZE,
                                      DA_STORE_FILE_HEADER_SIZE, &trailer, &version);
  if (ts == DA_STORE_HEADER_VERSION) {
    mapping_close (&mapping);
    return unsupported (store, DA_STORE_SNAPSHOT_NAME, version, error);
  }
  header_ok = hs == DA_STORE_HEADER_OK;
  trailer_ok = ts == DA_STORE_HEADER_OK;
  if (!header_ok && trailer_ok)
    header = trailer;
  report->snapshot_seq = header.seq;
  count = header.count;
  frames_start = header_ok ? DA_STORE_FILE_HEADER_SIZE : 0;
  frames_end = trailer_ok ? mapping.len - DA_STORE_FILE_HEADER_SIZE : mapping.len;

  da_store_scan_init (&scan);
  da_store_scan (mapping.data, frames_end, frames_start, 0, &scan, mapping_release, &mapping);

  if (!header_ok && !trailer_ok)
    problem = "both its header and its trailer are damaged";
  else if (!header_ok)
    problem = "its header is damaged";
  else if (!trailer_ok)
    problem = "its trailer is missing or damaged (the file is truncated?)";
  else if (memcmp (&header, &trailer, sizeof header) != 0)
    problem = "its header and trailer disagree";
  else if (mapping.len != 2 * DA_STORE_FILE_HEADER_SIZE + header.bytes)
    problem = "its size does not match its header";
  else if (scan.gaps->len > 0)
    problem = "some of its records fail their checksum";
  else if (scan.n_frames != count || scan.last_seq != count)
    problem = "it holds a different number of records than its header says";

  if (problem != NULL && !store->options.accept_data_loss) {
    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_CORRUPT,
                 "snapshot %s/" DA_STORE_SNAPSHOT_NAME " is damaged: %s; refusing to start rather than lose "
                 "records (recovering with accept_data_loss keeps the intact ones)",
                 store->dir, problem);
    da_store_scan_clear (&scan);
    mapping_close (&mapping);
    return FALSE;
  }

  if (problem != NULL) {
    guint64 known_lost = 0;

    for (guint i = 0; i < scan.gaps->len; i++) {
      const DaStoreGap *gap = &g_array_index (scan.gaps, DaStoreGap, i);
      guint64 lost = 0;

      if (gap->seq_after != 0)
        lost = gap->seq_after - gap->seq_before - 1;
      else if ((header_ok || trailer_ok) && count > gap->seq_before)
        lost = count - gap->seq_before;
      known_lost += lost;
      report_damage (report, DA_STORE_SNAPSHOT_NAME, gap->offset, gap->length, gap->seq_before, gap->seq_after, lost);
    }
    if (header_ok || trailer_ok)
      report->snapshot_records_lost = count > scan.n_frames ? count - scan.n_frames : 0;
    else
      report->snapshot_records_lost = known_lost;
    if (scan.gaps->len == 0)
      report_damage (report, DA_STORE_SNAPSHOT_NAME, 0, 0, 0, 0, report->snapshot_records_lost);
    if (!header_ok && !trailer_ok)
      report->snapshot_seq = bases->len > 0 ? g_array_index (bases, guint64, 0) : 0;
  }

  if (!check_journal_start (store, bases, report->snapshot_seq, TRUE, report, error) ||
      ((header_ok || trailer_ok) && !check_journal_end (store, bases, report->snapshot_seq, report, error)) ||
      !deliver_spans (&mapping, scan.spans, TRUE, report->snapshot_seq, 0, func, user_data,
                      &report->snapshot_records, error)) {
    da_store_scan_clear (&scan);
    mapping_close (&mapping);
    return FALSE;
  }
  da_store_scan_clear (&scan);
  mapping_close (&mapping);
  return TRUE;
}

static gint
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

static gboolean
list_segments (DaStore *store, GArray *bases, GError **error)
{
  int fd = dup (store->dir_fd);
  struct dirent *entry;
  DIR *dir;

  dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL) {
    int errsv = errno;

    if (fd >= 0)
      close (fd);
    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot list %s: %s", store->dir, g_strerror (errsv));
    return FALSE;
  }
  rewinddir (dir);
  while ((entry = readdir (dir)) != NULL) {
    guint64 base;

    if (da_store_segment_name_parse (entry->d_name, &base))
      g_array_append_val (bases, base);
  }
  closedir (dir);
  g_array_sort (bases, compare_u64);
  return TRUE;
}

/* Each segment names the one before it: a missing one is found before any
 * record is handed over, so that refusing to start hands over nothing. */
static gboolean
check_segment_chain (DaStore *store, GArray *bases, DaStoreRecovery *report, GError **error)
{
  for (guint i = 1; i < bases->len; i++) {
    guint64 base = g_array_index (bases, guint64, i);
    guint64 prev = g_array_index (bases, guint64, i - 1);
    g_autofree char *name = da_store_segment_name (base);
    guint8 buf[DA_STORE_FILE_HEADER_SIZE];
    DaStoreFileHeader header;
    int errsv = 0;
    int fd = da_store_open_file (store, name, O_RDONLY, &errsv);
    ssize_t n;

    if (fd < 0) {
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot read %s/%s: %s", store->dir, name,
                   g_strerror (errsv));
      return FALSE;
    }
    do
      n = pread (fd, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    close (fd);
    /* a damaged header says nothing; recover_segment() reports it */
    if (n != (ssize_t) sizeof buf ||
        da_store_file_header_decode (DA_STORE_FILE_JOURNAL, buf, sizeof buf, &header, NULL) != DA_STORE_HEADER_OK ||
        header.seq != base || header.count == prev)
      continue;
    {
      g_autofree char *missing = da_store_segment_name (header.count);

      if (!store->options.accept_data_loss) {
        g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_CORRUPT,
                     "journal segment %s/%s is missing (%s follows it); refusing to start rather than lose records",
                     store->dir, missing, name);
        return FALSE;
      }
      report_damage (report, missing, 0, 0, 0, 0, 0);
    }
  }
  return TRUE;
}

/* a fresh header for the last segment when a crash interrupted its creation */
static gboolean
segment_rewrite_header (DaStore *store, int fd, guint64 base, guint64 prev_base, int *errsv)
{
  DaStoreFileHeader header = { .seq = base, .count = prev_base, .bytes = 0 };
  guint8 buf[DA_STORE_FILE_HEADER_SIZE];

  da_store_file_header_encode (DA_STORE_FILE_JOURNAL, &header, buf);
  if (ftruncate (fd, 0) != 0) {
    *errsv = errno;
    return FALSE;
  }
  if (!da_store_write_all (fd, buf, sizeof buf, 0, errsv))
    return FALSE;
  if (fdatasync (fd) != 0) {
    *errsv = errno;
    return FALSE;
  }
  return TRUE;
}

/* where the zeros at the end of [from, len) begin, when they are space
 * the writer kept ahead of the journal's end (journal-preallocate): such a
 * file ends at a multiple of DA_STORE_PREALLOC_ALIGN.  A torn write that
 * happens to end there with zeros is reported a few bytes short. */
static gsize
zeros_begin (const guint8 *data, gsize from, gsize len)
{
  if (len % DA_STORE_PREALLOC_ALIGN != 0)
    return len;
  while (len > from && len % 8 != 0 && data[len - 1] == 0)
    len--;
  while (len >= from + 8 && len % 8 == 0) {
    guint64 word;

    memcpy (&word, data + len - 8, 8);
    if (word != 0)
      break;
    len -= 8;
  }
  while (len > from && data[len - 1] == 0)
    len--;
  return len;
}

typedef struct {
  DaStoreRecordFunc func;
  gpointer user_data;
  DaStoreRecovery *report;
  guint64 snapshot_seq;
  guint64 last_seq;  /* the highest intact sequence seen in the journal so far */
  guint64 prev_base; /* the segment before, G_MAXUINT64 for the first */
} DaJournalWalk;

static gboolean
recover_segment (DaStore *store, DaJournalWalk *walk, guint64 base, gboolean last, GError **error)
{
  g_autofree char *name = da_store_segment_name (base);
  DaStoreMapping mapping;
  DaStoreFileHeader header;
  DaStoreHeaderStatus hs;
  DaStoreSegment segment = { base, 0 };
  DaStoreScan scan;
  guint32 version = 0;
  gboolean header_ok;
  gsize cut, end;
  int errsv = 0;

  if (!mapping_open (store, name, last ? O_RDWR : O_RDONLY, &mapping, &errsv)) {
    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot read %s/%s: %s", store->dir, name,
                 g_strerror (errsv));
    return FALSE;
  }
  walk->report->segments++;
  walk->report->bytes += mapping.len;

  hs = da_store_file_header_decode (DA_STORE_FILE_JOURNAL, mapping.data, mapping.len, &header, &version);
  if (hs == DA_STORE_HEADER_VERSION) {
    mapping_close (&mapping);
    return unsupported (store, name, version, error);
  }
  header_ok = hs == DA_STORE_HEADER_OK && header.seq == base;

  da_store_scan_init (&scan);
  /* a bad header is just more damage: look for intact frames from the start */
  da_store_scan (mapping.data, mapping.len, header_ok ? DA_STORE_FILE_HEADER_SIZE : 0, MAX (base, walk->last_seq),
                 &scan, mapping_release, &mapping);

  /* frames after the last COMMIT belong to a group that was never synced;
   * zeros after it are the space the writer keeps ahead of the end */
  cut = scan.commit_end;
  end = zeros_begin (mapping.data, cut, mapping.len);
  walk->report->bytes -= mapping.len - end;
  if (cut < mapping.len) {
    if (last && cut < end) {
      walk->report->tail_bytes_cut += end - cut;
      walk->report->tail_records_cut += scan.n_frames - scan.commit_frames;
    }
    da_store_scan_cut (&scan, cut, scan.commit_seq, scan.commit_frames, end, !last);
  }
  for (guint i = 0; i < scan.gaps->len; i++) {
    const DaStoreGap *gap = &g_array_index (scan.gaps, DaStoreGap, i);
    guint64 lost = 0;

    if (gap->seq_after > MAX (gap->seq_before, walk->snapshot_seq))
      lost = gap->seq_after - MAX (gap->seq_before, walk->snapshot_seq) - 1;
    report_damage (walk->report, name, gap->offset, gap->length, gap->seq_before, gap->seq_after, lost);
  }

  if (!deliver_spans (&mapping, scan.spans, FALSE, 0, walk->snapshot_seq, walk->func, walk->user_data,
                      &walk->report->journal_records, error)) {
    da_store_scan_clear (&scan);
    mapping_close (&mapping);
    return FALSE;
  }
  if (scan.n_frames > 0)
    walk->last_seq = MAX (walk->last_seq, scan.last_seq);
  segment.size = end;
  mapping_unmap (&mapping);

  if (last) {
    store->journal_allocated = mapping.len;
    /* the torn tail goes, so that appends continue right after the last
     * acknowledged group; a segment cut into its header starts over */
    if (cut < DA_STORE_FILE_HEADER_SIZE && scan.n_frames == 0) {
      if (!segment_rewrite_header (store, mapping.fd, base,
                                   walk->prev_base != G_MAXUINT64 ? walk->prev_base : base, &errsv))
        goto io_failed;
      segment.size = DA_STORE_FILE_HEADER_SIZE;
      store->journal_allocated = DA_STORE_FILE_HEADER_SIZE;
    } else if (cut < end) {
      if (ftruncate (mapping.fd, (off_t) cut) != 0 || fdatasync (mapping.fd) != 0) {
        errsv = errno;
        goto io_failed;
      }
      segment.size = cut;
      store->journal_allocated = cut;
    }
    store->journal_fd = mapping.fd;
    mapping.fd = -1;
  }
  g_array_append_val (store->segments, segment);
  walk->prev_base = base;
  da_store_scan_clear (&scan);
  mapping_close (&mapping);
  return TRUE;

io_failed:
  g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot repair the end of %s/%s: %s", store->dir, name,
               g_strerror (errsv));
  da_store_scan_clear (&scan);
  mapping_close (&mapping);
  return FALSE;
}

/**
 * da_store_recover:
 * @store: an open store, not yet started
 * @record_func: (nullable): called for every record, snapshot first
 * @user_data: for @record_func
 * @report: (out caller-allocates) (optional): what was found and repaired;
 *   clear it with da_store_recovery_clear()
 * @error: return location for a #GError
 *
 * Loads the snapshot and replays the journal above it.  A torn tail of the
 * last segment is cut; damage inside the journal is skipped over and
 * reported.  A damaged snapshot fails with %DA_STORE_ERROR_CORRUPT unless
 * the store was opened with accept_data_loss.  Must be called once, before
 * da_store_start().
 */
gboolean
da_store_recover (DaStore *store, DaStoreRecordFunc record_func, gpointer user_data, DaStoreRecovery *report,
                  GError **error)
{
  g_auto (DaStoreRecovery) local = { 0 };
  g_autoptr (GArray) bases = g_array_new (FALSE, FALSE, sizeof (guint64));
  DaJournalWalk walk = { record_func, user_data, NULL, 0, 0, G_MAXUINT64 };
  gint64 start = g_get_monotonic_time ();
  gboolean present;
  DaStoreSegment *active;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (!store->recovered && !store->closed && store->segments->len == 0, FALSE);

  if (report == NULL)
    report = &local;
  memset (report, 0, sizeof *report);
  report->damage = g_array_new (FALSE, FALSE, sizeof (DaStoreDamage));
  g_array_set_clear_func (report->damage, damage_clear);
  walk.report = report;

  /* a snapshot that was never renamed into place is garbage */
  if (unlinkat (store->dir_fd, DA_STORE_SNAPSHOT_TMP_NAME, 0) == 0) {
    report->removed_snapshot_tmp = TRUE;
  } else if (errno != ENOENT) {
    int errsv = errno;

    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot remove %s/" DA_STORE_SNAPSHOT_TMP_NAME ": %s",
                 store->dir, g_strerror (errsv));
    return FALSE;
  }
  if (!list_segments (store, bases, error))
    return FALSE;
  if (!check_segment_chain (store, bases, report, error))
    return FALSE;
  if (!recover_snapshot (store, bases, record_func, user_data, report, &present, error))
    return FALSE;
  walk.snapshot_seq = report->snapshot_seq;

  if (!present && !check_journal_start (store, bases, 0, FALSE, report, error))
    return FALSE;

  for (guint i = 0; i < bases->len; i++)
    if (!recover_segment (store, &walk, g_array_index (bases, guint64, i), i + 1 == bases->len, error))
      return FALSE;

  if (store->segments->len == 0) {
    DaStoreSegment segment = { report->snapshot_seq, DA_STORE_FILE_HEADER_SIZE };
    int errsv = 0;

    store->journal_fd = da_store_segment_create (store, segment.base, segment.base, &errsv);
    store->journal_allocated = DA_STORE_FILE_HEADER_SIZE;
    if (store->journal_fd < 0 || fdatasync (store->journal_fd) != 0 || fsync (store->dir_fd) != 0) {
      g_autofree char *name = da_store_segment_name (segment.base);

      if (errsv == 0)
        errsv = errno;
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot create %s/%s: %s", store->dir, name,
                   g_strerror (errsv));
      return FALSE;
    }
    g_array_append_val (store->segments, segment);
  }

  active = da_store_active_segment (store);
  report->last_seq = MAX (MAX (report->snapshot_seq, walk.last_seq), active->base);
  store->next_seq = report->last_seq + 1;
  store->counters.last_durable_seq = report->last_seq;
  store->counters.journal_segments = store->segments->len;
  for (guint i = 0; i < store->segments->len; i++)
    store->counters.journal_bytes += g_array_index (store->segments, DaStoreSegment, i).size;
  store->recovered = TRUE;
  report->duration_usec = g_get_monotonic_time () - start;
  return TRUE;
}

char *
da_store_recovery_describe (const DaStoreRecovery *report)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text,
                          "recovered %" G_GUINT64_FORMAT " snapshot records (up to %" G_GUINT64_FORMAT
                          ") and %" G_GUINT64_FORMAT " journal records from %u segments in %.1f ms",
                          report->snapshot_records, report->snapshot_seq, report->journal_records, report->segments,
                          report->duration_usec / 1000.0);
  if (report->tail_bytes_cut > 0)
    g_string_append_printf (text, "; cut a torn tail of %" G_GUINT64_FORMAT " bytes (%" G_GUINT64_FORMAT
                            " unacknowledged records)",
                            report->tail_bytes_cut, report->tail_records_cut);
  if (report->damage != NULL && report->damage->len > 0)
    g_string_append_printf (text, "; skipped %u damaged regions (%" G_GUINT64_FORMAT " bytes)", report->damage->len,
                            report->damaged_bytes);
  if (report->snapshot_records_lost > 0)
    g_string_append_printf (text, "; LOST %" G_GUINT64_FORMAT " snapshot records", report->snapshot_records_lost);
  if (report->removed_snapshot_tmp)
    g_string_append (text, "; removed an unfinished snapshot.tmp");
  return g_string_free (text, FALSE);
}
