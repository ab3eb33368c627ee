/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-alloc-error.h"

G_DEFINE_QUARK (da-alloc-error-quark, da_alloc_error)

/* the bytes of the usual name: printable ASCII but '/' and '\\' */
static const guint8 plain_bytes[256] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
  /* 0x80 and up: UTF-8, checked the slow way */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

gboolean
da_name_validate (const char *what, const char *name, GError **error)
{
  gsize len;

  return da_name_validate_len (what, name, &len, error);
}

gboolean
da_name_validate_len (const char *what, const char *name, gsize *length, GError **error)
{
  gsize len;

  if (name == NULL || *name == '\0') {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s must not be empty", what);
    return FALSE;
  }
  /* the usual name, printable ASCII and longer than "..", in one pass */
  {
    const guchar *p = (const guchar *) name;

    while (plain_bytes[*p])
      p++;
    len = (gsize) (p - (const guchar *) name);
    *length = len;
    if (*p == '\0' && len <= DA_NAME_MAX && len > 2)
      return TRUE;
  }
  len = strlen (name);
  *length = len;
  if (len > DA_NAME_MAX) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s is %" G_GSIZE_FORMAT " bytes long; the limit is %d", what, len, DA_NAME_MAX);
    return FALSE;
  }
  /* printable ASCII needs no Unicode tables */
  {
    gboolean plain = TRUE;

    for (const char *p = name; *p != '\0' && plain; p++)
      plain = (guchar) *p >= 0x20 && (guchar) *p < 0x7f && *p != '/' && *p != '\\';
    if (plain)
      return strcmp (name, ".") != 0 && strcmp (name, "..") != 0 ? TRUE
             : (g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s must not be \"%s\"", what, name), FALSE);
  }
  if (!g_utf8_validate (name, (gssize) len, NULL)) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s is not valid UTF-8", what);
    return FALSE;
  }
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);

    if (c == '/' || c == '\\' || g_unichar_iscntrl (c)) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s contains the character U+%04X, which is not allowed", what, c);
      return FALSE;
    }
  }
  if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s must not be \"%s\"", what, name);
    return FALSE;
  }
  return TRUE;
}
