/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include "daemon/alloc/da-alloc-error.h"
#include "da-domain-private.h"

/*
 * The completed XML (a domain, or the device device.attach returns) is
 * checked against libvirt's own schema when libvirt's schemas are installed.  Parsing domain.rng takes a while, so the parsed
 * schema is kept for the life of the process (one per path).
 */

#ifndef DA_LIBVIRT_SCHEMADIR
#define DA_LIBVIRT_SCHEMADIR "/usr/share/libvirt/schemas"
#endif

static GMutex schema_lock;
static GHashTable *schemas; /* path -> xmlRelaxNGPtr, or NULL when it cannot be read */

const char *
da_domain_default_schema (void)
{
  return DA_LIBVIRT_SCHEMADIR "/domain.rng";
}

static void
collect_error (void *user_data, xmlErrorPtr error)
{
  GString *out = user_data;

  if (error == NULL || error->message == NULL || out->len > 2000)
    return;
  if (out->len > 0)
    g_string_append (out, "; ");
  g_string_append_printf (out, "line %d: %s", error->line, error->message);
  while (out->len > 0 && (out->str[out->len - 1] == '\n' || out->str[out->len - 1] == ' '))
    g_string_truncate (out, out->len - 1);
}

static void
ignore_error (void *user_data, xmlErrorPtr error)
{
}

/* the parsed schema, or NULL (and a log line once) when there is none */
static xmlRelaxNGPtr
load_schema (const char *path)
{
  xmlRelaxNGParserCtxtPtr parser;
  xmlRelaxNGPtr rng;

  if (schemas == NULL)
    schemas = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (g_hash_table_contains (schemas, path))
    return g_hash_table_lookup (schemas, path);
  rng = NULL;
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_message ("%s is not installed: domain XML is not validated against libvirt's schema", path);
  } else {
    parser = xmlRelaxNGNewParserCtxt (path);
    if (parser != NULL) {
      xmlRelaxNGSetParserStructuredErrors (parser, ignore_error, NULL);
      rng = xmlRelaxNGParse (parser);
      xmlRelaxNGFreeParserCtxt (parser);
    }
    if (rng == NULL)
      g_warning ("cannot parse %s: domain XML is not validated against libvirt's schema", path);
  }
  g_hash_table_insert (schemas, g_strdup (path), rng);
  return rng;
}

static gboolean
validate (xmlDoc *doc, const char *schema, const char *what, GError **error)
{
  xmlRelaxNGValidCtxtPtr valid;
  g_autoptr (GString) errors = g_string_new (NULL);
  xmlRelaxNGPtr rng;
  int rc;

  g_mutex_lock (&schema_lock);
  rng = load_schema (schema);
  if (rng == NULL) {
    g_mutex_unlock (&schema_lock);
    return TRUE;
  }
  valid = xmlRelaxNGNewValidCtxt (rng);
  if (valid == NULL) {
    g_mutex_unlock (&schema_lock);
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_LIMIT, "cannot allocate a schema validation context");
    return FALSE;
  }
  xmlRelaxNGSetValidStructuredErrors (valid, collect_error, errors);
  rc = xmlRelaxNGValidateDoc (valid, doc);
  xmlRelaxNGFreeValidCtxt (valid);
  g_mutex_unlock (&schema_lock);
  if (rc != 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s does not validate against %s: %s", what,
                 schema, errors->len > 0 ? errors->str : "invalid");
    return FALSE;
  }
  return TRUE;
}

gboolean
da_domain_validate_schema (xmlDoc *doc, const char *schema, GError **error)
{
  return validate (doc, schema, "the domain XML", error);
}

/* domain.rng knows devices only inside a domain: a copy of the element in
 * the least domain the schema takes */
gboolean
da_device_validate_schema (xmlNode *device, const char *schema, GError **error)
{
  static const char shell[] = "<domain type='qemu'><name>devaddr-device</name><memory>65536</memory>"
                              "<os><type>hvm</type></os><devices/></domain>";
  xmlDoc *doc = xmlReadMemory (shell, sizeof (shell) - 1, NULL, NULL, XML_PARSE_NONET);
  xmlNode *devices;
  gboolean ok;

  if (doc == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_LIMIT, "cannot build a document to validate the device in");
    return FALSE;
  }
  devices = xmlDocGetRootElement (doc)->last;
  xmlAddChild (devices, xmlDocCopyNode (device, doc, 1));
  ok = validate (doc, schema, "the device XML", error);
  xmlFreeDoc (doc);
  return ok;
}
