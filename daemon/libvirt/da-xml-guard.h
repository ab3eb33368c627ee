/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

G_BEGIN_DECLS

/*
 * Every XML document devaddr reads comes from a client and is hostile until
 * parsed.  da_xml_parse_untrusted() parses it without network access and
 * without loading or substituting anything, and refuses, before libvirt-
 * gconfig (which parses with libxml2's defaults) ever sees it:
 *   - a document larger than the caller's limit,
 *   - an XML declaration naming an encoding other than UTF-8: the text came
 *     in a JSON string, so it is UTF-8 whatever it says, and it is always
 *     read as UTF-8,
 *   - an element with more than DA_XML_MAX_ATTRIBUTES attributes (namespace
 *     declarations included), found before the parse starts: libxml2 takes
 *     time quadratic in the attributes of one element,
 *   - any document type declaration (<!DOCTYPE ...>, internal or external),
 *     which is where entities are declared: the parse stops right there, so
 *     a billion-laughs document costs nothing and an external entity is
 *     never read,
 *   - any entity reference other than the five predefined ones,
 *   - XInclude elements or namespace declarations.
 * Errors are DA_ALLOC_ERROR_INVALID and say why.
 */

#define DA_XML_DEFAULT_MAX_SIZE ((gsize) 1024 * 1024)

/* libvirt's elements have a few attributes, its busiest a few dozen */
#define DA_XML_MAX_ATTRIBUTES 256

typedef xmlDoc DaXmlDoc;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaXmlDoc, xmlFreeDoc)

/* max_size 0: DA_XML_DEFAULT_MAX_SIZE; what names the input in messages */
DaXmlDoc *da_xml_parse_untrusted (const char *text, gsize len, gsize max_size, const char *what, GError **error);

/* an element serialized (no XML declaration, nothing around it),
 * indented when format is set */
char *da_xml_node_to_string (xmlNode *node, gboolean format);

G_END_DECLS
