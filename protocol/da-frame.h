/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "protocol/da-limits.h"

G_BEGIN_DECLS

/*
 * Newline-delimited frames on a byte stream.  A frame is the bytes before
 * a '\n', without a trailing '\r'; lines that hold only spaces, tabs or
 * '\r' are skipped.  A line longer than the maximum is reported once as
 * DA_FRAME_TOO_LARGE and skipped up to its newline; the stream then goes on.
 */

typedef enum {
  DA_FRAME_NONE,      /* nothing complete yet: feed more */
  DA_FRAME_DATA,      /* a frame */
  DA_FRAME_TOO_LARGE, /* a line longer than the maximum was dropped */
} DaFrameStatus;

typedef struct _DaFrameReader DaFrameReader;

DaFrameReader *da_frame_reader_new (gsize max_frame);
void da_frame_reader_free (DaFrameReader *reader);
void da_frame_reader_feed (DaFrameReader *reader, const void *data, gsize len);
void da_frame_reader_end (DaFrameReader *reader);
DaFrameStatus da_frame_reader_next (DaFrameReader *reader, const char **frame, gsize *len);
gsize da_frame_reader_get_max_frame (DaFrameReader *reader);
gsize da_frame_reader_get_buffered (DaFrameReader *reader);
gboolean da_frame_reader_in_line (DaFrameReader *reader);
guint64 da_frame_reader_get_lines (DaFrameReader *reader);

typedef gboolean (*DaFrameFunc) (DaFrameStatus status, const char *frame, gsize len, gpointer user_data);
void da_frame_split (const void *data, gsize len, gsize max_frame, DaFrameFunc func, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaFrameReader, da_frame_reader_free)

G_END_DECLS
