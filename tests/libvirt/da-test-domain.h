/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/libvirt/da-domain.h"

G_BEGIN_DECLS

/*
 * What both the domain unit test and the domain fuzz target check of a
 * domain that assigns.  Without check.h: each caller turns a FALSE into
 * its own failure (ck_assert_msg, da_fuzz_check).
 */

#define DA_TEST_DOMAIN_ERROR (da_test_domain_error_quark ())
GQuark da_test_domain_error_quark (void);

/* the contract of da-domain.h for xml, which da_domain_assign() on engine
 * (VM vm, with options, at now) turned into first: assigned again it
 * gives the same XML, journals nothing and changes nothing; first's XML
 * fed back gives itself again and keeps every reservation (the addresses
 * now the user's); imported on fresh, an engine without vm, it clashes
 * with nothing, adds nothing and holds the same reservations.  FALSE and
 * the first property that does not hold in error. */
gboolean da_test_domain_check_assigned (DaEngine *engine, DaEngine *fresh, const char *vm, const char *xml, gsize len,
                                        const DaDomainResult *first, const DaDomainOptions *options, gint64 now,
                                        GError **error);

G_END_DECLS
