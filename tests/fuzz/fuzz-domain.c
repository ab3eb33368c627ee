/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-domain: domain and device XML through daemon/libvirt as
 * domain.assign, domain.import, device.attach and device.detach take it,
 * da-xml-guard.c first (the da_domain_* functions parse through it).
 *
 * A domain (the input's root element is <domain>) is assigned on a fresh
 * engine.  When that succeeds, the contract of da-domain.h is checked:
 * assigning it again gives the same XML and journals nothing; the result
 * fed back gives itself again and keeps every address; imported on another
 * fresh engine the result clashes with nothing and holds the same
 * addresses.  The input is also imported as it is, whole and partially.
 *
 * Anything else is a device: it is attached to an i440fx and a q35 VM
 * (the README's example domains, assigned once), and what attach returns
 * detaches again.  Every change is rolled back and the engine must be as
 * it was.
 *
 * Every failure must come with an error.  libvirt's RelaxNG schema is not
 * checked (DA_DOMAIN_NO_SCHEMA): validating every result would cost more
 * than everything else per input, and the schema is optional in the daemon
 * too.
 */
#include "config.h"

#include <string.h>

#include "daemon/libvirt/da-domain.h"
#include "tests/alloc/da-test-dump.h"
#include "tests/libvirt/da-test-domain.h"
#include "fuzz-util.h"

#define FUZZ_NOW ((gint64) 1700000000 * G_USEC_PER_SEC)

static DaCatalog *catalog;
static DaEngine *attach_engine;
static char *attach_baseline;

static const DaDomainOptions options = { 0, DA_DOMAIN_NO_SCHEMA, NULL };
static const DaDomainOptions partial_options = { 0, DA_DOMAIN_NO_SCHEMA | DA_DOMAIN_IMPORT_PARTIAL, NULL };

static DaEngine *
engine_new (void)
{
  DaEngine *engine = da_engine_new (catalog);

  da_engine_set_seed (engine, 1);
  return engine;
}

static void
check_failure (DaDomainResult *result, GError *error, const char *what)
{
  if (result == NULL)
    da_fuzz_check (error != NULL && error->message != NULL, "%s failed without an error", what);
}

static void
check_domain (const char *xml, gsize len)
{
  g_autoptr (DaEngine) engine = engine_new ();
  g_autoptr (DaEngine) imported = engine_new ();
  g_autoptr (DaDomainResult) first = NULL;
  g_autoptr (GError) error = NULL;

  first = da_domain_assign (engine, "vm", xml, len, &options, FUZZ_NOW, NULL, &error);
  check_failure (first, error, "assign");
  if (first == NULL)
    return;
  da_fuzz_check (da_test_domain_check_assigned (engine, imported, "vm", xml, len, first, &options, FUZZ_NOW, &error),
                 "%s", error->message);
}

static void
check_import (const char *xml, gsize len, const DaDomainOptions *opts)
{
  g_autoptr (DaEngine) engine = engine_new ();
  g_autoptr (DaDomainResult) result = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *empty = da_test_dump_at (engine, FUZZ_NOW);

  result = da_domain_import (engine, "vm", xml, len, opts, FUZZ_NOW, NULL, &error);
  check_failure (result, error, "import");
  if (result == NULL) {
    g_autofree char *after = da_test_dump_at (engine, FUZZ_NOW);

    /* all or nothing */
    da_fuzz_check (strcmp (empty, after) == 0, "a failed import left changes:\n%s", after);
  }
}

/* ------------------------------------------------------------------ */

static void
attach_init (void)
{
  static const struct {
    const char *vm;
    const char *file;
  } vms[] = { { "vm1", "domain-pc.xml" }, { "vm2", "domain-q35.xml" } };

  attach_engine = engine_new ();
  for (guint i = 0; i < G_N_ELEMENTS (vms); i++) {
    g_autofree char *path = g_build_filename (da_fuzz_srcdir (), "examples", vms[i].file, NULL);
    g_autoptr (DaDomainResult) result = NULL;
    g_autoptr (GError) error = NULL;
    g_autofree char *xml = NULL;
    gsize len;

    da_fuzz_check (g_file_get_contents (path, &xml, &len, &error), "%s", error->message);
    result = da_domain_assign (attach_engine, vms[i].vm, xml, len, &options, FUZZ_NOW, NULL, &error);
    da_fuzz_check (result != NULL, "%s: %s", path, error->message);
  }
  attach_baseline = da_test_dump_at (attach_engine, FUZZ_NOW);
}

static void
check_device (const char *xml, gsize len)
{
  static const char *const vms[] = { "vm1", "vm2" };

  if (attach_engine == NULL)
    attach_init ();
  for (guint i = 0; i < G_N_ELEMENTS (vms); i++) {
    DaTxn *txn = da_txn_new (attach_engine);
    g_autoptr (DaDomainResult) attached = NULL;
    g_autoptr (GError) error = NULL;
    g_autofree char *after = NULL;
    int state = 0;

    attached = da_device_attach (attach_engine, vms[i], xml, len, &options, FUZZ_NOW, txn, &error);
    check_failure (attached, error, "attach");
    if (attached != NULL) {
      /* what attach returned names the device it attached */
      da_fuzz_check (da_device_detach (attach_engine, vms[i], attached->xml, strlen (attached->xml), NULL, &options,
                                       DA_RELEASE_NOW, FUZZ_NOW, txn, &state, &error),
                     "attached to %s, the device does not detach: %s\n%s", vms[i], error->message, attached->xml);
    } else {
      /* not attachable: maybe it names a device the VM has */
      g_clear_error (&error);
      if (!da_device_detach (attach_engine, vms[i], xml, len, NULL, &options, DA_RELEASE_BEGIN, FUZZ_NOW, txn, &state,
                             &error))
        da_fuzz_check (error != NULL, "detach failed without an error");
    }
    da_txn_rollback (txn);
    after = da_test_dump_at (attach_engine, FUZZ_NOW);
    da_fuzz_check (strcmp (after, attach_baseline) == 0, "attach and detach, rolled back, left changes:\n%s---\n%s",
                   attach_baseline, after);
  }
}

/* the name of the root element, roughly: what decides domain or device */
static gboolean
looks_like_domain (const char *xml, gsize len)
{
  const char *p = xml;
  const char *end = xml + len;

  /* skip the XML declaration, comments and processing instructions */
  while (p < end) {
    const char *lt = memchr (p, '<', (gsize) (end - p));

    if (lt == NULL || lt + 1 >= end)
      return FALSE;
    if (lt[1] != '?' && lt[1] != '!')
      return (gsize) (end - lt) > 7 && strncmp (lt + 1, "domain", 6) == 0;
    p = lt + 1;
  }
  return FALSE;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  const char *xml = (const char *) data;

  if (catalog == NULL) {
    da_fuzz_init ();
    catalog = da_fuzz_load_catalog ();
  }
  if (looks_like_domain (xml, size)) {
    check_domain (xml, size);
    check_import (xml, size, &options);
    check_import (xml, size, &partial_options);
  } else {
    check_device (xml, size);
  }
  return 0;
}
