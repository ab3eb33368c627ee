/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * On-disk format of the store, version 1.  Every integer is little-endian.
 *
 * The state directory holds only names the store chooses:
 *   lock                       the lock file (an OFD write lock; its text is the holder's pid)
 *   snapshot                   the latest durable snapshot
 *   snapshot.tmp               a snapshot being written; removed at open
 *   journal.<16 hex digits>    journal segments, named by their base sequence
 *
 * File header (48 bytes) at offset 0 of every journal segment and snapshot;
 * a snapshot repeats it as a trailer after its last record:
 *    0  8  magic    "DEVADDRJ" journal, "DEVADDRS" snapshot, "DEVADDRT" snapshot trailer
 *    8  4  version  1
 *   12  4  size     48 (the header's own length)
 *   16  8  seq      journal: the base; every record in the segment has a higher sequence
 *                   snapshot: the last sequence the snapshot covers
 *   24  8  count    journal: the base of the segment before this one (its own base for the first)
 *                   snapshot: the number of records
 *   32  8  bytes    journal: 0; snapshot: bytes of record frames between header and trailer
 *   40  4  flags    0
 *   44  4  crc      CRC-32C of bytes 0..43
 * The magic, the version and the crc stay where they are in later versions,
 * so that an intact header of a newer version is recognised as such.
 *
 * Record frame (24 bytes, then the payload, no padding):
 *    0  4  magic    "DArc"
 *    4  4  length   bits 0..23: payload bytes (so at most 16 MiB - 1)
 *                   bits 24..31: flags; bit 24 = COMMIT (journal: last record of a group)
 *    8  8  seq      journal: the record's sequence number, strictly increasing
 *                   snapshot: the record's ordinal, 1..count
 *   16  4  dcrc     CRC-32C of the payload
 *   20  4  hcrc     CRC-32C of bytes 0..19
 *   24  n  payload  opaque bytes of the daemon
 *
 * A journal segment is the header and then frames written in groups; each
 * group is one write followed by one fdatasync, and its last frame carries
 * COMMIT.  Frames after the last COMMIT were never acknowledged: recovery
 * cuts them with a torn tail.  The segment being written may go on in
 * zeros, written and synced ahead of its end (journal-preallocate), to a
 * length that is a multiple of 64 KiB: recovery takes zeros at the end of
 * such a file for that space, not for a torn tail or damage.  A new segment starts at every snapshot whose
 * sequence is above the active segment's base, so segment N holds the
 * records in (base N, base N+1].
 *
 * A snapshot is the header, count frames with ordinals 1..count, and the
 * trailer.  It is written as snapshot.tmp, synced, renamed over snapshot,
 * and the directory synced; segments below its sequence are deleted only
 * after that.
 */
#include "config.h"

#include <string.h>

#include "da-crc32c.h"
#include "da-store-format.h"

/* how often da_store_scan() reports progress */
#define DA_STORE_SCAN_PROGRESS_STEP (8 * 1024 * 1024)

static const char *const file_magic[] = {
  [DA_STORE_FILE_JOURNAL] = "DEVADDRJ",
  [DA_STORE_FILE_SNAPSHOT] = "DEVADDRS",
  [DA_STORE_FILE_SNAPSHOT_TRAILER] = "DEVADDRT",
};

static inline void
put_le32 (guint8 *p, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, 4);
}

static inline void
put_le64 (guint8 *p, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, 8);
}

static inline guint32
get_le32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static inline guint64
get_le64 (const guint8 *p)
{
  guint64 v;

  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

void
da_store_file_header_encode (DaStoreFileKind kind, const DaStoreFileHeader *header,
                             guint8 out[DA_STORE_FILE_HEADER_SIZE])
{
  memset (out, 0, DA_STORE_FILE_HEADER_SIZE);
  memcpy (out, file_magic[kind], 8);
  put_le32 (out + 8, DA_STORE_FORMAT_VERSION);
  put_le32 (out + 12, DA_STORE_FILE_HEADER_SIZE);
  put_le64 (out + 16, header->seq);
  put_le64 (out + 24, header->count);
  put_le64 (out + 32, header->bytes);
  put_le32 (out + 40, 0);
  put_le32 (out + 44, da_crc32c (0, out, 44));
}

DaStoreHeaderStatus
da_store_file_header_decode (DaStoreFileKind kind, const guint8 *buf, gsize len, DaStoreFileHeader *header,
                             guint32 *version)
{
  guint32 v;

  if (len < DA_STORE_FILE_HEADER_SIZE || memcmp (buf, file_magic[kind], 8) != 0)
    return DA_STORE_HEADER_BAD;
  if (get_le32 (buf + 44) != da_crc32c (0, buf, 44))
    return DA_STORE_HEADER_BAD;
  v = get_le32 (buf + 8);
  if (version != NULL)
    *version = v;
  if (v != DA_STORE_FORMAT_VERSION)
    return DA_STORE_HEADER_VERSION;
  if (get_le32 (buf + 12) != DA_STORE_FILE_HEADER_SIZE || get_le32 (buf + 40) != 0)
    return DA_STORE_HEADER_BAD;
  header->seq = get_le64 (buf + 16);
  header->count = get_le64 (buf + 24);
  header->bytes = get_le64 (buf + 32);
  return DA_STORE_HEADER_OK;
}

void
da_store_frame_header_encode (guint8 out[DA_STORE_FRAME_HEADER_SIZE], guint64 seq, guint8 flags,
                              const guint8 *payload, gsize len)
{
  g_assert (len <= DA_STORE_RECORD_MAX);
  put_le32 (out, DA_STORE_FRAME_MAGIC);
  put_le32 (out + 4, (guint32) len | ((guint32) flags << 24));
  put_le64 (out + 8, seq);
  put_le32 (out + 16, da_crc32c (0, payload, len));
  put_le32 (out + 20, da_crc32c (0, out, 20));
}

gboolean
da_store_frame_parse (const guint8 *buf, gsize avail, DaStoreFrame *frame)
{
  guint32 len_flags;
  gsize len;

  if (avail < DA_STORE_FRAME_HEADER_SIZE)
    return FALSE;
  if (get_le32 (buf) != DA_STORE_FRAME_MAGIC || get_le32 (buf + 20) != da_crc32c (0, buf, 20))
    return FALSE;
  len_flags = get_le32 (buf + 4);
  len = len_flags & DA_STORE_RECORD_MAX;
  if (len > avail - DA_STORE_FRAME_HEADER_SIZE)
    return FALSE;
  if (get_le32 (buf + 16) != da_crc32c (0, buf + DA_STORE_FRAME_HEADER_SIZE, len))
    return FALSE;
  frame->seq = get_le64 (buf + 8);
  frame->len = (guint32) len;
  frame->flags = (guint8) (len_flags >> 24);
  frame->payload = buf + DA_STORE_FRAME_HEADER_SIZE;
  return TRUE;
}

void
da_store_frame_peek (const guint8 *buf, DaStoreFrame *frame)
{
  guint32 len_flags = get_le32 (buf + 4);

  frame->seq = get_le64 (buf + 8);
  frame->len = len_flags & DA_STORE_RECORD_MAX;
  frame->flags = (guint8) (len_flags >> 24);
  frame->payload = buf + DA_STORE_FRAME_HEADER_SIZE;
}

void
da_store_scan_init (DaStoreScan *scan)
{
  memset (scan, 0, sizeof *scan);
  scan->spans = g_array_new (FALSE, FALSE, sizeof (DaStoreSpan));
  scan->gaps = g_array_new (FALSE, FALSE, sizeof (DaStoreGap));
}

void
da_store_scan_clear (DaStoreScan *scan)
{
  g_clear_pointer (&scan->spans, g_array_unref);
  g_clear_pointer (&scan->gaps, g_array_unref);
}

/* the next offset at or after from holding an intact frame with a sequence
 * above min_seq, or len */
static gsize
scan_resync (const guint8 *buf, gsize len, gsize from, guint64 min_seq, DaStoreFrame *frame)
{
  static const guint8 magic[4] = { 'D', 'A', 'r', 'c' };

  while (from + DA_STORE_FRAME_HEADER_SIZE <= len) {
    const guint8 *hit = memmem (buf + from, len - from, magic, sizeof magic);

    if (hit == NULL)
      break;
    from = (gsize) (hit - buf);
    if (da_store_frame_parse (hit, len - from, frame) && frame->seq > min_seq)
      return from;
    from++;
  }
  return len;
}

void
da_store_scan (const guint8 *buf, gsize len, gsize start, guint64 min_seq, DaStoreScan *scan,
               DaStoreScanProgress progress, gpointer user_data)
{
  gsize pos = start;
  gsize next_progress = start + DA_STORE_SCAN_PROGRESS_STEP;
  DaStoreSpan span = { start, start };
  DaStoreFrame frame;

  g_array_set_size (scan->spans, 0);
  g_array_set_size (scan->gaps, 0);
  scan->n_frames = 0;
  scan->end = scan->commit_end = start;
  scan->last_seq = scan->commit_seq = min_seq;
  scan->commit_frames = 0;

  while (pos < len) {
    if (da_store_frame_parse (buf + pos, len - pos, &frame) && frame.seq > scan->last_seq) {
      pos += DA_STORE_FRAME_HEADER_SIZE + frame.len;
      scan->n_frames++;
      scan->last_seq = frame.seq;
      scan->end = pos;
      if (frame.flags & DA_STORE_FRAME_COMMIT) {
        scan->commit_end = pos;
        scan->commit_seq = frame.seq;
        scan->commit_frames = scan->n_frames;
      }
    } else {
      gsize next = scan_resync (buf, len, pos + 1, scan->last_seq, &frame);
      DaStoreGap gap = { pos, next - pos, scan->n_frames > 0 ? scan->last_seq : 0, next < len ? frame.seq : 0 };

      if (span.end > span.start)
        g_array_append_val (scan->spans, span);
      g_array_append_val (scan->gaps, gap);
      span.start = span.end = pos = next;
      continue;
    }
    span.end = pos;
    if (progress != NULL && pos >= next_progress) {
      progress (pos, user_data);
      next_progress = pos + DA_STORE_SCAN_PROGRESS_STEP;
    }
  }
  if (span.end > span.start)
    g_array_append_val (scan->spans, span);
}

void
da_store_scan_cut (DaStoreScan *scan, gsize cut, guint64 cut_seq, guint64 cut_frames, gsize len,
                   gboolean keep_tail_as_gap)
{
  guint n;

  for (n = scan->spans->len; n > 0; n--) {
    DaStoreSpan *span = &g_array_index (scan->spans, DaStoreSpan, n - 1);

    if (span->start < cut) {
      span->end = MIN (span->end, cut);
      break;
    }
  }
  g_array_set_size (scan->spans, n);
  for (n = scan->gaps->len; n > 0; n--)
    if (g_array_index (scan->gaps, DaStoreGap, n - 1).offset < cut)
      break;
  g_array_set_size (scan->gaps, n);
  if (keep_tail_as_gap && cut < len) {
    DaStoreGap gap = { cut, len - cut, cut_frames > 0 ? cut_seq : 0, 0 };

    g_array_append_val (scan->gaps, gap);
  }
  scan->end = cut;
  scan->last_seq = cut_seq;
  scan->n_frames = cut_frames;
}
