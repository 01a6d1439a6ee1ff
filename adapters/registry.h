/* lmcgw — the adapter registry: every format this gateway speaks, how each is
 * recognised, validated, decoded into the canonical model and encoded again.
 *
 * Built once at start-up (built-ins, then shared-object plugins and XSLT
 * formats from the config), then read-only: worker threads share it.
 *
 * Ownership: gw_registry_new returns a registry the caller frees with
 * gw_registry_free. gw_decoded and gw_encoded hold heap memory the caller
 * releases with gw_decoded_free / gw_encoded_free. */
#ifndef GW_ADAPTERS_REGISTRY_H
#define GW_ADAPTERS_REGISTRY_H

#include <stddef.h>

#include "adapters/adapter.h"
#include "config/config.h"
#include "core/error.h"
#include "pipeline/problems.h"

typedef struct gw_registry gw_registry;

/* schema_dir: where adapters' XSD paths are relative to (<data>/schemas).
 * cfg (may be NULL): plugins and XSLT formats to add, and XSD overrides
 * (official schemas) by root element. */
int gw_registry_new(const char *schema_dir, const gw_config *cfg, gw_registry **out, gw_error *err);
void gw_registry_free(gw_registry *r);

size_t gw_registry_count(const gw_registry *r);
const gw_adapter *gw_registry_at(const gw_registry *r, size_t i);
const gw_adapter *gw_registry_find(const gw_registry *r, const char *name);
/* 1 when adapter a can encode documents of this kind (GW_KIND_*). */
int gw_adapter_can_encode(const gw_adapter *a, const char *kind);
/* The XSD path an adapter validates a root against (after overrides), NULL if none. */
const char *gw_registry_xsd(const gw_registry *r, const gw_adapter *a, size_t root_index);

typedef struct gw_decoded {
  const gw_adapter *adapter; /* the format it was recognised as */
  const char *kind;          /* GW_KIND_* (static) */
  xmlDocPtr doc;             /* XML formats: the parsed document (owned) */
  gw_consignment model;      /* owned */
} gw_decoded;

/* Recognises, parses (hardened XML), validates (XSD or the adapter's own
 * structure check) and decodes. format: an adapter name, a media type, or
 * NULL to sniff. Problems get what and where; returns 0 when there is no
 * error (warnings may be present), GW_EPARSE (not well-formed), GW_ESCHEMA
 * (invalid), GW_ENOTFOUND (no adapter recognises it) or GW_ENOMEM. On error
 * *out holds nothing that needs freeing beyond gw_decoded_free. */
int gw_registry_decode(const gw_registry *r, const char *data, size_t len, const char *format, gw_decoded *out,
                       gw_problems *p);
void gw_decoded_free(gw_decoded *d);

typedef struct gw_encoded {
  gw_adapter_output out;     /* doc for XML formats, data/len otherwise */
  char *bytes;               /* serialised form (always set on success) */
  size_t len;
} gw_encoded;

/* Encodes the model with adapter a. Every set field the format cannot carry
 * is reported as a warning "lossy_field" (path = canonical path). XML output
 * is checked against the adapter's XSD, so we never emit what we would refuse.
 * serialise: 0 leaves bytes NULL for XML (the caller signs the doc first). */
int gw_registry_encode(const gw_registry *r, const gw_adapter *a, const gw_consignment *c, int serialise,
                       gw_encoded *out, gw_problems *p);
void gw_encoded_free(gw_encoded *e);

/* Every format a country profile names exists and can carry the kind it is
 * named for; run at start-up so a wrong profile stops the gateway, not a message. */
int gw_registry_check_profiles(const gw_registry *r, const gw_config *cfg, gw_error *err);

/* Serialises an XML doc the way the gateway emits it (UTF-8, no reformatting). */
int gw_xml_serialise(xmlDocPtr doc, char **bytes, size_t *len);

/* 1 when the canonical path (indices allowed: "items[2].hs_code") is covered
 * by the adapter's carries list for documents of this kind (NULL: any kind). */
int gw_adapter_carries(const gw_adapter *a, const char *kind, const char *path);

#endif
