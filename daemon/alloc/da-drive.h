/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* disk buses whose drive addresses follow from the target name */
typedef enum {
  DA_DRIVE_BUS_IDE,
  DA_DRIVE_BUS_SATA,
  DA_DRIVE_BUS_SCSI,
  DA_DRIVE_BUS_FDC,
} DaDriveBus;

typedef struct {
  guint controller;
  guint bus;
  guint target;
  guint unit;
} DaDriveAddress;

/* "sda" -> 0, "hdz" -> 25, "vdaa" -> 26: the letters after a known
 * prefix (sd, hd, vd, xvd, fd, ubd) count in bijective base 26 */
gboolean da_drive_name_to_index (const char *name, guint *index, GError **error);
gboolean da_drive_bus_from_string (const char *text, DaDriveBus *bus);
const char *da_drive_bus_to_string (DaDriveBus bus);
/* the name of the drive address type of a bus (drive-ide, ...) */
const char *da_drive_bus_type (DaDriveBus bus);
/* the address of drive number index on a bus */
void da_drive_address_from_index (DaDriveBus bus, guint index, DaDriveAddress *address);

G_END_DECLS
