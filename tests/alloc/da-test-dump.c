/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-test-dump.h"

static void
dump_line (const DaChange *c, gpointer user_data)
{
  g_string_append_printf (user_data, "%s scope=%s tmpl=%s type=%s alias=%s tag=%s %" G_GUINT64_FORMAT
                          "-%" G_GUINT64_FORMAT " n=%" G_GUINT64_FORMAT " mode=%d state=%d flags=%u time=%" G_GINT64_FORMAT "\n",
                          da_change_kind_to_string (c->kind), c->scope, c->template_name, c->type, c->alias, c->tag,
                          c->start, c->end, c->count, c->mode, c->state, c->flags, c->time);
}

char *
da_test_dump_at (DaEngine *engine, gint64 now)
{
  GString *out = g_string_new (NULL);

  da_engine_dump (engine, now, dump_line, out);
  return g_string_free (out, FALSE);
}

char *
da_test_dump (DaEngine *engine)
{
  return da_test_dump_at (engine, 0);
}
