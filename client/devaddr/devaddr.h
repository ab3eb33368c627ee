/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/**
 * SECTION:devaddr
 * @title: libdevaddr
 * @short_description: client library of the devaddr allocation service
 *
 * libdevaddr talks to devaddrd, the daemon that hands out the addresses
 * virtual-machine devices live at and keeps them durably.  Include only
 * this header:
 *
 * |[<!-- language="C" -->
 * #include <devaddr/devaddr.h>
 * ]|
 *
 * and build with `pkg-config --cflags --libs devaddr`.  Start with
 * #DevaddrClient.
 */

#define __DEVADDR_H_INSIDE__

#include <devaddr/devaddr-version.h>
#include <devaddr/devaddr-error.h>
#include <devaddr/devaddr-enums.h>
#include <devaddr/devaddr-reservation.h>
#include <devaddr/devaddr-reserve-request.h>
#include <devaddr/devaddr-vm.h>
#include <devaddr/devaddr-pool-stats.h>
#include <devaddr/devaddr-server-info.h>
#include <devaddr/devaddr-type-info.h>
#include <devaddr/devaddr-template-info.h>
#include <devaddr/devaddr-change.h>
#include <devaddr/devaddr-assignment.h>
#include <devaddr/devaddr-import-result.h>
#include <devaddr/devaddr-attachment.h>
#include <devaddr/devaddr-client.h>

#undef __DEVADDR_H_INSIDE__
