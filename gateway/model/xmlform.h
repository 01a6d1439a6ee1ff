/* lmcgw — the canonical model as XML, namespace urn:lmcgw:canonical:1.
 *
 * This is the form XSLT-declared national formats translate to and from.
 * Element names are the field names of model.c; a repeated part is a
 * wrapper named after the field holding one element per entry named after
 * its type: <parties><party><role>exporter</role>...</party></parties>.
 * Absent fields are left out. Unknown elements are errors. */
#ifndef GW_MODEL_XMLFORM_H
#define GW_MODEL_XMLFORM_H

#include <libxml/tree.h>

#include "model/model.h"
#include "pipeline/problems.h"

#define GW_CANONICAL_NS "urn:lmcgw:canonical:1"

/* Returns a new document (caller frees with xmlFreeDoc), NULL on ENOMEM. */
xmlDocPtr gw_model_to_xml(const gw_consignment *c);

/* Reads a canonical document into *out (zeroed by the caller, freed with
 * gw_model_free also on failure). Returns 0, GW_ESCHEMA with problems
 * (path and line of the offending element), or GW_ENOMEM. */
int gw_model_from_xml(xmlDocPtr doc, gw_consignment *out, gw_problems *p);

#endif
