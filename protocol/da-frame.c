/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-frame.h"

/*
 * The reader copies only what it must keep: the bytes of the line being
 * received, and the complete frames of the last chunk until the caller has
 * taken them.  An over-long line is dropped as soon as it crosses the
 * maximum, so the buffer never holds more than max_frame + 1 bytes of an
 * unfinished line plus the last chunk.
 */

typedef struct {
  DaFrameStatus status;
  gsize offset; /* into buf; DA_FRAME_DATA only */
  gsize len;
} DaFrameEvent;

struct _DaFrameReader {
  gsize max_frame;
  GByteArray *buf;    /* frames not yet taken, then the unfinished line */
  gsize line_start;   /* offset of the unfinished line in buf */
  gboolean discarding; /* inside a line already reported as too large */
  GArray *events;     /* DaFrameEvent, in stream order */
  guint next_event;
  guint64 lines;      /* lines ended so far, by a newline or the end */
};

/**
 * da_frame_reader_new:
 * @max_frame: the largest frame in bytes: everything before the '\n', a
 *   trailing '\r' included; 0 for %DA_LIMIT_FRAME_MAX
 *
 * Returns: (transfer full): a reader
 */
DaFrameReader *
da_frame_reader_new (gsize max_frame)
{
  DaFrameReader *reader = g_new0 (DaFrameReader, 1);

  /* GByteArray lengths are guint; no sane frame comes near that */
  reader->max_frame = max_frame > 0 ? MIN (max_frame, (gsize) G_MAXINT32) : DA_LIMIT_FRAME_MAX;
  reader->buf = g_byte_array_new ();
  reader->events = g_array_new (FALSE, FALSE, sizeof (DaFrameEvent));
  return reader;
}

void
da_frame_reader_free (DaFrameReader *reader)
{
  if (reader == NULL)
    return;
  g_byte_array_unref (reader->buf);
  g_array_unref (reader->events);
  g_free (reader);
}

gsize
da_frame_reader_get_max_frame (DaFrameReader *reader)
{
  return reader->max_frame;
}

/**
 * da_frame_reader_get_buffered:
 * @reader: a reader
 *
 * Returns: the bytes the reader holds (untaken frames and the unfinished line)
 */
gsize
da_frame_reader_get_buffered (DaFrameReader *reader)
{
  return reader->buf->len;
}

static void
push_event (DaFrameReader *reader, DaFrameStatus status, gsize offset, gsize len)
{
  DaFrameEvent event = { status, offset, len };

  g_array_append_val (reader->events, event);
}

static gboolean
is_blank (const guint8 *p, gsize len)
{
  for (gsize i = 0; i < len; i++) {
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
      return FALSE;
  }
  return TRUE;
}

/* the unfinished line is complete: queue it as a frame, NUL-terminated */
static void
finish_line (DaFrameReader *reader)
{
  gsize start = reader->line_start;
  gsize len = reader->buf->len - start;
  guint8 nul = 0;

  if (len > 0 && reader->buf->data[start + len - 1] == '\r')
    len--;
  /* an empty line may come before the buffer holds anything at all */
  if (len == 0 || is_blank (reader->buf->data + start, len)) {
    g_byte_array_set_size (reader->buf, start);
    return;
  }
  g_byte_array_set_size (reader->buf, start + len);
  g_byte_array_append (reader->buf, &nul, 1);
  push_event (reader, DA_FRAME_DATA, start, len);
  reader->line_start = reader->buf->len;
}

/* drop what the caller has taken, so the buffer does not grow across feeds */
static void
compact (DaFrameReader *reader)
{
  gsize keep_from = reader->line_start;

  for (guint i = reader->next_event; i < reader->events->len; i++) {
    DaFrameEvent *event = &g_array_index (reader->events, DaFrameEvent, i);

    if (event->status == DA_FRAME_DATA) {
      keep_from = event->offset;
      break;
    }
  }
  if (reader->next_event > 0) {
    g_array_remove_range (reader->events, 0, reader->next_event);
    reader->next_event = 0;
  }
  if (keep_from == 0)
    return;
  for (guint i = 0; i < reader->events->len; i++) {
    DaFrameEvent *event = &g_array_index (reader->events, DaFrameEvent, i);

    if (event->status == DA_FRAME_DATA)
      event->offset -= keep_from;
  }
  g_byte_array_remove_range (reader->buf, 0, (guint) keep_from);
  reader->line_start -= keep_from;
}

/**
 * da_frame_reader_feed:
 * @reader: a reader
 * @data: bytes from the stream, any split (one byte at a time works)
 * @len: their number
 *
 * Takes the next bytes of the stream.  Frames that complete become
 * available from da_frame_reader_next(); take them all before the next
 * feed, which invalidates the frames returned so far.
 */
void
da_frame_reader_feed (DaFrameReader *reader, const void *data, gsize len)
{
  const guint8 *p = data;
  const guint8 *end;

  compact (reader);
  if (len == 0)
    return;
  end = p + len;
  while (p < end) {
    const guint8 *newline = memchr (p, '\n', (gsize) (end - p));
    const guint8 *stop = newline != NULL ? newline : end;
    gsize seg = (gsize) (stop - p);

    if (reader->discarding) {
      if (newline == NULL)
        return;
      reader->discarding = FALSE;
      reader->lines++;
      p = newline + 1;
      continue;
    }
    if (reader->buf->len - reader->line_start + seg > reader->max_frame) {
      /* report once, keep nothing of it, and skip to its end */
      g_byte_array_set_size (reader->buf, (guint) reader->line_start);
      push_event (reader, DA_FRAME_TOO_LARGE, 0, 0);
      if (newline == NULL) {
        reader->discarding = TRUE;
        return;
      }
      reader->lines++;
      p = newline + 1;
      continue;
    }
    g_byte_array_append (reader->buf, p, (guint) seg);
    if (newline == NULL)
      return;
    finish_line (reader);
    reader->lines++;
    p = newline + 1;
  }
}

/**
 * da_frame_reader_end:
 * @reader: a reader
 *
 * The stream has ended: an unfinished line becomes a last frame (a peer
 * may close without a final newline).  Feeding again starts a new line.
 */
void
da_frame_reader_end (DaFrameReader *reader)
{
  compact (reader);
  if (reader->discarding) {
    reader->discarding = FALSE;
    reader->lines++;
    return;
  }
  if (reader->buf->len > reader->line_start) {
    finish_line (reader);
    reader->lines++;
  }
}

/**
 * da_frame_reader_in_line:
 * @reader: a reader
 *
 * Returns: %TRUE if bytes of a line that has not ended yet were fed (an
 *   over-long one being skipped too)
 */
gboolean
da_frame_reader_in_line (DaFrameReader *reader)
{
  return reader->discarding || reader->buf->len > reader->line_start;
}

/**
 * da_frame_reader_get_lines:
 * @reader: a reader
 *
 * Returns: how many lines have ended so far (blank and over-long ones
 *   too): with da_frame_reader_in_line(), tells one unfinished line from
 *   the next
 */
guint64
da_frame_reader_get_lines (DaFrameReader *reader)
{
  return reader->lines;
}

/**
 * da_frame_reader_next:
 * @reader: a reader
 * @frame: (out) (optional): the frame, NUL-terminated, valid until the next
 *   feed; it may contain NUL bytes itself, @len is what counts
 * @len: (out) (optional): its length
 *
 * Returns: %DA_FRAME_DATA with a frame, %DA_FRAME_TOO_LARGE once per
 *   over-long line, or %DA_FRAME_NONE when everything fed has been taken
 */
DaFrameStatus
da_frame_reader_next (DaFrameReader *reader, const char **frame, gsize *len)
{
  DaFrameEvent *event;

  if (frame != NULL)
    *frame = NULL;
  if (len != NULL)
    *len = 0;
  if (reader->next_event >= reader->events->len)
    return DA_FRAME_NONE;
  event = &g_array_index (reader->events, DaFrameEvent, reader->next_event++);
  if (event->status == DA_FRAME_DATA) {
    if (frame != NULL)
      *frame = (const char *) reader->buf->data + event->offset;
    if (len != NULL)
      *len = event->len;
  }
  return event->status;
}

/**
 * da_frame_split:
 * @data: a whole stream
 * @len: its length
 * @max_frame: as for da_frame_reader_new()
 * @func: called for each %DA_FRAME_DATA and %DA_FRAME_TOO_LARGE, in order;
 *   returning %FALSE stops
 * @user_data: for @func
 *
 * Splits a complete stream into frames, as a reader fed @data and then
 * ended would.  Safe on any input: a fuzzing entry point.
 */
void
da_frame_split (const void *data, gsize len, gsize max_frame, DaFrameFunc func, gpointer user_data)
{
  g_autoptr (DaFrameReader) reader = da_frame_reader_new (max_frame);
  DaFrameStatus status;
  const char *frame;
  gsize frame_len;

  da_frame_reader_feed (reader, data, len);
  da_frame_reader_end (reader);
  while ((status = da_frame_reader_next (reader, &frame, &frame_len)) != DA_FRAME_NONE) {
    if (!func (status, frame, frame_len, user_data))
      return;
  }
}
