/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store: opening and locking the state directory, the writer thread
 * (group commit, failure handling, snapshots and compaction) and the
 * main-thread API.  The byte format is described in da-store-format.c,
 * recovery lives in da-store-recovery.c.
 *
 * Threading: the main thread only queues items under a mutex and receives
 * completions from a GSource on its context; every write, sync, rename and
 * unlink happens on the one writer thread, which holds the mutex only to
 * take the queue and to hand back finished items.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "da-crc32c.h"
#include "da-store-format.h"
#include "da-store-private.h"

/* a group is cut at this many bytes so its buffer stays bounded; each
 * part still gets exactly one fdatasync */
#define DA_STORE_GROUP_MAX_BYTES (8 * 1024 * 1024)
/* snapshot.tmp is written in chunks of this size */
#define DA_STORE_SNAPSHOT_CHUNK (1024 * 1024)

typedef struct {
  GSource source;
  DaStore *store;
} DaStoreCompletionSource;

/* ------------------------------------------------------------------ */
/* helpers shared with recovery */

char *
da_store_segment_name (guint64 base)
{
  return g_strdup_printf (DA_STORE_SEGMENT_PREFIX "%016" G_GINT64_MODIFIER "x", base);
}

gboolean
da_store_segment_name_parse (const char *name, guint64 *base)
{
  const char *hex = name + strlen (DA_STORE_SEGMENT_PREFIX);
  guint64 value = 0;

  if (strlen (name) != DA_STORE_SEGMENT_NAME_LEN || !g_str_has_prefix (name, DA_STORE_SEGMENT_PREFIX))
    return FALSE;
  for (guint i = 0; i < 16; i++) {
    int digit = g_ascii_xdigit_value (hex[i]);

    /* only the lower-case form the store writes, so one base has one name */
    if (digit < 0 || g_ascii_isupper (hex[i]))
      return FALSE;
    value = (value << 4) | (guint64) digit;
  }
  *base = value;
  return TRUE;
}

int
da_store_open_file (DaStore *store, const char *name, int flags, int *errsv)
{
  int fd = openat (store->dir_fd, name, flags | O_CLOEXEC | O_NOFOLLOW, 0600);

  if (fd < 0) {
    *errsv = errno;
    return -1;
  }
  /* the umask may have taken bits away (or the file was made by hand) */
  if ((flags & (O_WRONLY | O_RDWR)) != 0 && fchmod (fd, 0600) != 0) {
    *errsv = errno;
    close (fd);
    return -1;
  }
  return fd;
}

gboolean
da_store_write_all (int fd, const guint8 *buf, gsize len, guint64 offset, int *errsv)
{
  while (len > 0) {
    ssize_t n = pwrite (fd, buf, MIN (len, (gsize) G_MAXSSIZE), (off_t) offset);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      *errsv = errno;
      return FALSE;
    }
    if (n == 0) {
      *errsv = EIO;
      return FALSE;
    }
    buf += n;
    len -= (gsize) n;
    offset += (guint64) n;
  }
  return TRUE;
}

int
da_store_segment_create (DaStore *store, guint64 base, guint64 prev_base, int *errsv)
{
  g_autofree char *name = da_store_segment_name (base);
  DaStoreFileHeader header = { .seq = base, .count = prev_base, .bytes = 0 };
  guint8 buf[DA_STORE_FILE_HEADER_SIZE];
  int fd;

  fd = da_store_open_file (store, name, O_RDWR | O_CREAT | O_EXCL, errsv);
  if (fd < 0)
    return -1;
  da_store_file_header_encode (DA_STORE_FILE_JOURNAL, &header, buf);
  if (!da_store_write_all (fd, buf, sizeof buf, 0, errsv)) {
    close (fd);
    unlinkat (store->dir_fd, name, 0);
    return -1;
  }
  return fd;
}

DaStoreSegment *
da_store_active_segment (DaStore *store)
{
  g_assert (store->segments->len > 0);
  return &g_array_index (store->segments, DaStoreSegment, store->segments->len - 1);
}

static guint64
store_journal_bytes (DaStore *store)
{
  guint64 total = 0;

  for (guint i = 0; i < store->segments->len; i++)
    total += g_array_index (store->segments, DaStoreSegment, i).size;
  return total;
}

/* ------------------------------------------------------------------ */
/* items */

static DaStoreItem *
store_item_new (DaStoreItemKind kind, guint64 seq, GBytes *bytes, DaStoreDoneFunc done, gpointer user_data)
{
  DaStoreItem *item = g_new0 (DaStoreItem, 1);

  item->kind = kind;
  item->seq = seq;
  item->bytes = g_bytes_ref (bytes);
  item->done = done;
  item->user_data = user_data;
  return item;
}

static void
store_item_free (DaStoreItem *item)
{
  g_bytes_unref (item->bytes);
  g_clear_error (&item->error);
  g_free (item);
}

/* ------------------------------------------------------------------ */
/* open and lock */

static DaStore *
store_new (const char *dir, const DaStoreOptions *options)
{
  DaStore *store = g_new0 (DaStore, 1);

  store->dir = g_strdup (dir);
  if (options != NULL)
    store->options = *options;
  store->dir_fd = -1;
  store->lock_fd = -1;
  store->journal_fd = -1;
  store->next_seq = 1;
  store->segments = g_array_new (FALSE, FALSE, sizeof (DaStoreSegment));
  store->group_buf = g_byte_array_new ();
  g_mutex_init (&store->mutex);
  g_cond_init (&store->cond);
  g_queue_init (&store->queue);
  g_queue_init (&store->completed);
  store->accepting = TRUE;
  store->generation = 1;
  return store;
}

static gboolean
store_make_dir (const char *dir, GError **error)
{
  GStatBuf st;

  if (g_stat (dir, &st) == 0) {
    if (!S_ISDIR (st.st_mode)) {
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "state directory %s is not a directory", dir);
      return FALSE;
    }
    return TRUE;
  }
  /* missing parents too, each 0700 whatever the umask: under a umask of
   * 0277 a parent made 0500 would refuse the next level to anyone but root */
  {
    g_autofree char *parent = g_path_get_dirname (dir);

    if (strcmp (parent, dir) != 0 && g_stat (parent, &st) != 0 && errno == ENOENT
        && !store_make_dir (parent, error))
      return FALSE;
  }
  if ((g_mkdir (dir, 0700) != 0 && errno != EEXIST) || g_chmod (dir, 0700) != 0) {
    int errsv = errno;

    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot create state directory %s: %s", dir,
                 g_strerror (errsv));
    return FALSE;
  }
  /* the new directory's own entry must survive a crash too, or every
   * record written into it could vanish with it */
  {
    g_autofree char *parent = g_path_get_dirname (dir);
    int fd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || fsync (fd) != 0) {
      int errsv = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot sync %s after creating %s: %s", parent, dir,
                   g_strerror (errsv));
      return FALSE;
    }
    close (fd);
  }
  return TRUE;
}

/* the pid written into the lock file by its holder, or 0 */
static long
store_lock_holder (int fd)
{
  char text[32];
  ssize_t n = pread (fd, text, sizeof text - 1, 0);
  char *end;
  long pid;

  if (n <= 0)
    return 0;
  text[n] = '\0';
  pid = strtol (text, &end, 10);
  return (end != text && pid > 0) ? pid : 0;
}

static gboolean
store_lock (DaStore *store, GError **error)
{
  /* an open file description lock: a second open conflicts even within the
   * same process, and the kernel drops it when the holder dies */
  struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
  g_autofree char *pid_text = NULL;
  int errsv = 0;

  store->lock_fd = da_store_open_file (store, DA_STORE_LOCK_NAME, O_RDWR | O_CREAT, &errsv);
  if (store->lock_fd < 0) {
    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot open %s/" DA_STORE_LOCK_NAME ": %s",
                 store->dir, g_strerror (errsv));
    return FALSE;
  }
  if (fcntl (store->lock_fd, F_OFD_SETLK, &lock) != 0) {
    long holder;

    errsv = errno;
    if (errsv != EAGAIN && errsv != EACCES) {
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot lock %s/" DA_STORE_LOCK_NAME ": %s",
                   store->dir, g_strerror (errsv));
      return FALSE;
    }
    holder = store_lock_holder (store->lock_fd);
    if (holder > 0)
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_LOCKED,
                   "state directory %s is in use by another process (pid %ld)", store->dir, holder);
    else
      g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_LOCKED,
                   "state directory %s is in use by another process", store->dir);
    return FALSE;
  }
  pid_text = g_strdup_printf ("%ld\n", (long) getpid ());
  if (ftruncate (store->lock_fd, 0) != 0 ||
      !da_store_write_all (store->lock_fd, (const guint8 *) pid_text, strlen (pid_text), 0, &errsv)) {
    if (errsv == 0)
      errsv = errno;
    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot write %s/" DA_STORE_LOCK_NAME ": %s",
                 store->dir, g_strerror (errsv));
    return FALSE;
  }
  return TRUE;
}

/**
 * da_store_open:
 * @dir: the state directory; created with mode 0700 when missing
 * @options: (nullable): options, or %NULL for the defaults
 * @error: return location for a #GError
 *
 * Opens and locks the state directory.  Fails with %DA_STORE_ERROR_LOCKED
 * while another process or another #DaStore holds it.  Nothing is read
 * until da_store_recover().
 *
 * Returns: (transfer full): the store, or %NULL
 */
DaStore *
da_store_open (const char *dir, const DaStoreOptions *options, GError **error)
{
  g_autoptr (DaStore) store = NULL;

  g_return_val_if_fail (dir != NULL && *dir != '\0', NULL);

  store = store_new (dir, options);
  if (!store_make_dir (dir, error))
    return NULL;
  store->dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (store->dir_fd < 0) {
    int errsv = errno;

    g_set_error (error, DA_STORE_ERROR, DA_STORE_ERROR_IO, "cannot open state directory %s: %s", dir,
                 g_strerror (errsv));
    return NULL;
  }
  if (!store_lock (store, error))
    return NULL;
  return g_steal_pointer (&store);
}

const char *
da_store_get_dir (DaStore *store)
{
  return store->dir;
}

/* ------------------------------------------------------------------ */
/* the writer thread */

const char *
da_store_fault_point_to_string (DaStoreFaultPoint point)
{
  static const char *const names[] = {
    [DA_STORE_FAULT_JOURNAL_WRITE] = "journal-write",
    [DA_STORE_FAULT_JOURNAL_SYNC] = "journal-sync",
    [DA_STORE_FAULT_JOURNAL_TRUNCATE] = "journal-truncate",
    [DA_STORE_FAULT_SEGMENT_CREATE] = "segment-create",
    [DA_STORE_FAULT_SEGMENT_SYNC] = "segment-sync",
    [DA_STORE_FAULT_SNAPSHOT_WRITE] = "snapshot-write",
    [DA_STORE_FAULT_SNAPSHOT_SYNC] = "snapshot-sync",
    [DA_STORE_FAULT_SNAPSHOT_RENAME] = "snapshot-rename",
    [DA_STORE_FAULT_SNAPSHOT_DIR_SYNC] = "snapshot-dir-sync",
    [DA_STORE_FAULT_SEGMENT_DELETE] = "segment-delete",
    [DA_STORE_FAULT_SEGMENT_DELETE_SYNC] = "segment-delete-sync",
  };

  return (guint) point < G_N_ELEMENTS (names) ? names[point] : "unknown";
}

/* 0 to go on; otherwise the errno the step fails with (a crash fails it
 * too, and stops the writer's disk activity for good) */
static int
writer_fault (DaStore *store, DaStoreFaultPoint point)
{
  DaStoreFaultFunc func;
  gpointer data;
  int fault;

  g_mutex_lock (&store->mutex);
  func = store->fault_func;
  data = store->fault_data;
  g_mutex_unlock (&store->mutex);
  if (func == NULL)
    return 0;
  fault = func (point, data);
  if (fault == DA_STORE_FAULT_CRASH) {
    store->crashed = TRUE;
    return EIO;
  }
  return fault;
}

static gboolean
writer_step (DaStore *store, DaStoreFaultPoint point, int *errsv)
{
  int fault = writer_fault (store, point);

  if (fault != 0) {
    *errsv = fault;
    return FALSE;
  }
  return TRUE;
}

/* a write that the fault hook can cut in half, as a full disk or a crash would */
static gboolean
writer_write (DaStore *store, DaStoreFaultPoint point, int fd, const guint8 *buf, gsize len, guint64 offset,
              int *errsv)
{
  int fault = writer_fault (store, point);

  if (fault != 0) {
    int ignored;

    da_store_write_all (fd, buf, len / 2, offset, &ignored);
    *errsv = fault;
    return FALSE;
  }
  return da_store_write_all (fd, buf, len, offset, errsv);
}

static gboolean
writer_sync (DaStore *store, DaStoreFaultPoint point, int fd, gboolean data_only, int *errsv)
{
  if (!writer_step (store, point, errsv))
    return FALSE;
  if ((data_only ? fdatasync (fd) : fsync (fd)) != 0) {
    *errsv = errno;
    return FALSE;
  }
  return TRUE;
}

/* hands finished items to the main context, in the order given */
static void
writer_deliver (DaStore *store, GQueue *finished)
{
  if (finished->length == 0)
    return;
  g_mutex_lock (&store->mutex);
  for (GList *l = finished->head; l != NULL; l = l->next) {
    DaStoreItem *item = l->data;

    if (item->kind == DA_STORE_ITEM_RECORD && item->error != NULL)
      store->counters.records_failed++;
    else if (item->kind == DA_STORE_ITEM_SNAPSHOT && item->error != NULL)
      store->counters.snapshot_failures++;
  }
  /* splice the whole list on, keeping the order */
  if (store->completed.tail != NULL) {
    store->completed.tail->next = finished->head;
    finished->head->prev = store->completed.tail;
  } else {
    store->completed.head = finished->head;
  }
  store->completed.tail = finished->tail;
  store->completed.length += finished->length;
  g_queue_init (finished);
  g_mutex_unlock (&store->mutex);
  /* thread-safe: wakes the main context, which then dispatches */
  g_source_set_ready_time (store->completion_source, 0);
}

static gboolean
writer_item_failed (DaStore *store, DaStoreItem *item)
{
  gboolean failed;

  g_mutex_lock (&store->mutex);
  failed = item->generation <= store->failed_generation;
  if (failed)
    item->error = g_error_new (DA_STORE_ERROR, DA_STORE_ERROR_UNAVAILABLE,
                               "%s %" G_GUINT64_FORMAT " not written: the store failed earlier (%s)",
                               item->kind == DA_STORE_ITEM_RECORD ? "record" : "snapshot at", item->seq,
                               store->failure != NULL ? store->failure->message : "unknown error");
  g_mutex_unlock (&store->mutex);
  return failed;
}

/* cut whatever a failed write left past the durable size */
static gboolean
writer_truncate_journal (DaStore *store, int *errsv)
{
  DaStoreSegment *active = da_store_active_segment (store);

  if (!writer_step (store, DA_STORE_FAULT_JOURNAL_TRUNCATE, errsv))
    return FALSE;
  if (ftruncate (store->journal_fd, (off_t) active->size) != 0 || fdatasync (store->journal_fd) != 0) {
    *errsv = errno;
    return FALSE;
  }
  store->journal_allocated = active->size;
  store->journal_needs_truncate = FALSE;
  return TRUE;
}

/*
 * Zeros ahead of the journal's end, written and synced between groups:
 * an append that extends a file makes its fdatasync flush the new size
 * and extents through the filesystem's journal as well, one that
 * overwrites blocks the file has flushes the data alone.  Recovery takes
 * a tail of zeros after the last group for this space, not for damage;
 * a clean close and a new segment give it back.  Failing (a full disk)
 * costs nothing but the speed-up: the space is given back, and asked for
 * again only a chunk later.
 */
static void
writer_preallocate (DaStore *store)
{
  static const guint8 zeros[64 * 1024];
  guint64 chunk = store->options.preallocate_bytes;
  DaStoreSegment *active;
  guint64 from, to;
  gboolean failed;
  int errsv = 0;

  g_mutex_lock (&store->mutex);
  failed = store->counters.failed;
  g_mutex_unlock (&store->mutex);
  /* extended by the whole amount once less than a quarter is left; not
   * while the store is failed, when nothing more is written */
  if (chunk == 0 || failed || store->crashed || store->journal_fd < 0 || store->journal_needs_truncate || store->segments->len == 0)
    return;
  active = da_store_active_segment (store);
  from = MAX (store->journal_allocated, active->size);
  if (from >= active->size + chunk / 4 || active->size < store->prealloc_retry_at)
    return;
  to = (from + chunk + DA_STORE_PREALLOC_ALIGN - 1) / DA_STORE_PREALLOC_ALIGN * DA_STORE_PREALLOC_ALIGN;
  for (guint64 at = from; at < to; at += sizeof zeros)
    if (!da_store_write_all (store->journal_fd, zeros, MIN (sizeof zeros, to - at), at, &errsv))
      break;
  if (errsv == 0 && fdatasync (store->journal_fd) != 0)
    errsv = errno;
  if (errsv != 0) {
    g_debug ("store %s: no space ahead of the journal (%s); appending", store->dir, g_strerror (errsv));
    if (ftruncate (store->journal_fd, (off_t) from) != 0)
      return;
    store->prealloc_retry_at = active->size + chunk;
    return;
  }
  store->journal_allocated = to;
}

/* the active segment's file back to its durable size: what a clean close
 * leaves, and what a segment no longer written to keeps */
static void
journal_give_back (DaStore *store, int fd, guint64 size)
{
  if (fd >= 0 && !store->crashed && store->journal_allocated > size && ftruncate (fd, (off_t) size) == 0)
    store->journal_allocated = size;
}

static void
writer_enter_failed (DaStore *store, const GError *error)
{
  g_mutex_lock (&store->mutex);
  store->failed_generation = store->generation;
  g_clear_error (&store->failure);
  store->failure = g_error_copy (error);
  store->counters.failures++;
  store->counters.failed = TRUE;
  g_mutex_unlock (&store->mutex);
}

/* after a simulated crash nothing completes, as nothing would */
static void
writer_drop_group (GPtrArray *group)
{
  for (guint i = 0; i < group->len; i++)
    store_item_free (group->pdata[i]);
  g_ptr_array_set_size (group, 0);
}

/* writes one group with one fdatasync; every item ends up in finished,
 * except after a simulated crash, when they are dropped */
static void
writer_commit_group (DaStore *store, GPtrArray *group, GQueue *finished)
{
  DaStoreSegment *active = da_store_active_segment (store);
  g_autoptr (GError) error = NULL;
  const char *what = NULL;
  int errsv = 0;
  gsize len;

  if (group->len == 0)
    return;

  g_byte_array_set_size (store->group_buf, 0);
  for (guint i = 0; i < group->len; i++) {
    DaStoreItem *item = group->pdata[i];
    gsize payload_len;
    const guint8 *payload = g_bytes_get_data (item->bytes, &payload_len);
    guint at = store->group_buf->len;

    g_byte_array_set_size (store->group_buf, at + DA_STORE_FRAME_HEADER_SIZE + payload_len);
    da_store_frame_header_encode (store->group_buf->data + at, item->seq,
                                  i + 1 == group->len ? DA_STORE_FRAME_COMMIT : 0, payload, payload_len);
    if (payload_len > 0)
      memcpy (store->group_buf->data + at + DA_STORE_FRAME_HEADER_SIZE, payload, payload_len);
  }
  len = store->group_buf->len;

  if (store->journal_needs_truncate && !writer_truncate_journal (store, &errsv))
    what = "truncate";
  else if (!writer_write (store, DA_STORE_FAULT_JOURNAL_WRITE, store->journal_fd, store->group_buf->data, len,
                          active->size, &errsv))
    what = "write";
  else if (!writer_sync (store, DA_STORE_FAULT_JOURNAL_SYNC, store->journal_fd, TRUE, &errsv))
    what = "fdatasync";

  if (store->crashed) {
    writer_drop_group (group);
    return;
  }

  if (what == NULL) {
    active->size += len;
    g_mutex_lock (&store->mutex);
    store->counters.groups++;
    store->counters.records_written += group->len;
    store->counters.largest_group = MAX (store->counters.largest_group, group->len);
    store->last_group_size = group->len;
    store->counters.bytes_written += len;
    store->counters.journal_bytes = store_journal_bytes (store);
    store->counters.last_durable_seq = ((DaStoreItem *) group->pdata[group->len - 1])->seq;
    g_mutex_unlock (&store->mutex);
  } else {
    g_autofree char *name = da_store_segment_name (active->base);

    error = g_error_new (DA_STORE_ERROR, DA_STORE_ERROR_UNAVAILABLE, "cannot %s journal %s/%s: %s", what,
                         store->dir, name, g_strerror (errsv));
    writer_enter_failed (store, error);
    /* nothing of the failed group may stay on disk: the caller rolls it back */
    store->journal_needs_truncate = TRUE;
    writer_truncate_journal (store, &errsv);
    if (store->crashed) {
      writer_drop_group (group);
      return;
    }
  }

  for (guint i = 0; i < group->len; i++) {
    DaStoreItem *item = group->pdata[i];

    if (error != NULL)
      item->error = g_error_copy (error);
    g_queue_push_tail (finished, item);
  }
  g_ptr_array_set_size (group, 0);
}

typedef struct {
  DaStore *store;
  int fd;
  GByteArray *chunk;
  guint64 offset;
  guint64 ordinal;
  int errsv;
} DaSnapshotWriter;

static gboolean
snapshot_writer_flush (DaSnapshotWriter *w)
{
  if (w->chunk->len == 0)
    return TRUE;
  if (!writer_write (w->store, DA_STORE_FAULT_SNAPSHOT_WRITE, w->fd, w->chunk->data, w->chunk->len, w->offset,
                     &w->errsv))
    return FALSE;
  w->offset += w->chunk->len;
  g_byte_array_set_size (w->chunk, 0);
  return TRUE;
}

static gboolean
snapshot_writer_add (const guint8 *data, gsize len, gpointer user_data)
{
  DaSnapshotWriter *w = user_data;
  guint at = w->chunk->len;

  g_byte_array_set_size (w->chunk, at + DA_STORE_FRAME_HEADER_SIZE + len);
  da_store_frame_header_encode (w->chunk->data + at, ++w->ordinal, 0, data, len);
  if (len > 0)
    memcpy (w->chunk->data + at + DA_STORE_FRAME_HEADER_SIZE, data, len);
  if (w->chunk->len >= DA_STORE_SNAPSHOT_CHUNK)
    return snapshot_writer_flush (w);
  return TRUE;
}

/* a new active segment with base seq; the old one stays until a snapshot
 * covering it is durable */
static gboolean
writer_rotate (DaStore *store, guint64 seq, int *errsv, const char **what)
{
  DaStoreSegment *active = da_store_active_segment (store);
  DaStoreSegment segment = { seq, DA_STORE_FILE_HEADER_SIZE };
  g_autofree char *name = da_store_segment_name (seq);
  int fd;

  *what = "create the new journal segment";
  if (!writer_step (store, DA_STORE_FAULT_SEGMENT_CREATE, errsv))
    return FALSE;
  fd = da_store_segment_create (store, seq, active->base, errsv);
  if (fd < 0)
    return FALSE;
  *what = "sync the new journal segment";
  if (!writer_sync (store, DA_STORE_FAULT_SEGMENT_SYNC, fd, TRUE, errsv) || fsync (store->dir_fd) != 0) {
    if (*errsv == 0)
      *errsv = errno;
    close (fd);
    if (!store->crashed)
      unlinkat (store->dir_fd, name, 0);
    return FALSE;
  }
  journal_give_back (store, store->journal_fd, active->size);
  close (store->journal_fd);
  store->journal_fd = fd;
  store->journal_allocated = DA_STORE_FILE_HEADER_SIZE;
  store->prealloc_retry_at = 0;
  g_array_append_val (store->segments, segment);
  return TRUE;
}

/* deletes the segments a durable snapshot at seq covers */
static void
writer_delete_segments (DaStore *store, guint64 seq)
{
  int errsv = 0;

  if (!writer_step (store, DA_STORE_FAULT_SEGMENT_DELETE, &errsv)) {
    if (!store->crashed)
      g_warning ("cannot delete journal segments in %s: %s", store->dir, g_strerror (errsv));
    return;
  }
  while (store->segments->len > 1 && g_array_index (store->segments, DaStoreSegment, 0).base < seq) {
    g_autofree char *name = da_store_segment_name (g_array_index (store->segments, DaStoreSegment, 0).base);

    if (unlinkat (store->dir_fd, name, 0) != 0 && errno != ENOENT) {
      errsv = errno;
      g_warning ("cannot delete %s/%s: %s", store->dir, name, g_strerror (errsv));
      break;
    }
    g_array_remove_index (store->segments, 0);
  }
  if (!writer_sync (store, DA_STORE_FAULT_SEGMENT_DELETE_SYNC, store->dir_fd, FALSE, &errsv) && !store->crashed)
    g_warning ("cannot sync %s: %s", store->dir, g_strerror (errsv));
}

static void
writer_snapshot (DaStore *store, DaStoreItem *item)
{
  gsize packed_len;
  const guint8 *packed = g_bytes_get_data (item->bytes, &packed_len);
  DaSnapshotWriter w = { store, -1, NULL, 0, 0, 0 };
  DaStoreFileHeader header = { .seq = item->seq };
  guint8 head[DA_STORE_FILE_HEADER_SIZE];
  const char *what = NULL;
  gboolean renamed = FALSE;
  int errsv = 0;

  if (!da_snapshot_packed_foreach (packed, packed_len, NULL, NULL, &header.count, &item->error))
    return;
  header.bytes = packed_len + header.count * (DA_STORE_FRAME_HEADER_SIZE - 4);

  /* the old segment must end on an intact record before it stops being the last */
  if (store->journal_needs_truncate && !writer_truncate_journal (store, &errsv))
    what = "truncate the journal";
  else if (item->seq > da_store_active_segment (store)->base)
    writer_rotate (store, item->seq, &errsv, &what);
  if (errsv != 0)
    goto failed;

  what = "create " DA_STORE_SNAPSHOT_TMP_NAME;
  unlinkat (store->dir_fd, DA_STORE_SNAPSHOT_TMP_NAME, 0);
  w.fd = da_store_open_file (store, DA_STORE_SNAPSHOT_TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC, &errsv);
  if (w.fd < 0)
    goto failed;
  what = "write " DA_STORE_SNAPSHOT_TMP_NAME;
  w.chunk = g_byte_array_sized_new (DA_STORE_SNAPSHOT_CHUNK + 4096);
  da_store_file_header_encode (DA_STORE_FILE_SNAPSHOT, &header, head);
  g_byte_array_append (w.chunk, head, sizeof head);
  if (!da_snapshot_packed_foreach (packed, packed_len, snapshot_writer_add, &w, NULL, NULL)) {
    errsv = w.errsv;
    goto failed;
  }
  da_store_file_header_encode (DA_STORE_FILE_SNAPSHOT_TRAILER, &header, head);
  g_byte_array_append (w.chunk, head, sizeof head);
  if (!snapshot_writer_flush (&w)) {
    errsv = w.errsv;
    goto failed;
  }
  what = "fsync " DA_STORE_SNAPSHOT_TMP_NAME;
  if (!writer_sync (store, DA_STORE_FAULT_SNAPSHOT_SYNC, w.fd, FALSE, &errsv))
    goto failed;
  close (w.fd);
  w.fd = -1;
  what = "rename " DA_STORE_SNAPSHOT_TMP_NAME;
  if (!writer_step (store, DA_STORE_FAULT_SNAPSHOT_RENAME, &errsv))
    goto failed;
  if (renameat (store->dir_fd, DA_STORE_SNAPSHOT_TMP_NAME, store->dir_fd, DA_STORE_SNAPSHOT_NAME) != 0) {
    errsv = errno;
    goto failed;
  }
  /* until the directory is synced the rename may be lost: then the old
   * snapshot and the old segments are still there, which is why they stay */
  renamed = TRUE;
  what = "sync the directory";
  if (!writer_sync (store, DA_STORE_FAULT_SNAPSHOT_DIR_SYNC, store->dir_fd, FALSE, &errsv))
    goto failed;

  g_byte_array_unref (w.chunk);
  writer_delete_segments (store, item->seq);
  if (store->crashed)
    return;
  g_mutex_lock (&store->mutex);
  store->counters.snapshots++;
  store->counters.journal_bytes = store_journal_bytes (store);
  store->counters.journal_segments = store->segments->len;
  g_mutex_unlock (&store->mutex);
  return;

failed:
  if (w.fd >= 0)
    close (w.fd);
  if (w.chunk != NULL)
    g_byte_array_unref (w.chunk);
  if (store->crashed)
    return;
  /* a renamed snapshot cannot be taken back; an unrenamed one is garbage */
  if (!renamed)
    unlinkat (store->dir_fd, DA_STORE_SNAPSHOT_TMP_NAME, 0);
  g_mutex_lock (&store->mutex);
  store->counters.journal_bytes = store_journal_bytes (store);
  store->counters.journal_segments = store->segments->len;
  g_mutex_unlock (&store->mutex);
  item->error = g_error_new (DA_STORE_ERROR, DA_STORE_ERROR_UNAVAILABLE,
                             "snapshot at %" G_GUINT64_FORMAT " in %s failed: cannot %s: %s", item->seq, store->dir,
                             what, g_strerror (errsv));
}

static void
writer_process (DaStore *store, GQueue *batch)
{
  g_autoptr (GPtrArray) group = g_ptr_array_new ();
  GQueue finished = G_QUEUE_INIT;
  gsize group_bytes = 0;
  DaStoreItem *item;

  while ((item = g_queue_pop_head (batch)) != NULL) {
    if (store->crashed) {
      store_item_free (item);
      continue;
    }
    if (item->kind == DA_STORE_ITEM_RECORD && !writer_item_failed (store, item)) {
      g_ptr_array_add (group, item);
      group_bytes += DA_STORE_FRAME_HEADER_SIZE + g_bytes_get_size (item->bytes);
      if (group_bytes >= DA_STORE_GROUP_MAX_BYTES) {
        writer_commit_group (store, group, &finished);
        writer_deliver (store, &finished);
        group_bytes = 0;
      }
      continue;
    }
    /* a failed record or a snapshot ends the group before it */
    writer_commit_group (store, group, &finished);
    writer_deliver (store, &finished);
    group_bytes = 0;
    if (item->kind == DA_STORE_ITEM_SNAPSHOT && item->error == NULL && !writer_item_failed (store, item))
      writer_snapshot (store, item);
    if (store->crashed) {
      store_item_free (item);
      continue;
    }
    g_queue_push_tail (&finished, item);
    writer_deliver (store, &finished);
  }
  writer_commit_group (store, group, &finished);
  writer_deliver (store, &finished);
}

static gpointer
writer_thread (gpointer data)
{
  DaStore *store = data;

  for (;;) {
    GQueue batch;

    g_mutex_lock (&store->mutex);
    while (store->queue.length == 0 && !store->stopping)
      g_cond_wait (&store->cond, &store->mutex);
    if (store->queue.length == 0) {
      g_mutex_unlock (&store->mutex);
      break;
    }
    /* several writers were in the last group: give as many a moment to
     * arrive, so that one sync serves them all */
    if (store->options.group_delay_us > 0 && store->last_group_size > 1) {
      gint64 deadline = g_get_monotonic_time () + store->options.group_delay_us;

      store->waiting_for = store->last_group_size;
      while (store->queue.length < store->waiting_for && !store->stopping
             && g_cond_wait_until (&store->cond, &store->mutex, deadline))
        ;
      store->waiting_for = 0;
    }
    /* everything queued so far is one batch: appends that arrive while it
     * is written and synced form the next one */
    batch = store->queue;
    g_queue_init (&store->queue);
    store->counters.queued = 0;
    g_mutex_unlock (&store->mutex);

    writer_process (store, &batch);
    writer_preallocate (store);
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* main-thread API */

static void
store_deliver_completions (DaStore *store)
{
  for (;;) {
    DaStoreItem *item;

    /* one at a time, so a callback that appends or closes keeps the order */
    g_mutex_lock (&store->mutex);
    item = g_queue_pop_head (&store->completed);
    g_mutex_unlock (&store->mutex);
    if (item == NULL)
      break;
    if (item->done != NULL)
      item->done (item->seq, item->error, item->user_data);
    store_item_free (item);
  }
}

static gboolean
completion_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  DaStore *store = ((DaStoreCompletionSource *) source)->store;

  g_source_set_ready_time (source, -1);
  store_deliver_completions (store);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs completion_source_funcs = {
  .dispatch = completion_dispatch,
};

/**
 * da_store_start:
 * @store: a recovered store
 * @context: (nullable): where completions are delivered; %NULL for the
 *   thread-default main context
 * @error: return location for a #GError
 *
 * Starts the writer thread.
 */
gboolean
da_store_start (DaStore *store, GMainContext *context, GError **error)
{
  GSource *source;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (store->recovered && !store->started && !store->closed, FALSE);

  store->context = context != NULL ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  source = g_source_new (&completion_source_funcs, sizeof (DaStoreCompletionSource));
  ((DaStoreCompletionSource *) source)->store = store;
  g_source_set_static_name (source, "da-store completions");
  g_source_set_ready_time (source, -1);
  g_source_attach (source, store->context);
  store->completion_source = source;

  store->writer = g_thread_try_new ("da-store-writer", writer_thread, store, error);
  if (store->writer == NULL) {
    g_source_destroy (source);
    g_clear_pointer (&store->completion_source, g_source_unref);
    return FALSE;
  }
  store->started = TRUE;
  return TRUE;
}

static guint64
store_enqueue (DaStore *store, DaStoreItem *item)
{
  guint64 seq = item->seq;
  gboolean closed;

  g_mutex_lock (&store->mutex);
  item->generation = store->generation;
  if (item->kind == DA_STORE_ITEM_RECORD)
    store->counters.appends++;
  closed = !store->accepting;
  if (closed) {
    item->error = g_error_new (DA_STORE_ERROR, DA_STORE_ERROR_CLOSED, "the store of %s is closed", store->dir);
    if (item->kind == DA_STORE_ITEM_RECORD)
      store->counters.records_failed++;
    g_queue_push_tail (&store->completed, item);
  } else {
    g_queue_push_tail (&store->queue, item);
    store->counters.queued++;
    if (store->queue.length == 1 || (store->waiting_for > 0 && store->queue.length >= store->waiting_for))
      g_cond_signal (&store->cond);
  }
  g_mutex_unlock (&store->mutex);
  /* once closed there is no main-context source left: complete at once */
  if (closed && store->closed)
    store_deliver_completions (store);
  return seq;
}

/**
 * da_store_append:
 * @store: a recovered store
 * @record: the record, at most %DA_STORE_RECORD_MAX bytes; referenced, not copied
 * @done: (nullable): called on the main context once the record is durable
 *   or has failed, strictly in sequence order
 * @user_data: for @done
 *
 * Queues a record for the writer thread.  Never blocks on disk.
 *
 * Returns: the record's sequence number
 */
guint64
da_store_append (DaStore *store, GBytes *record, DaStoreDoneFunc done, gpointer user_data)
{
  g_return_val_if_fail (store != NULL && store->recovered, 0);
  g_return_val_if_fail (record != NULL, 0);
  g_return_val_if_fail (g_bytes_get_size (record) <= DA_STORE_RECORD_MAX, 0);

  return store_enqueue (store, store_item_new (DA_STORE_ITEM_RECORD, store->next_seq++, record, done, user_data));
}

/**
 * da_store_snapshot:
 * @store: a recovered store
 * @payload_records: the caller's whole state as of the last appended
 *   record, packed by a #DaSnapshotBuilder
 * @done: (nullable): called once the snapshot is durable or has failed
 * @user_data: for @done
 *
 * Queues a snapshot.  The writer starts a new journal segment at it, writes
 * snapshot.tmp, syncs it, renames it over snapshot, syncs the directory and
 * only then deletes the segments it covers.
 *
 * Returns: the last sequence the snapshot covers
 */
guint64
da_store_snapshot (DaStore *store, GBytes *payload_records, DaStoreDoneFunc done, gpointer user_data)
{
  g_return_val_if_fail (store != NULL && store->recovered, 0);
  g_return_val_if_fail (payload_records != NULL, 0);

  return store_enqueue (store,
                        store_item_new (DA_STORE_ITEM_SNAPSHOT, store->next_seq - 1, payload_records, done, user_data));
}

/**
 * da_store_clear_failure:
 * @store: a store
 *
 * Leaves the failed state: records appended from now on are written again.
 * Call it after rolling back everything that depended on failed records.
 * Does nothing when the store is not failed.
 */
void
da_store_clear_failure (DaStore *store)
{
  g_return_if_fail (store != NULL);

  g_mutex_lock (&store->mutex);
  if (store->failed_generation >= store->generation) {
    store->generation++;
    store->counters.failed = FALSE;
  }
  g_mutex_unlock (&store->mutex);
}

gboolean
da_store_is_failed (DaStore *store)
{
  gboolean failed;

  g_mutex_lock (&store->mutex);
  failed = store->failed_generation >= store->generation;
  g_mutex_unlock (&store->mutex);
  return failed;
}

/**
 * da_store_get_counters:
 * @store: a store
 * @counters: (out caller-allocates): a consistent copy of the counters
 *
 * For server.info; safe to call at any time from the main thread.
 */
void
da_store_get_counters (DaStore *store, DaStoreCounters *counters)
{
  g_mutex_lock (&store->mutex);
  *counters = store->counters;
  g_mutex_unlock (&store->mutex);
}

/**
 * da_store_set_fault_hook:
 * @store: a store
 * @func: (nullable): called on the writer thread before each step
 * @user_data: for @func
 *
 * For tests only: makes chosen steps fail with an errno or stop as a crash
 * would.  A simulated crash drops every pending record without a callback.
 */
void
da_store_set_fault_hook (DaStore *store, DaStoreFaultFunc func, gpointer user_data)
{
  g_mutex_lock (&store->mutex);
  store->fault_func = func;
  store->fault_data = user_data;
  g_mutex_unlock (&store->mutex);
}

/**
 * da_store_close:
 * @store: a store
 *
 * Finishes in-flight groups (what SIGTERM needs), delivers every pending
 * callback on the calling thread, stops the writer and releases the lock.
 * Blocks until the queue is written.
 */
void
da_store_close (DaStore *store)
{
  g_return_if_fail (store != NULL);

  if (store->closed)
    return;
  g_mutex_lock (&store->mutex);
  store->accepting = FALSE;
  store->stopping = TRUE;
  g_cond_signal (&store->cond);
  if (store->writer == NULL) {
    DaStoreItem *item;

    /* never started: nothing can be written any more */
    while ((item = g_queue_pop_head (&store->queue)) != NULL) {
      item->error = g_error_new (DA_STORE_ERROR, DA_STORE_ERROR_CLOSED, "the store of %s was closed before it started",
                                 store->dir);
      g_queue_push_tail (&store->completed, item);
    }
  }
  g_mutex_unlock (&store->mutex);

  /* the writer drains the queue before it returns */
  if (store->writer != NULL)
    g_thread_join (g_steal_pointer (&store->writer));
  store->closed = TRUE;
  store_deliver_completions (store);
  if (store->completion_source != NULL) {
    g_source_destroy (store->completion_source);
    g_clear_pointer (&store->completion_source, g_source_unref);
  }
  g_clear_pointer (&store->context, g_main_context_unref);

  if (store->journal_fd >= 0) {
    if (store->segments->len > 0)
      journal_give_back (store, store->journal_fd, da_store_active_segment (store)->size);
    close (store->journal_fd);
  }
  store->journal_fd = -1;
  /* closing the last descriptor of the open file description drops the lock */
  if (store->lock_fd >= 0)
    close (store->lock_fd);
  store->lock_fd = -1;
  if (store->dir_fd >= 0)
    close (store->dir_fd);
  store->dir_fd = -1;
}

void
da_store_free (DaStore *store)
{
  if (store == NULL)
    return;
  da_store_close (store);
  g_mutex_clear (&store->mutex);
  g_cond_clear (&store->cond);
  g_clear_error (&store->failure);
  g_array_unref (store->segments);
  g_byte_array_unref (store->group_buf);
  g_free (store->dir);
  g_free (store);
}
