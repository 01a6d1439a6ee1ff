/* lmcgw — an example adapter plugin, built as a shared object
 * (build/adapters/lmcgw-kv.so) and loaded with
 *   adapters:
 *     - {name: kv, plugin: /path/to/lmcgw-kv.so}
 * It reads and writes "key: value" lines of canonical paths, e.g.
 *   kind: declaration
 *   ucr: 6TH0105536000123-DUR0001
 *   export_country: TH
 * which is how a participant with a line-based legacy system could start.
 * Only the header fields are carried; the rest is reported as lossy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"

#ifndef KV_PLUGIN_ABI
#define KV_PLUGIN_ABI GW_ADAPTER_ABI /* the tests build a copy with a wrong ABI */
#endif

static const char *const kv_keys[] = {"kind", "type_code", "function_code", "lrn", "ucr", "mrn", "cert_id",
                                      "issued_at", "export_country", "import_country", "destination_country", NULL};

static char **kv_slot(gw_consignment *c, const char *key) {
  char **slots[] = {&c->kind, &c->type_code, &c->function_code, &c->lrn, &c->ucr, &c->mrn, &c->cert_id,
                    &c->issued_at, &c->export_country, &c->import_country, &c->destination_country};
  for (size_t i = 0; kv_keys[i]; i++)
    if (!strcmp(kv_keys[i], key)) return slots[i];
  return NULL;
}

static int kv_detect(const char *data, size_t len) {
  return len > 6 && !strncmp(data, "kind: ", 6) ? 80 : 0;
}

static int kv_decode(const gw_adapter *a, const gw_adapter_input *in, gw_consignment *out, gw_problems *p) {
  (void)a;
  long line = 0;
  int rc = 0;
  for (const char *s = in->data, *end = in->data + in->len; s < end;) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    line++;
    const char *colon = memchr(s, ':', (size_t)(e - s));
    if (e > s && !colon) {
      gw_problems_add(p, "kv_syntax", "error", line, "", "expected 'key: value'");
      rc = GW_ESCHEMA;
    } else if (colon) {
      char key[64];
      snprintf(key, sizeof(key), "%.*s", (int)(colon - s), s);
      char **slot = kv_slot(out, key);
      if (!slot) {
        gw_problems_add(p, "kv_unknown_key", "error", line, key, "unknown key '%s'", key);
        rc = GW_ESCHEMA;
      } else if (gw_model_set(slot, colon + 1, (long)(e - colon - 1))) {
        return GW_ENOMEM;
      }
    }
    s = e + 1;
  }
  return rc;
}

static int kv_encode(const gw_adapter *a, const gw_consignment *c, gw_adapter_output *out, gw_problems *p) {
  (void)a;
  size_t cap = 1024, n = 0;
  char *b = malloc(cap);
  if (!b) return GW_ENOMEM;
  for (size_t i = 0; kv_keys[i]; i++) {
    char **slot = kv_slot((gw_consignment *)c, kv_keys[i]);
    if (!*slot) continue;
    if (strchr(*slot, '\n')) {
      gw_problems_add(p, "kv_newline", "error", 0, kv_keys[i], "a value cannot hold a line break");
      free(b);
      return GW_EINVAL;
    }
    size_t need = strlen(kv_keys[i]) + strlen(*slot) + 4;
    if (n + need >= cap) {
      char *g = realloc(b, cap = (n + need) * 2);
      if (!g) {
        free(b);
        return GW_ENOMEM;
      }
      b = g;
    }
    n += (size_t)snprintf(b + n, cap - n, "%s: %s\n", kv_keys[i], *slot);
  }
  out->data = b;
  out->len = n;
  return 0;
}

static const gw_adapter kv_adapter = {
    .abi = KV_PLUGIN_ABI,
    .name = "kv",
    .description = "example plugin: 'key: value' lines of header fields",
    .media_type = "text/x-lmcgw-kv",
    .kinds = "declaration,response,sps_certificate,sps_acknowledgement",
    .carries = kv_keys,
    .detect = kv_detect,
    .decode = kv_decode,
    .encode = kv_encode,
};

int lmcgw_adapter_plugin_version(void) { return KV_PLUGIN_ABI; }
const gw_adapter *lmcgw_adapter_plugin_init(void) { return &kv_adapter; }
