/* lmcgw — XSLT-declared formats (see xslt.h). */
#include "adapters/xslt/xslt.h"

#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/xsltutils.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/xmlform.h"

typedef struct xslt_ctx {
  gw_adapter_root roots[2];
  char *name, *kind, *root, *ns, *xsd, *media;
  xsltStylesheetPtr to, from;
  xsltSecurityPrefsPtr sec;
} xslt_ctx;

static const char *const carries_all[] = {"*", NULL};

/* libxslt reports through a generic handler; keep the first message. */
typedef struct xslt_err {
  char msg[256];
} xslt_err;

/* libxslt's handler signature is printf-like; the format comes from libxslt. */
static void on_xslt_error(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void on_xslt_error(void *ctx, const char *fmt, ...) {
  xslt_err *e = ctx;
  if (!e || e->msg[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
  va_end(ap);
  size_t n = strlen(e->msg);
  while (n && (e->msg[n - 1] == '\n' || e->msg[n - 1] == ' ')) e->msg[--n] = 0;
}

static xmlDocPtr apply(const xslt_ctx *x, xsltStylesheetPtr ss, xmlDocPtr in, xslt_err *e) {
  xsltTransformContextPtr tc = xsltNewTransformContext(ss, in);
  if (!tc) return NULL;
  xsltSetCtxtSecurityPrefs(x->sec, tc);
  xsltSetTransformErrorFunc(tc, e, on_xslt_error);
  xmlDocPtr out = xsltApplyStylesheetUser(ss, in, NULL, NULL, NULL, tc);
  if (out && tc->state != XSLT_STATE_OK) {
    xmlFreeDoc(out);
    out = NULL;
  }
  xsltFreeTransformContext(tc);
  return out;
}

static int xslt_decode(const gw_adapter *a, const gw_adapter_input *in, gw_consignment *out, gw_problems *p) {
  const xslt_ctx *x = a->ctx;
  xslt_err e = {""};
  xmlDocPtr canon = apply(x, x->to, in->doc, &e);
  if (!canon) {
    gw_problems_add(p, "decode_failed", "error", 0, "", "%s: the to_canonical stylesheet failed: %s", a->name,
                    e.msg[0] ? e.msg : "no output");
    return GW_ESCHEMA;
  }
  int rc = gw_model_from_xml(canon, out, p);
  xmlFreeDoc(canon);
  if (!rc) rc = gw_model_set(&out->kind, x->kind, -1);
  return rc;
}

typedef struct seen_ctx {
  const gw_consignment *after;
  gw_problems *p;
  const char *name;
  char **paths;
  size_t n, cap;
} seen_ctx;

static void collect(const char *path, const char *value, void *ud) {
  seen_ctx *s = ud;
  (void)value;
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 64;
    char **g = realloc(s->paths, nc * sizeof(*g));
    if (!g) return;
    s->paths = g, s->cap = nc;
  }
  s->paths[s->n] = strdup(path);
  if (s->paths[s->n]) s->n++;
}

static void report_lost(const char *path, const char *value, void *ud) {
  seen_ctx *s = ud;
  (void)value;
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->paths[i], path)) return;
  if (strcmp(path, "kind"))
    gw_problems_add(s->p, "lossy_field", "warning", 0, path, "the %s format cannot carry %s; it is left out", s->name,
                    path);
}

static int xslt_encode(const gw_adapter *a, const gw_consignment *c, gw_adapter_output *out, gw_problems *p) {
  const xslt_ctx *x = a->ctx;
  xmlDocPtr canon = gw_model_to_xml(c);
  if (!canon) return GW_ENOMEM;
  xslt_err e = {""};
  out->doc = apply(x, x->from, canon, &e);
  xmlFreeDoc(canon);
  if (!out->doc || !xmlDocGetRootElement(out->doc)) {
    gw_problems_add(p, "cannot_translate", "error", 0, "", "%s: the from_canonical stylesheet failed: %s", a->name,
                    e.msg[0] ? e.msg : "no output");
    return GW_EINVAL;
  }
  /* Read the output back: whatever does not come back was not carried. */
  gw_consignment back = {0};
  gw_problems ignore = {0};
  gw_adapter_input in = {NULL, 0, out->doc, NULL};
  if (!xslt_decode(a, &in, &back, &ignore)) {
    seen_ctx s = {c, p, a->name, NULL, 0, 0};
    gw_model_visit(&back, collect, &s);
    gw_model_visit(c, report_lost, &s);
    for (size_t i = 0; i < s.n; i++) free(s.paths[i]);
    free(s.paths);
  }
  gw_model_free(&back);
  gw_problems_free(&ignore);
  return 0;
}

/* Read by hand: the gateway's entity loader refuses every external load, so
 * a stylesheet cannot pull in others (xsl:import/include) either. */
static xsltStylesheetPtr compile(const char *path, gw_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    GW_ERR(err, GW_ECONFIG, "cannot read stylesheet %s", path);
    return NULL;
  }
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      char *g = realloc(buf, cap = cap ? cap * 2 : 8192);
      if (!g) break;
      buf = g;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  xmlDocPtr d = buf ? xmlReadMemory(buf, (int)n, path, NULL, XML_PARSE_NONET) : NULL;
  free(buf);
  if (!d) {
    GW_ERR(err, GW_ECONFIG, "stylesheet %s is not well-formed XML", path);
    return NULL;
  }
  xsltStylesheetPtr s = xsltParseStylesheetDoc(d); /* takes d */
  if (!s) {
    xmlFreeDoc(d);
    GW_ERR(err, GW_ECONFIG, "stylesheet %s does not compile", path);
  }
  return s;
}

int gw_xslt_adapter_new(const gw_adapter_cfg *ac, gw_adapter **out, gw_error *err) {
  gw_adapter *a = calloc(1, sizeof(*a));
  xslt_ctx *x = calloc(1, sizeof(*x));
  if (!a || !x) {
    free(a), free(x);
    return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  a->ctx = x;
  x->name = strdup(ac->name);
  x->kind = strdup(ac->kind);
  x->root = strdup(ac->root);
  x->ns = strdup(ac->ns);
  x->xsd = ac->xsd ? strdup(ac->xsd) : NULL;
  x->media = strdup(ac->media_type ? ac->media_type : "application/xml");
  x->sec = xsltNewSecurityPrefs();
  int rc = 0;
  if (!x->name || !x->kind || !x->root || !x->ns || !x->media || !x->sec || (ac->xsd && !x->xsd))
    rc = GW_ERR(err, GW_ENOMEM, "out of memory");
  if (!rc) {
    xsltSecurityCheck deny = xsltSecurityForbid;
    xsltSetSecurityPrefs(x->sec, XSLT_SECPREF_READ_FILE, deny);
    xsltSetSecurityPrefs(x->sec, XSLT_SECPREF_WRITE_FILE, deny);
    xsltSetSecurityPrefs(x->sec, XSLT_SECPREF_CREATE_DIRECTORY, deny);
    xsltSetSecurityPrefs(x->sec, XSLT_SECPREF_READ_NETWORK, deny);
    xsltSetSecurityPrefs(x->sec, XSLT_SECPREF_WRITE_NETWORK, deny);
    if (!(x->to = compile(ac->to_canonical, err)) || !(x->from = compile(ac->from_canonical, err))) rc = GW_ECONFIG;
  }
  if (rc) {
    gw_xslt_adapter_free(a);
    return rc;
  }
  x->roots[0] = (gw_adapter_root){x->root, x->ns, x->kind, x->xsd};
  a->abi = GW_ADAPTER_ABI;
  a->name = x->name;
  a->description = "XML format declared by XSLT stylesheets in the config";
  a->media_type = x->media;
  a->kinds = x->kind;
  a->roots = x->roots;
  a->carries = carries_all;
  a->decode = xslt_decode;
  a->encode = xslt_encode;
  *out = a;
  return 0;
}

void gw_xslt_adapter_free(gw_adapter *a) {
  if (!a) return;
  if (a->decode == xslt_decode || (!a->decode && a->ctx)) {
    xslt_ctx *x = a->ctx;
    if (x) {
      if (x->to) xsltFreeStylesheet(x->to);
      if (x->from) xsltFreeStylesheet(x->from);
      if (x->sec) xsltFreeSecurityPrefs(x->sec);
      free(x->name), free(x->kind), free(x->root), free(x->ns), free(x->xsd), free(x->media);
      free(x);
    }
  }
  free(a);
}
