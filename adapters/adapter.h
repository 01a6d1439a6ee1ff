/* lmcgw — the adapter interface: one wire format <-> the canonical model.
 *
 * An adapter is a const struct of function pointers and facts, in the style of
 * a Fluent Bit plugin. Built-in adapters are compiled in (adapters/builtin.c);
 * others come from shared objects (see GW_ADAPTER_PLUGIN below) or from a pair
 * of XSLT stylesheets declared in the config (adapters/xslt).
 *
 * Contract for every adapter:
 * - decode() turns a message into a gw_consignment the caller owns and frees
 *   with gw_model_free, also on failure (it may be partly filled). It returns
 *   0, or a negative GW_E* code with at least one "error" problem added. It
 *   may add warnings and still return 0.
 * - encode() writes the consignment in the adapter's format: an xmlDoc for XML
 *   formats (so signing needs no re-parse), bytes for the others. Returns 0 or
 *   a negative GW_E* code with an error problem. Fields it cannot carry it
 *   reports itself only when `carries` cannot say so (e.g. a second exporter);
 *   the registry reports every set field outside `carries` as a warning
 *   "lossy_field", so no field is dropped in silence.
 * - Both are reentrant: they run on worker threads concurrently. Any state
 *   lives in ctx, set up by init() and read-only afterwards.
 * - Problem paths are paths in the wire format (XPath-like for XML, segment
 *   and element positions for EDIFACT, JSON pointer for JSON), lines are
 *   1-based lines of the input when known.
 */
#ifndef GW_ADAPTERS_ADAPTER_H
#define GW_ADAPTERS_ADAPTER_H

#include <libxml/tree.h>
#include <stddef.h>

#include "model/model.h"
#include "pipeline/problems.h"

/* Bumped whenever this struct or the model changes layout. A plugin built for
 * another ABI is refused at load time with a message naming both numbers. */
#define GW_ADAPTER_ABI 1

typedef struct gw_adapter_input {
  const char *data;    /* the message bytes (always set) */
  size_t len;
  xmlDocPtr doc;       /* XML formats: the parsed, already XSD-valid document
                          (borrowed); NULL for other formats */
  const char *name;    /* file name or message id, for messages; may be NULL */
} gw_adapter_input;

typedef struct gw_adapter_output {
  xmlDocPtr doc;       /* XML formats: the encoded document; caller frees */
  char *data;          /* other formats: malloc'd bytes; caller frees */
  size_t len;
} gw_adapter_output;

/* An XML document type the adapter decodes: root element and namespace
 * ("" = no namespace), the canonical kind it yields, and the XSD (path
 * relative to the schema directory) it must be valid against before decode(). */
typedef struct gw_adapter_root {
  const char *local;
  const char *ns;
  const char *kind;    /* GW_KIND_* */
  const char *xsd;     /* NULL: no XSD (the adapter checks structure itself) */
} gw_adapter_root;

typedef struct gw_adapter gw_adapter;

struct gw_adapter {
  int abi;                 /* GW_ADAPTER_ABI */
  const char *name;        /* "wco-dec", "sps", "cusdec", "asycuda", "json" */
  const char *description; /* one line for `lmcgw formats` */
  const char *media_type;  /* Content-Type it is chosen by and sent with */
  const char *kinds;       /* comma-separated GW_KIND_* it can encode */
  const gw_adapter_root *roots; /* XML formats, terminated by {NULL}; NULL otherwise */
  /* Index-free canonical paths this format carries both ways, e.g.
   * "items.hs_code", "parties.address.city"; a trailing ".*" covers a subtree;
   * "response:mrn" holds only for documents of that kind; "parties.role=X"
   * entries, when present, list the only party roles it has. NULL-terminated.
   * Drives the lossy-field warnings and the round-trip tests. */
  const char *const *carries;

  /* Non-XML formats: 0 (not mine) to 100 (certainly mine). XML formats leave
   * it NULL and are detected by roots. */
  int (*detect)(const char *data, size_t len);
  int (*decode)(const gw_adapter *a, const gw_adapter_input *in, gw_consignment *out, gw_problems *p);
  int (*encode)(const gw_adapter *a, const gw_consignment *c, gw_adapter_output *out, gw_problems *p);

  /* Optional. init() runs once at start-up, on the registry's own copy of
   * the adapter (so it may set ctx), with the directory schemas are relative
   * to. exit() undoes it; it is called for every adapter of a registry being
   * freed, also one whose init() never ran or failed, so it copes with a NULL
   * ctx. */
  int (*init)(gw_adapter *a, const char *schema_dir, gw_error *err);
  void (*exit)(gw_adapter *a);
  void *ctx;
};

/* Shared objects: export these two (Mosquitto-style). version() returns the
 * GW_ADAPTER_ABI it was built with; init() returns a gw_adapter the plugin
 * owns for the life of the process (the registry copies it). */
#define GW_ADAPTER_PLUGIN_VERSION_SYM "lmcgw_adapter_plugin_version"
#define GW_ADAPTER_PLUGIN_INIT_SYM "lmcgw_adapter_plugin_init"
typedef int (*gw_adapter_plugin_version_fn)(void);
typedef const gw_adapter *(*gw_adapter_plugin_init_fn)(void);

/* Helpers every adapter may use (adapters/common.c). */

/* Text content of the first element matching the XPath (namespace prefixes as
 * registered on ctx), trimmed, into *slot. No match leaves *slot untouched. */
struct _xmlXPathContext;
int gw_ad_xpath_str(struct _xmlXPathContext *x, xmlNodePtr ctxnode, const char *xpath, char **slot);

/* Child element of parent with this local name (any namespace), NULL if none. */
xmlNodePtr gw_ad_child(xmlNodePtr parent, const char *local);
/* Trimmed text of gw_ad_child(parent, local) into *slot (copy). */
int gw_ad_child_str(xmlNodePtr parent, const char *local, char **slot);
/* Adds <prefix:local>text</prefix:local> under parent when text is set. */
xmlNodePtr gw_ad_add(xmlNodePtr parent, xmlNsPtr ns, const char *local, const char *text);

#endif
