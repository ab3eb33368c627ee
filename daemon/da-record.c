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

/* a string into scratch, NUL-terminated; offset + 1 so that 0 is "absent" */
static gsize
get_string (Reader *r, GByteArray *scratch)
{
  guint64 len = get_varint (r);
  gsize at;

  if (r->bad || len == 0)
    return 0;
  len--;
  if (len > MAX_STRING || len > (guint64) (r->end - r->p)) {
    r->bad = TRUE;
    return 0;
  }
  if (memchr (r->p, '\0', len) != NULL || !g_utf8_validate ((const char *) r->p, (gssize) len, NULL)) {
    r->bad = TRUE;
    return 0;
  }
  at = scratch->len;
  g_byte_array_append (scratch, r->p, (guint) len);
  g_byte_array_append (scratch, (const guint8 *) "", 1);
  r->p += len;
  return at + 1;
}

static char *
scratch_string (GByteArray *scratch, gsize at)
{
  return at == 0 ? NULL : (char *) scratch->data + (at - 1);
}

gboolean
da_record_foreach (const guint8 *data, gsize len, GByteArray *scratch, DaRecordChangeFunc func, gpointer user_data,
                   GError **error)
{
  Reader r = { data, data + len, FALSE };
  guint64 n;
  guint8 version = get_byte (&r);

  if (r.bad || version != DA_RECORD_VERSION) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "record version %u is not %u", version, DA_RECORD_VERSION);
    return FALSE;
  }
  n = get_varint (&r);
  if (r.bad || n > MAX_CHANGES || n > len) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "record claims %" G_GUINT64_FORMAT " changes", n);
    return FALSE;
  }
  for (guint64 i = 0; i < n; i++) {
    DaChange c = { 0 };
    gsize scope, tmpl, type, alias, tag;
    guint8 bits;
    guint64 time, flags;

    g_byte_array_set_size (scratch, 0);
    c.kind = (DaChangeKind) get_byte (&r);
    bits = get_byte (&r);
    c.cursor = (bits & 1) != 0;
    c.expired = (bits & 2) != 0;
    c.mode = (DaMode) get_byte (&r);
    c.state = (DaState) get_byte (&r);
    flags = get_varint (&r);
    c.flags = (guint) MIN (flags, G_MAXUINT);
    scope = get_string (&r, scratch);
    tmpl = get_string (&r, scratch);
    type = get_string (&r, scratch);
    alias = get_string (&r, scratch);
    tag = get_string (&r, scratch);
    c.start = get_varint (&r);
    c.end = get_varint (&r);
    c.count = get_varint (&r);
    time = get_varint (&r);
    c.time = (gint64) (time >> 1) ^ -(gint64) (time & 1);
    if (r.bad || c.kind < DA_CHANGE_SCOPE_CREATE || c.kind > DA_CHANGE_LAST || scope == 0 || bits > 3
        || c.mode > DA_MODE_STATIC || c.state > DA_STATE_RELEASING
        /* the last change must end the record exactly */
        || (i + 1 == n && r.p != r.end)) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "malformed record at byte %td of %zu",
                   r.p - data, len);
      return FALSE;
    }
    /* pointers only now: appending to scratch may have moved it */
    c.scope = scratch_string (scratch, scope);
    c.template_name = scratch_string (scratch, tmpl);
    c.type = scratch_string (scratch, type);
    c.alias = scratch_string (scratch, alias);
    c.tag = scratch_string (scratch, tag);
    if (!func (&c, user_data, error))
      return FALSE;
  }
  if (n == 0 && r.p != r.end) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "malformed record at byte %td of %zu", r.p - data, len);
    return FALSE;
  }
  return TRUE;
}

static gboolean
collect_change (const DaChange *change, gpointer user_data, GError **error)
{
  g_ptr_array_add (user_data, da_change_copy (change));
  return TRUE;
}

GPtrArray *
da_record_decode (const guint8 *data, gsize len, GError **error)
{
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);
  g_autoptr (GByteArray) scratch = g_byte_array_new ();

  if (!da_record_foreach (data, len, scratch, collect_change, changes, error))
    return NULL;
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
