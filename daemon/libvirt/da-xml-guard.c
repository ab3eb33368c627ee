/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "daemon/alloc/da-alloc-error.h"
#include "da-xml-guard.h"

#define XINCLUDE_2001 "http://www.w3.org/2001/XInclude"
#define XINCLUDE_2003 "http://www.w3.org/2003/XInclude"

typedef struct {
  const char *refused; /* why the parse was stopped, or NULL */
} Guard;

static void
refuse (void *ctx, const char *why)
{
  xmlParserCtxtPtr ctxt = ctx;
  Guard *guard = ctxt->_private;

  if (guard->refused == NULL)
    guard->refused = why;
  xmlStopParser (ctxt);
}

/* <!DOCTYPE name ...>: stop before a single declaration is read */
static void
on_internal_subset (void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
  refuse (ctx, "it has a document type declaration (<!DOCTYPE>), which may declare entities");
}

static void
on_external_subset (void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
  refuse (ctx, "it refers to an external document type definition");
}

static void
on_entity_decl (void *ctx, const xmlChar *name, int type, const xmlChar *public_id, const xmlChar *system_id,
                xmlChar *content)
{
  refuse (ctx, "it declares an entity");
}

/* called for every entity reference except the predefined &amp; &lt; &gt;
 * &quot; &apos;, which libxml2 resolves itself */
static xmlEntityPtr
on_get_entity (void *ctx, const xmlChar *name)
{
  refuse (ctx, "it refers to an entity");
  return NULL;
}

static void
on_reference (void *ctx, const xmlChar *name)
{
  refuse (ctx, "it refers to an entity");
}

static gboolean
is_xinclude (const xmlChar *href)
{
  return href != NULL && (strcmp ((const char *) href, XINCLUDE_2001) == 0
                          || strcmp ((const char *) href, XINCLUDE_2003) == 0);
}

/* what the tree holds that the parse hooks cannot see: XInclude elements
 * and namespace declarations, leftover entity nodes */
static const char *
check_tree (xmlNode *root)
{
  xmlNode *node = root;

  while (node != NULL) {
    if (node->type == XML_ENTITY_REF_NODE || node->type == XML_ENTITY_NODE || node->type == XML_ENTITY_DECL
        || node->type == XML_DTD_NODE)
      return "it refers to an entity";
    if (node->type == XML_XINCLUDE_START || node->type == XML_XINCLUDE_END)
      return "it uses XInclude";
    if (node->type == XML_ELEMENT_NODE) {
      if (node->ns != NULL && is_xinclude (node->ns->href))
        return "it uses XInclude";
      for (xmlNs *ns = node->nsDef; ns != NULL; ns = ns->next)
        if (is_xinclude (ns->href))
          return "it declares the XInclude namespace";
    }
    /* depth first, without recursion */
    if (node->type == XML_ELEMENT_NODE && node->children != NULL) {
      node = node->children;
      continue;
    }
    while (node != NULL && node != root && node->next == NULL)
      node = node->parent;
    if (node == NULL || node == root)
      break;
    node = node->next;
  }
  return NULL;
}

/* the value of encoding="..." in the XML declaration, or NULL */
static char *
declared_encoding (const char *text, gsize len)
{
  const char *end, *p;
  char quote;
  const char *value;

  /* a byte order mark may come first */
  if (len >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0) {
    text += 3;
    len -= 3;
  }
  if (len < 6 || memcmp (text, "<?xml", 5) != 0 || !g_ascii_isspace (text[5]))
    return NULL;
  end = g_strstr_len (text, (gssize) len, "?>");
  if (end == NULL)
    return NULL;
  p = g_strstr_len (text, end - text, "encoding");
  if (p == NULL)
    return NULL;
  for (p += strlen ("encoding"); p < end && g_ascii_isspace (*p); p++)
    ;
  if (p >= end || *p != '=')
    return NULL;
  for (p++; p < end && g_ascii_isspace (*p); p++)
    ;
  if (p >= end || (*p != '"' && *p != '\''))
    return NULL;
  quote = *p++;
  value = p;
  while (p < end && *p != quote)
    p++;
  return g_strndup (value, (gsize) (p - value));
}

/* after @p, the end of @close, or @end */
static const char *
skip_past (const char *p, const char *end, const char *close)
{
  const char *found = g_strstr_len (p, end - p, close);

  return found != NULL ? found + strlen (close) : end;
}

/*
 * The attributes of the element with the most of them, in one pass:
 * enough of the syntax to know when the text is inside a start tag (not
 * in a comment, a processing instruction, a CDATA section or a
 * declaration), where each attribute is one '=' outside quotes.  Where the
 * scan and the parser could see a tag differently, the parser stops at an
 * error before it gets to the attributes the scan did not count.
 */
static guint
count_max_attributes (const char *text, gsize len)
{
  const char *p = text;
  const char *end = text + len;
  guint most = 0;

  while (p < end) {
    const char *lt = memchr (p, '<', (gsize) (end - p));
    guint n = 0;
    char quote = 0;

    if (lt == NULL)
      break;
    p = lt + 1;
    if (end - p >= 3 && memcmp (p, "!--", 3) == 0) {
      p = skip_past (p + 3, end, "-->");
      continue;
    }
    if (end - p >= 8 && memcmp (p, "![CDATA[", 8) == 0) {
      p = skip_past (p + 8, end, "]]>");
      continue;
    }
    if (p < end && *p == '?') {
      p = skip_past (p + 1, end, "?>");
      continue;
    }
    if (p < end && (*p == '!' || *p == '/')) {
      p = skip_past (p + 1, end, ">");
      continue;
    }
    for (; p < end; p++) {
      if (quote != 0) {
        if (*p == quote)
          quote = 0;
      } else if (*p == '"' || *p == '\'') {
        quote = *p;
      } else if (*p == '=') {
        n++;
      } else if (*p == '>') {
        p++;
        break;
      }
    }
    most = MAX (most, n);
  }
  return most;
}

DaXmlDoc *
da_xml_parse_untrusted (const char *text, gsize len, gsize max_size, const char *what, GError **error)
{
  xmlParserCtxtPtr ctxt;
  Guard guard = { NULL };
  g_autoptr (DaXmlDoc) doc = NULL;
  g_autofree char *encoding = NULL;
  const char *why;
  guint attributes;

  static gsize initialized = 0;

  /* libxml2's globals, once, before threads race to do it */
  if (g_once_init_enter (&initialized)) {
    xmlInitParser ();
    g_once_init_leave (&initialized, 1);
  }
  if (max_size == 0)
    max_size = DA_XML_DEFAULT_MAX_SIZE;
  if (what == NULL)
    what = "the XML";
  if (text == NULL || len == 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s is empty", what);
    return NULL;
  }
  if (len > max_size || len > G_MAXINT) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s is refused: it is %" G_GSIZE_FORMAT " bytes, more than the limit of %" G_GSIZE_FORMAT,
                 what, len, max_size);
    return NULL;
  }
  encoding = declared_encoding (text, len);
  if (encoding != NULL && g_ascii_strcasecmp (encoding, "UTF-8") != 0 && g_ascii_strcasecmp (encoding, "UTF8") != 0) {
    g_autoptr (GString) shown = g_string_new (NULL);

    for (const char *c = encoding; *c != '\0' && shown->len < 32; c++)
      g_string_append_c (shown, g_ascii_isprint (*c) ? *c : '?');
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s is refused: it declares the encoding \"%s\"; XML in a request is UTF-8", what, shown->str);
    return NULL;
  }
  attributes = count_max_attributes (text, len);
  if (attributes > DA_XML_MAX_ATTRIBUTES) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s is refused: an element has %u attributes, more than the limit of %d", what, attributes,
                 DA_XML_MAX_ATTRIBUTES);
    return NULL;
  }
  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_LIMIT, "cannot allocate an XML parser");
    return NULL;
  }
  ctxt->_private = &guard;
  ctxt->sax->internalSubset = on_internal_subset;
  ctxt->sax->externalSubset = on_external_subset;
  ctxt->sax->entityDecl = on_entity_decl;
  ctxt->sax->getEntity = on_get_entity;
  ctxt->sax->getParameterEntity = on_get_entity;
  ctxt->sax->reference = on_reference;
  /* no NOENT, no DTDLOAD, no DTDATTR, no XINCLUDE, no HUGE: nothing is
   * fetched or expanded, and libxml2's depth and size limits stay on;
   * the text is read as the UTF-8 it is (IGNORE_ENC) */
  doc = xmlCtxtReadMemory (ctxt, text, (int) len, NULL, "UTF-8",
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | XML_PARSE_NOBLANKS
                           | XML_PARSE_IGNORE_ENC);
  if (guard.refused != NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s is refused: %s", what, guard.refused);
    xmlFreeParserCtxt (ctxt);
    return NULL;
  }
  if (doc == NULL || !ctxt->wellFormed) {
    xmlErrorPtr last = xmlCtxtGetLastError (ctxt);
    g_autofree char *message = g_strdup (last != NULL && last->message != NULL ? last->message : "not well-formed");

    g_strstrip (message);
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s is not well-formed XML: %s (line %d)", what,
                 message, last != NULL ? last->line : 0);
    xmlFreeParserCtxt (ctxt);
    return NULL;
  }
  xmlFreeParserCtxt (ctxt);
  if (doc->intSubset != NULL || doc->extSubset != NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s is refused: it has a document type declaration (<!DOCTYPE>), which may declare entities", what);
    return NULL;
  }
  if (xmlDocGetRootElement (doc) == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s has no root element", what);
    return NULL;
  }
  why = check_tree (xmlDocGetRootElement (doc));
  if (why != NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s is refused: %s", what, why);
    return NULL;
  }
  return g_steal_pointer (&doc);
}

char *
da_xml_node_to_string (xmlNode *node, gboolean format)
{
  xmlBufferPtr buf = xmlBufferCreate ();
  char *out = NULL;

  if (buf == NULL)
    return NULL;
  if (xmlNodeDump (buf, node->doc, node, 0, format ? 1 : 0) >= 0)
    out = g_strndup ((const char *) xmlBufferContent (buf), xmlBufferLength (buf));
  xmlBufferFree (buf);
  return out;
}
