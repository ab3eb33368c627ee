/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "da-record.h"

/* no name in a record is longer; anything longer is damage */
#define MAX_STRING 4096
#define MAX_CHANGES (16 * 1024 * 1024)

static void
put_varint (GByteArray *out, guint64 value)
{
  guint8 buf[10];
  guint n = 0;

  do {
    buf[n] = (guint8) (value & 0x7f);
    value >>= 7;
    if (value != 0)
      buf[n] |= 0x80;
    n++;
  } while (value != 0);
  g_byte_array_append (out, buf, n);
}

static void
put_string (GByteArray *out, const char *s)
{
  gsize len;

  if (s == NULL) {
    put_varint (out, 0);
    return;
  }
  len = strlen (s);
  put_varint (out, len + 1);
  g_byte_array_append (out, (const guint8 *) s, (guint) len);
}

void
da_record_append_change (GByteArray *out, const DaChange *c)
{
  guint8 head[4] = { (guint8) c->kind, (guint8) ((c->cursor ? 1 : 0) | (c->expired ? 2 : 0)),
                     (guint8) c->mode, (guint8) c->state };
  /* zigzag keeps small negative times small */
  guint64 time = ((guint64) c->time << 1) ^ (guint64) (c->time >> 63);

  g_byte_array_append (out, head, sizeof head);
  put_varint (out, c->flags);
  put_string (out, c->scope);
  put_string (out, c->template_name);
  put_string (out, c->type);
  put_string (out, c->alias);
  put_string (out, c->tag);
  put_varint (out, c->start);
  put_varint (out, c->end);
  put_varint (out, c->count);
  put_varint (out, time);
}

GBytes *
da_record_encode (GPtrArray *changes)
{
  GByteArray *out = g_byte_array_sized_new (16 + changes->len * 48);
  guint8 version = DA_RECORD_VERSION;

  g_byte_array_append (out, &version, 1);
  put_varint (out, changes->len);
  for (guint i = 0; i < changes->len; i++)
    da_record_append_change (out, g_ptr_array_index (changes, i));
  return g_byte_array_free_to_bytes (out);
}

typedef struct {
  const guint8 *p;
  const guint8 *end;
  gboolean bad;
} Reader;

static guint64
get_varint (Reader *r)
{
  guint64 value = 0;

  for (guint shift = 0; shift < 64; shift += 7) {
    guint8 b;

    if (r->p >= r->end) {
      r->bad = TRUE;
      return 0;
    }
    b = *r->p++;
    if (shift == 63 && (b & 0x7e) != 0) {
      r->bad = TRUE;
      return 0;
    }
    value |= (guint64) (b & 0x7f) << shift;
    if (!(b & 0x80))
      return value;
  }
  r->bad = TRUE;
  return 0;
}

static guint8
get_byte (Reader *r)
{
  if (r->p >= r->end) {
    r->bad = TRUE;
    return 0;
  }
  return *r->p++;
}

static char *
get_string (Reader *r)
{
  guint64 len = get_varint (r);
  char *s;

  if (r->bad || len == 0)
    return NULL;
  len--;
  if (len > MAX_STRING || len > (guint64) (r->end - r->p)) {
    r->bad = TRUE;
    return NULL;
  }
  if (memchr (r->p, '\0', len) != NULL || !g_utf8_validate ((const char *) r->p, (gssize) len, NULL)) {
    r->bad = TRUE;
    return NULL;
  }
  s = g_strndup ((const char *) r->p, len);
  r->p += len;
  return s;
}

GPtrArray *
da_record_decode (const guint8 *data, gsize len, GError **error)
{
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);
  Reader r = { data, data + len, FALSE };
  guint64 n;
  guint8 version = get_byte (&r);

  if (r.bad || version != DA_RECORD_VERSION) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "record version %u is not %u", version, DA_RECORD_VERSION);
    return NULL;
  }
  n = get_varint (&r);
  if (r.bad || n > MAX_CHANGES || n > len) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "record claims %" G_GUINT64_FORMAT " changes", n);
    return NULL;
  }
  for (guint64 i = 0; i < n && !r.bad; i++) {
    DaChange *c = g_new0 (DaChange, 1);
    guint8 bits;
    guint64 time, flags;

    g_ptr_array_add (changes, c);
    c->kind = (DaChangeKind) get_byte (&r);
    bits = get_byte (&r);
    c->cursor = (bits & 1) != 0;
    c->expired = (bits & 2) != 0;
    c->mode = (DaMode) get_byte (&r);
    c->state = (DaState) get_byte (&r);
    flags = get_varint (&r);
    c->flags = (guint) MIN (flags, G_MAXUINT);
    c->scope = get_string (&r);
    c->template_name = get_string (&r);
    c->type = get_string (&r);
    c->alias = get_string (&r);
    c->tag = get_string (&r);
    c->start = get_varint (&r);
    c->end = get_varint (&r);
    c->count = get_varint (&r);
    time = get_varint (&r);
    c->time = (gint64) (time >> 1) ^ -(gint64) (time & 1);
    if (c->kind < DA_CHANGE_SCOPE_CREATE || c->kind > DA_CHANGE_LAST || c->scope == NULL || bits > 3
        || c->mode > DA_MODE_STATIC || c->state > DA_STATE_RELEASING)
      r.bad = TRUE;
  }
  if (r.bad || r.p != r.end) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "malformed record at byte %td of %zu",
                 r.p - data, len);
    return NULL;
  }
  return g_steal_pointer (&changes);
}

typedef struct {
  DaSnapshotBuilder *builder;
  GByteArray *scratch;
} Dump;

static void
dump_change (const DaChange *change, gpointer user_data)
{
  Dump *dump = user_data;
  guint8 head[2] = { DA_RECORD_VERSION, 1 };

  g_byte_array_set_size (dump->scratch, 0);
  g_byte_array_append (dump->scratch, head, sizeof head);
  da_record_append_change (dump->scratch, change);
  da_snapshot_builder_add (dump->builder, dump->scratch->data, dump->scratch->len);
}

void
da_record_snapshot (DaEngine *engine, gint64 now, DaSnapshotBuilder *builder)
{
  Dump dump = { builder, g_byte_array_sized_new (256) };

  da_engine_dump (engine, now, dump_change, &dump);
  g_byte_array_unref (dump.scratch);
}
