/* lmcgw — the adapter registry (see registry.h). */
#include "adapters/registry.h"

#include <dlfcn.h>
#include <libxml/xmlsave.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/builtin.h"
#include "adapters/xslt/xslt.h"
#include "pipeline/xml.h"

#define MAX_ADAPTERS 64

/* One XML document type: which adapter decodes it and what validates it. */
typedef struct root_entry {
  const gw_adapter *a;
  size_t root_index;
  gw_schema_cfg cfg; /* root, ns, xsd (absolute); only the first three are used */
} root_entry;

struct gw_registry {
  const gw_adapter *a[MAX_ADAPTERS];
  gw_adapter *owned[MAX_ADAPTERS]; /* the registry's copy of every adapter */
  void *dl[MAX_ADAPTERS];
  size_t n, n_owned, n_dl;
  root_entry *roots;
  size_t n_roots;
  gw_schema_cfg *scfg; /* copies of the cfgs of roots with an XSD (the first ones) */
  gw_schemas *schemas; /* compiled once from scfg */
};

size_t gw_registry_count(const gw_registry *r) { return r->n; }
const gw_adapter *gw_registry_at(const gw_registry *r, size_t i) { return i < r->n ? r->a[i] : NULL; }

const gw_adapter *gw_registry_find(const gw_registry *r, const char *name) {
  for (size_t i = 0; name && i < r->n; i++)
    if (!strcmp(r->a[i]->name, name)) return r->a[i];
  return NULL;
}

int gw_adapter_can_encode(const gw_adapter *a, const char *kind) {
  size_t k = strlen(kind);
  for (const char *s = a->kinds; s && *s;) {
    const char *e = strchr(s, ',');
    size_t l = e ? (size_t)(e - s) : strlen(s);
    if (l == k && !strncmp(s, kind, k)) return 1;
    s = e ? e + 1 : s + l;
  }
  return 0;
}

int gw_adapter_carries(const gw_adapter *a, const char *kind, const char *path) {
  char norm[512];
  size_t j = 0;
  for (const char *s = path; *s && j + 1 < sizeof(norm); s++) {
    if (*s == '[') {
      while (*s && *s != ']') s++;
      if (!*s) break;
      continue;
    }
    norm[j++] = *s;
  }
  norm[j] = 0;
  if (!strcmp(norm, "kind")) return 1; /* every format says what it is by its shape */
  for (const char *const *cc = a->carries; cc && *cc; cc++) {
    const char *c = *cc, *colon = strchr(c, ':');
    if (colon) { /* "kind:path": only for documents of that kind */
      if (kind && (strlen(kind) != (size_t)(colon - c) || strncmp(c, kind, (size_t)(colon - c)))) continue;
      c = colon + 1;
    }
    size_t l = strlen(c);
    if (!strcmp(c, "*") || !strcmp(c, norm)) return 1;
    if (l >= 2 && !strcmp(c + l - 2, ".*") && !strncmp(norm, c, l - 1)) return 1;
  }
  return 0;
}

static int add_adapter(gw_registry *r, const gw_adapter *a, gw_error *err) {
  if (a->abi != GW_ADAPTER_ABI)
    return GW_ERR(err, GW_ECONFIG, "adapter '%s' was built for adapter ABI %d; this gateway has ABI %d",
                  a->name ? a->name : "?", a->abi, GW_ADAPTER_ABI);
  if (!a->name || !a->decode || !a->encode || !a->media_type || !a->kinds)
    return GW_ERR(err, GW_ECONFIG, "adapter '%s' lacks a name, decode, encode, media_type or kinds",
                  a->name ? a->name : "?");
  if (!a->roots && !a->detect)
    return GW_ERR(err, GW_ECONFIG, "adapter '%s' has neither XML roots nor a detect function", a->name);
  if (gw_registry_find(r, a->name)) return GW_ERR(err, GW_ECONFIG, "two adapters are named '%s'", a->name);
  if (r->n == MAX_ADAPTERS) return GW_ERR(err, GW_ECONFIG, "more than %d adapters", MAX_ADAPTERS);
  /* Every adapter is used through the registry's own copy: built-ins are
   * const, and init() needs somewhere to keep its ctx. */
  gw_adapter *copy = malloc(sizeof(*copy));
  if (!copy) return GW_ERR(err, GW_ENOMEM, "out of memory");
  *copy = *a;
  r->owned[r->n_owned++] = copy;
  r->a[r->n++] = copy;
  return 0;
}

static char *join(const char *dir, const char *rel) {
  if (rel[0] == '/') return strdup(rel);
  size_t n = strlen(dir) + strlen(rel) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, rel);
  return p;
}

static int load_plugin(gw_registry *r, const gw_adapter_cfg *ac, gw_error *err) {
  void *h = dlopen(ac->plugin, RTLD_NOW | RTLD_LOCAL);
  if (!h) return GW_ERR(err, GW_ECONFIG, "adapter plugin %s: %s", ac->plugin, dlerror());
  r->dl[r->n_dl++] = h;
  gw_adapter_plugin_version_fn ver = (gw_adapter_plugin_version_fn)dlsym(h, GW_ADAPTER_PLUGIN_VERSION_SYM);
  gw_adapter_plugin_init_fn init = (gw_adapter_plugin_init_fn)dlsym(h, GW_ADAPTER_PLUGIN_INIT_SYM);
  if (!ver || !init)
    return GW_ERR(err, GW_ECONFIG, "adapter plugin %s does not export %s and %s", ac->plugin,
                  GW_ADAPTER_PLUGIN_VERSION_SYM, GW_ADAPTER_PLUGIN_INIT_SYM);
  int v = ver();
  if (v != GW_ADAPTER_ABI)
    return GW_ERR(err, GW_ECONFIG, "adapter plugin %s was built for adapter ABI %d; this gateway has ABI %d",
                  ac->plugin, v, GW_ADAPTER_ABI);
  const gw_adapter *a = init();
  if (!a) return GW_ERR(err, GW_ECONFIG, "adapter plugin %s: its init returned no adapter", ac->plugin);
  if (ac->name && a->name && strcmp(ac->name, a->name))
    return GW_ERR(err, GW_ECONFIG, "adapter plugin %s calls itself '%s', the config says '%s'", ac->plugin, a->name,
                  ac->name);
  return add_adapter(r, a, err);
}

int gw_registry_new(const char *schema_dir, const gw_config *cfg, gw_registry **out, gw_error *err) {
  gw_registry *r = calloc(1, sizeof(*r));
  if (!r) return GW_ERR(err, GW_ENOMEM, "out of memory");
  const gw_adapter *b[MAX_ADAPTERS];
  size_t nb = gw_builtin_adapters(b, MAX_ADAPTERS);
  int rc = 0;
  for (size_t i = 0; i < nb && !rc; i++) rc = add_adapter(r, b[i], err);
  for (size_t i = 0; cfg && i < cfg->n_adapters && !rc; i++) {
    const gw_adapter_cfg *ac = &cfg->adapters[i];
    if (ac->plugin) {
      rc = load_plugin(r, ac, err);
    } else {
      gw_adapter *x = NULL;
      rc = gw_xslt_adapter_new(ac, &x, err);
      if (!rc) {
        rc = add_adapter(r, x, err);
        if (rc) gw_xslt_adapter_free(x);
        else free(x); /* the registry's copy now holds its ctx */
      }
    }
  }
  /* init() after all are known, so a failing one can name itself. */
  for (size_t i = 0; i < r->n && !rc; i++)
    if (r->a[i]->init) rc = r->a[i]->init((gw_adapter *)r->a[i], schema_dir, err);
  /* Every XML root, with its XSD (a configured override wins). */
  size_t nr = 0;
  for (size_t i = 0; i < r->n; i++)
    for (const gw_adapter_root *x = r->a[i]->roots; x && x->local; x++) nr++;
  r->roots = calloc(nr ? nr : 1, sizeof(*r->roots));
  if (!r->roots && !rc) rc = GW_ERR(err, GW_ENOMEM, "out of memory");
  for (size_t i = 0; i < r->n && !rc; i++) {
    size_t k = 0;
    for (const gw_adapter_root *x = r->a[i]->roots; x && x->local; x++, k++) {
      for (size_t j = 0; j < r->n_roots; j++)
        if (!strcmp(r->roots[j].cfg.root, x->local) && !strcmp(r->roots[j].cfg.ns, x->ns))
          rc = GW_ERR(err, GW_ECONFIG, "adapters '%s' and '%s' both claim {%s}%s", r->roots[j].a->name,
                      r->a[i]->name, x->ns, x->local);
      root_entry *e = &r->roots[r->n_roots++];
      e->a = r->a[i];
      e->root_index = k;
      e->cfg.root = (char *)x->local;
      e->cfg.ns = (char *)x->ns;
      const char *xsd = x->xsd;
      for (size_t j = 0; cfg && j < cfg->n_schemas; j++)
        if (!strcmp(cfg->schemas[j].root, x->local) && !strcmp(cfg->schemas[j].ns, x->ns)) xsd = cfg->schemas[j].xsd;
      e->cfg.xsd = xsd ? join(schema_dir, xsd) : NULL;
      if (xsd && !e->cfg.xsd) rc = GW_ERR(err, GW_ENOMEM, "out of memory");
    }
  }
  if (!rc) {
    /* Roots with an XSD first, then hand gw_schemas a contiguous array of
     * their cfgs that lives as long as the registry (it keeps pointers). It
     * compiles each file once, however many roots share it. */
    size_t m = 0;
    for (size_t i = 0; i < r->n_roots; i++)
      if (r->roots[i].cfg.xsd) {
        root_entry t = r->roots[m];
        r->roots[m++] = r->roots[i];
        r->roots[i] = t;
      }
    r->scfg = calloc(m ? m : 1, sizeof(*r->scfg));
    if (!r->scfg) rc = GW_ERR(err, GW_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < m; i++) r->scfg[i] = r->roots[i].cfg;
    if (!rc) rc = gw_schemas_load(&r->schemas, r->scfg, m, err);
  }
  if (rc) {
    gw_registry_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

void gw_registry_free(gw_registry *r) {
  if (!r) return;
  gw_schemas_free(r->schemas);
  for (size_t i = 0; i < r->n; i++)
    if (r->a[i]->exit) r->a[i]->exit((gw_adapter *)r->a[i]);
  for (size_t i = 0; i < r->n_roots; i++) free(r->roots[i].cfg.xsd);
  free(r->roots);
  free(r->scfg);
  for (size_t i = 0; i < r->n_owned; i++) gw_xslt_adapter_free(r->owned[i]);
  for (size_t i = 0; i < r->n_dl; i++) dlclose(r->dl[i]);
  free(r);
}

const char *gw_registry_xsd(const gw_registry *r, const gw_adapter *a, size_t root_index) {
  for (size_t i = 0; i < r->n_roots; i++)
    if (r->roots[i].a == a && r->roots[i].root_index == root_index) return r->roots[i].cfg.xsd;
  return NULL;
}

static const root_entry *find_root(const gw_registry *r, xmlNodePtr root) {
  const char *ns = root->ns && root->ns->href ? (const char *)root->ns->href : "";
  for (size_t i = 0; i < r->n_roots; i++)
    if (!strcmp(r->roots[i].cfg.root, (const char *)root->name) && !strcmp(r->roots[i].cfg.ns, ns))
      return &r->roots[i];
  return NULL;
}

/* Validates doc against the XSD of its root entry (entries without one pass). */
static int validate_doc(const gw_registry *r, const root_entry *e, xmlDocPtr doc, gw_problems *p) {
  if (!e->cfg.xsd) return 0;
  const gw_schema_cfg *which = NULL;
  return gw_schemas_validate(r->schemas, doc, &which, p);
}

static const char *kind_static(const char *k) {
  static const char *const kinds[] = {GW_KIND_DECLARATION, GW_KIND_RESPONSE, GW_KIND_SPS, GW_KIND_SPS_ACK, GW_KIND_CO};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
    if (k && !strcmp(k, kinds[i])) return kinds[i];
  return NULL;
}

static int looks_xml(const char *d, size_t n) {
  size_t i = 0;
  if (n >= 3 && (unsigned char)d[0] == 0xEF && (unsigned char)d[1] == 0xBB && (unsigned char)d[2] == 0xBF) i = 3;
  while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n')) i++;
  return i < n && d[i] == '<';
}

int gw_registry_decode(const gw_registry *r, const char *data, size_t len, const char *format, gw_decoded *out,
                       gw_problems *p) {
  memset(out, 0, sizeof(*out));
  size_t blank = 0;
  while (blank < len && (data[blank] == ' ' || data[blank] == '\t' || data[blank] == '\r' || data[blank] == '\n')) blank++;
  if (blank == len) {
    gw_problems_add(p, "empty_body", "error", 0, "", "the message is empty");
    return GW_EPARSE;
  }
  const gw_adapter *want = NULL;
  if (format && *format) {
    want = gw_registry_find(r, format);
    if (!want) {
      /* A media type names a format only when exactly one adapter has it;
       * application/xml is shared, so XML is then told apart by its root. */
      size_t hits = 0;
      char mt[128];
      snprintf(mt, sizeof(mt), "%.*s", (int)strcspn(format, ";"), format);
      for (size_t i = 0; i < r->n; i++)
        if (!strcasecmp(r->a[i]->media_type, mt)) want = r->a[i], hits++;
      int generic_xml = !strcasecmp(mt, "application/xml") || !strcasecmp(mt, "text/xml");
      if (hits > 1 || (hits == 0 && generic_xml)) want = NULL;
      else if (hits == 0) {
        gw_problems_add(p, "unknown_format", "error", 0, "", "'%s' is neither a format nor a media type this gateway knows",
                        format);
        return GW_ENOTFOUND;
      }
    }
  }
  int xml = want ? want->roots != NULL : looks_xml(data, len);
  if (xml) {
    int rc = gw_xml_parse(data, len, &out->doc, p);
    if (rc) return rc;
    xmlNodePtr root = xmlDocGetRootElement(out->doc);
    const root_entry *e = find_root(r, root);
    const char *ns = root->ns && root->ns->href ? (const char *)root->ns->href : "";
    if (!e || (want && e->a != want)) {
      gw_problems_add(p, "unknown_document", "error", (long)xmlGetLineNo(root), "/",
                      "no %s%s adapter reads root element {%s}%s", want ? want->name : "",
                      want ? "" : "format's", ns, (const char *)root->name);
      return GW_ENOTFOUND;
    }
    if ((rc = validate_doc(r, e, out->doc, p))) return rc;
    out->adapter = e->a;
    out->kind = kind_static(e->a->roots[e->root_index].kind);
  } else {
    if (!want) {
      int best = 0;
      for (size_t i = 0; i < r->n; i++) {
        if (!r->a[i]->detect) continue;
        int s = r->a[i]->detect(data, len);
        if (s > best) best = s, want = r->a[i];
      }
      if (!want) {
        gw_problems_add(p, "unknown_format", "error", 1, "",
                        "the message is in no format this gateway knows (XML, UN/EDIFACT or JSON expected)");
        return GW_ENOTFOUND;
      }
    }
    out->adapter = want;
  }
  gw_adapter_input in = {data, len, out->doc, NULL};
  int rc = out->adapter->decode(out->adapter, &in, &out->model, p);
  if (rc) {
    int has_error = 0;
    for (size_t i = 0; i < p->n; i++) has_error |= !strcmp(p->items[i].severity, "error");
    if (!has_error) gw_problems_add(p, "decode_failed", "error", 0, "", "the %s adapter could not read the message", out->adapter->name);
    /* Not well-formed in its own syntax (JSON, EDIFACT) is a 400 like XML's. */
    return rc == GW_ENOMEM || rc == GW_EPARSE ? rc : GW_ESCHEMA;
  }
  gw_model_normalize(&out->model);
  if (!out->kind) out->kind = kind_static(out->model.kind);
  if (!out->kind) {
    gw_problems_add(p, "decode_failed", "error", 0, "", "the %s adapter did not say what kind of document this is",
                    out->adapter->name);
    return GW_ESCHEMA;
  }
  if (!out->model.kind || strcmp(out->model.kind, out->kind)) gw_model_set(&out->model.kind, out->kind, -1);
  return 0;
}

void gw_decoded_free(gw_decoded *d) {
  if (!d) return;
  xmlFreeDoc(d->doc);
  gw_model_free(&d->model);
  memset(d, 0, sizeof(*d));
}

int gw_xml_serialise(xmlDocPtr doc, char **bytes, size_t *len) {
  xmlChar *b = NULL;
  int n = 0;
  xmlDocDumpMemoryEnc(doc, &b, &n, "UTF-8");
  if (!b) return GW_ENOMEM;
  *bytes = malloc((size_t)n + 1);
  if (!*bytes) {
    xmlFree(b);
    return GW_ENOMEM;
  }
  memcpy(*bytes, b, (size_t)n + 1);
  *len = (size_t)n;
  xmlFree(b);
  return 0;
}

typedef struct lossy_ctx {
  const gw_adapter *a;
  const char *kind;
  gw_problems *p;
} lossy_ctx;

static void lossy_cb(const char *path, const char *value, void *ud) {
  lossy_ctx *l = ud;
  (void)value;
  if (!gw_adapter_carries(l->a, l->kind, path))
    gw_problems_add(l->p, "lossy_field", "warning", 0, path, "the %s format cannot carry %s; it is left out", l->a->name,
                    path);
}

int gw_registry_encode(const gw_registry *r, const gw_adapter *a, const gw_consignment *c, int serialise,
                       gw_encoded *out, gw_problems *p) {
  memset(out, 0, sizeof(*out));
  if (!c->kind || !gw_adapter_can_encode(a, c->kind)) {
    gw_problems_add(p, "cannot_translate", "error", 0, "kind", "the %s format cannot carry a %s", a->name,
                    c->kind ? c->kind : "document of unknown kind");
    return GW_EUNSUPPORTED;
  }
  lossy_ctx l = {a, c->kind, p};
  gw_model_visit(c, lossy_cb, &l);
  int rc = a->encode(a, c, &out->out, p);
  if (rc) {
    gw_encoded_free(out);
    return rc;
  }
  if (out->out.doc) {
    const root_entry *e = find_root(r, xmlDocGetRootElement(out->out.doc));
    gw_problems vp = {0};
    if (e && (rc = validate_doc(r, e, out->out.doc, &vp))) {
      gw_problems_add(p, "cannot_translate", "error", 0, vp.n ? vp.items[0].path : "",
                      "the %s document made from this message is not valid against its schema: %s", a->name,
                      vp.n ? vp.items[0].message : "invalid");
      gw_problems_free(&vp);
      gw_encoded_free(out);
      return GW_ESCHEMA;
    }
    gw_problems_free(&vp);
    if (serialise && (rc = gw_xml_serialise(out->out.doc, &out->bytes, &out->len))) {
      gw_encoded_free(out);
      return rc;
    }
  } else if (out->out.data) {
    out->bytes = out->out.data;
    out->len = out->out.len;
    out->out.data = NULL;
  } else {
    gw_problems_add(p, "cannot_translate", "error", 0, "", "the %s adapter produced nothing", a->name);
    return GW_EINVAL;
  }
  return 0;
}

void gw_encoded_free(gw_encoded *e) {
  if (!e) return;
  xmlFreeDoc(e->out.doc);
  free(e->out.data);
  free(e->bytes);
  memset(e, 0, sizeof(*e));
}

int gw_registry_check_profiles(const gw_registry *r, const gw_config *cfg, gw_error *err) {
  for (size_t i = 0; i < cfg->n_countries; i++) {
    const gw_country_profile *p = &cfg->countries[i];
    for (int k = 0; k < GW_K_COUNT; k++) {
      const char *f = p->receives[k];
      if (!f) continue;
      const gw_adapter *a = gw_registry_find(r, f);
      if (!a) return GW_ERR(err, GW_ECONFIG, "countries.%s.receives.%s: no format '%s'", p->code, gw_kind_names[k], f);
      if (!gw_adapter_can_encode(a, gw_kind_names[k]))
        return GW_ERR(err, GW_ECONFIG, "countries.%s.receives.%s: the %s format cannot carry a %s", p->code,
                      gw_kind_names[k], f, gw_kind_names[k]);
    }
  }
  return 0;
}
