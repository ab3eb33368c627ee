/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#define DEVADDR_COMPILATION
#include "devaddr/devaddr-version.h"

/**
 * devaddr_version_string:
 *
 * Returns: the release of this library, such as "0.1.0"
 */
const char *
devaddr_version_string (void)
{
  return PACKAGE_VERSION;
}
