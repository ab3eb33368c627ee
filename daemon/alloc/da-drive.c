/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "da-alloc-error.h"
#include "da-drive.h"

static const char *const prefixes[] = { "xvd", "ubd", "sd", "hd", "vd", "fd", NULL };
static const char *const bus_names[] = { "ide", "sata", "scsi", "fdc", NULL };
static const char *const bus_types[] = { "drive-ide", "drive-sata", "drive-scsi", "drive-fdc", NULL };

gboolean
da_drive_name_to_index (const char *name, guint *index, GError **error)
{
  const char *p = NULL;
  guint64 value = 0;

  for (guint i = 0; name != NULL && prefixes[i] != NULL; i++) {
    if (g_str_has_prefix (name, prefixes[i])) {
      p = name + strlen (prefixes[i]);
      break;
    }
  }
  if (p == NULL || *p == '\0') {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "disk target \"%s\" is not a prefix (sd, hd, vd, xvd, fd, ubd) followed by letters",
                 name != NULL ? name : "");
    return FALSE;
  }
  for (; *p != '\0'; p++) {
    if (*p < 'a' || *p > 'z') {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "disk target \"%s\" has '%c' where a letter a-z belongs", name, *p);
      return FALSE;
    }
    value = value * 26 + (guint64) (*p - 'a' + 1);
    if (value > G_MAXINT32) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "disk target \"%s\" is too long", name);
      return FALSE;
    }
  }
  *index = (guint) (value - 1);
  return TRUE;
}

gboolean
da_drive_bus_from_string (const char *text, DaDriveBus *bus)
{
  for (guint i = 0; text != NULL && bus_names[i] != NULL; i++) {
    if (strcmp (bus_names[i], text) == 0) {
      *bus = (DaDriveBus) i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
da_drive_bus_to_string (DaDriveBus bus)
{
  return bus <= DA_DRIVE_BUS_FDC ? bus_names[bus] : "unknown";
}

const char *
da_drive_bus_type (DaDriveBus bus)
{
  return bus <= DA_DRIVE_BUS_FDC ? bus_types[bus] : NULL;
}

void
da_drive_address_from_index (DaDriveBus bus, guint index, DaDriveAddress *address)
{
  memset (address, 0, sizeof (*address));
  switch (bus) {
  case DA_DRIVE_BUS_IDE:
    /* two buses of master and slave per controller */
    address->controller = index / 4;
    address->bus = (index % 4) / 2;
    address->unit = index % 2;
    break;
  case DA_DRIVE_BUS_SATA:
    address->controller = index / 6;
    address->unit = index % 6;
    break;
  case DA_DRIVE_BUS_FDC:
    address->controller = index / 2;
    address->unit = index % 2;
    break;
  case DA_DRIVE_BUS_SCSI:
  default:
    address->controller = index / 7;
    address->unit = index % 7;
    break;
  }
}
