/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The byte layout of the store's files: file headers, record frames, and a
 * scanner that finds the intact frames of a damaged file.  Pure functions
 * over memory; da-store-format.c describes the format in full.
 */

#define DA_STORE_FORMAT_VERSION 1
#define DA_STORE_FILE_HEADER_SIZE 48
#define DA_STORE_FRAME_HEADER_SIZE 24
/* the length field of a frame has 24 bits */
#define DA_STORE_RECORD_MAX ((gsize) 0xffffff)
#define DA_STORE_FRAME_MAGIC 0x63724144u /* "DArc" in file order */
/* the last record of a journal group; a group without it was never acknowledged */
#define DA_STORE_FRAME_COMMIT 0x01u

typedef enum {
  DA_STORE_FILE_JOURNAL,          /* "DEVADDRJ" */
  DA_STORE_FILE_SNAPSHOT,         /* "DEVADDRS" */
  DA_STORE_FILE_SNAPSHOT_TRAILER, /* "DEVADDRT" */
} DaStoreFileKind;

typedef struct {
  guint64 seq;   /* journal: the segment's base; snapshot: the last sequence covered */
  guint64 count; /* journal: the previous segment's base; snapshot: number of records */
  guint64 bytes; /* journal: 0; snapshot: bytes of frames between header and trailer */
} DaStoreFileHeader;

typedef enum {
  DA_STORE_HEADER_OK,
  DA_STORE_HEADER_BAD,     /* wrong magic, bad checksum, or too short */
  DA_STORE_HEADER_VERSION, /* intact, but of a format version this build does not know */
} DaStoreHeaderStatus;

void da_store_file_header_encode (DaStoreFileKind kind, const DaStoreFileHeader *header,
                                  guint8 out[DA_STORE_FILE_HEADER_SIZE]);
DaStoreHeaderStatus da_store_file_header_decode (DaStoreFileKind kind, const guint8 *buf, gsize len,
                                                 DaStoreFileHeader *header, guint32 *version);

typedef struct {
  guint64 seq;
  guint32 len;
  guint8 flags;
  const guint8 *payload;
} DaStoreFrame;

/* fills the 24-byte frame header for a payload (computing both checksums) */
void da_store_frame_header_encode (guint8 out[DA_STORE_FRAME_HEADER_SIZE], guint64 seq, guint8 flags,
                                   const guint8 *payload, gsize len);
/* TRUE when the frame at buf (avail bytes available) is whole and both
 * checksums match */
gboolean da_store_frame_parse (const guint8 *buf, gsize avail, DaStoreFrame *frame);
/* reads a frame already known to be intact, without checking anything */
void da_store_frame_peek (const guint8 *buf, DaStoreFrame *frame);

typedef struct {
  gsize start; /* the first frame of a run of intact frames */
  gsize end;   /* just past its last frame */
} DaStoreSpan;

typedef struct {
  gsize offset;
  gsize length;
  guint64 seq_before; /* sequence of the intact frame before the gap, 0 when none */
  guint64 seq_after;  /* sequence of the intact frame after it, 0 when it runs to the end */
} DaStoreGap;

typedef void (*DaStoreScanProgress) (gsize offset, gpointer user_data);

typedef struct {
  GArray *spans;       /* DaStoreSpan, ascending */
  GArray *gaps;        /* DaStoreGap, ascending */
  guint64 n_frames;    /* intact frames */
  gsize end;           /* just past the last intact frame (the start when none) */
  guint64 last_seq;    /* of the last intact frame (min_seq when none) */
  gsize commit_end;    /* just past the last intact frame flagged COMMIT (the start when none) */
  guint64 commit_seq;  /* its sequence (min_seq when none) */
  guint64 commit_frames; /* intact frames up to and including it */
} DaStoreScan;

void da_store_scan_init (DaStoreScan *scan);
void da_store_scan_clear (DaStoreScan *scan);
/* Walks buf[start..len) frame by frame.  A frame is intact when it is whole,
 * both checksums match and its sequence is above the previous one (above
 * min_seq for the first).  Anything else starts a gap, which ends at the
 * next intact frame (found by searching for the frame magic) or at len.
 * progress, when not NULL, is told every few MiB how far the walk got, so
 * that the caller can release the pages behind it. */
void da_store_scan (const guint8 *buf, gsize len, gsize start, guint64 min_seq, DaStoreScan *scan,
                    DaStoreScanProgress progress, gpointer user_data);
/* forget every frame at or past cut (a frame boundary) and every gap
 * starting there, then record [cut, len) as one gap when keep_tail_as_gap */
void da_store_scan_cut (DaStoreScan *scan, gsize cut, guint64 cut_seq, guint64 cut_frames, gsize len,
                        gboolean keep_tail_as_gap);

G_END_DECLS
