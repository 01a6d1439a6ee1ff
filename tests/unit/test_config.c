/* Configuration: defaults, every problem reported with its line, environment
 * overrides, kafka.* pass-through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "testutil.h"

static char *dir;

static int setup(void **state) {
  (void)state;
  dir = tu_mkdtemp("config");
  char *x = tu_write(dir, "s.xsd", "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'/>");
  char *k = tu_write(dir, "k.pem", "x");
  char *c = tu_write(dir, "c.pem", "x");
  free(x);
  free(k);
  free(c);
  return dir ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(dir);
  free(dir);
  return 0;
}

static const char *good =
    "gateway:\n"
    "  country: VN\n"
    "http:\n"
    "  listen: 127.0.0.1:9443\n"
    "  plain: true\n"
    "  max_body: 2MiB\n"
    "signing:\n"
    "  key: k.pem\n"
    "  cert: c.pem\n"
    "kafka:\n"
    "  bootstrap.servers: 127.0.0.1:9092\n"
    "  linger.ms: 5\n"
    "schemas:\n"
    "  - root: Declaration\n"
    "    namespace: urn:x\n"
    "    xsd: s.xsd\n"
    "countries:\n"
    "  VN:\n"
    "    receives: {declaration: json}\n"
    "    sends: {declaration: [cusdec, json]}\n";

static void loads_good_file_with_defaults(void **state) {
  (void)state;
  char *p = tu_write(dir, "good.yaml", good);
  gw_config c;
  gw_config_diags d = {0};
  gw_error err = {0};
  int rc = gw_config_load(&c, p, &d, &err);
  if (rc) fail_msg("unexpected: %s", err.msg);
  assert_int_equal(d.n, 0);
  assert_string_equal(c.country, "VN");
  assert_int_equal(c.max_body, 2 * 1024 * 1024);
  assert_int_equal(c.plain_http, 1);
  assert_int_equal(c.produce_timeout_ms, 5000); /* default */
  /* pipeline.workers unset: one per core, never none. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  assert_int_equal(c.workers, cores < 1 ? 1 : cores > 128 ? 128 : (unsigned)cores);
  assert_int_equal(c.large_message, 64 * 1024);
  assert_string_equal(c.topic_prefix, "lmcgw");
  assert_int_equal(c.n_kafka, 2);
  assert_string_equal(c.kafka[1].key, "linger.ms");
  assert_int_equal(c.n_schemas, 1);
  assert_non_null(strstr(c.schemas[0].xsd, dir)); /* resolved against the file's folder */
  /* Country profiles: the file's VN over the built-in defaults of all six. */
  assert_int_equal(c.n_countries, 6);
  const gw_country_profile *vn = gw_config_country(&c, "VN");
  assert_non_null(vn);
  assert_string_equal(vn->receives[GW_K_DECLARATION], "json");
  assert_true(gw_format_listed(vn->sends[GW_K_DECLARATION], "cusdec"));
  assert_true(gw_format_listed(vn->sends[GW_K_DECLARATION], "json"));
  assert_false(gw_format_listed(vn->sends[GW_K_DECLARATION], "wco-dec"));
  assert_string_equal(gw_config_country(&c, "KH")->receives[GW_K_DECLARATION], "asycuda");
  gw_config_free(&c);
  gw_config_diags_free(&d);
  free(p);
}

static int has_diag(const gw_config_diags *d, long line, const char *key, const char *needle) {
  for (size_t i = 0; i < d->n; i++)
    if ((line < 0 || d->items[i].line == line) && !strcmp(d->items[i].key, key) && strstr(d->items[i].msg, needle))
      return 1;
  return 0;
}

static void reports_every_problem_with_line(void **state) {
  (void)state;
  char *p = tu_write(dir, "bad.yaml",
                     "gateway:\n"            /* 1 */
                     "  country: Vietnam\n"  /* 2 */
                     "http:\n"               /* 3 */
                     "  plain: perhaps\n"    /* 4 */
                     "  max_body: 12 parsecs\n" /* 5 */
                     "  colour: blue\n"      /* 6 */
                     "pipeline:\n"           /* 7 */
                     "  workers: 500\n"      /* 8 */
                     "tls:\n"                /* 9 */
                     "  cert: /nonexistent/cert.pem\n" /* 10 */
                     "schemas:\n"            /* 11 */
                     "  - root: A\n"         /* 12 */
                     "    xsd: s.xsd\n"
                     "countries:\n"          /* 14 */
                     "  VN:\n"               /* 15 */
                     "    receives: {declaration: telex}\n" /* 16 */
                     "  Vietnam: {}\n"        /* 17 */
                     "adapters:\n"           /* 18 */
                     "  - {name: x, root: R}\n"); /* 19 */
  gw_config c;
  gw_config_diags d = {0};
  gw_error err = {0};
  assert_int_equal(gw_config_load(&c, p, &d, &err), GW_ECONFIG);
  assert_true(has_diag(&d, 4, "http.plain", "not a boolean"));
  assert_true(has_diag(&d, 5, "http.max_body", "not a size"));
  assert_true(has_diag(&d, 6, "http.colour", "unknown key"));
  assert_true(has_diag(&d, 8, "pipeline.workers", "out of range"));
  assert_true(has_diag(&d, -1, "gateway.country", "ISO 3166"));
  assert_true(has_diag(&d, -1, "tls.cert", "cannot read"));
  assert_true(has_diag(&d, -1, "tls.key", "required"));
  assert_true(has_diag(&d, -1, "signing.key", "required"));
  assert_true(has_diag(&d, -1, "kafka.bootstrap.servers", "required"));
  assert_true(has_diag(&d, 12, "schemas", "missing 'namespace'"));
  assert_true(has_diag(&d, 16, "countries.VN.receives.declaration", "unknown format 'telex'"));
  assert_true(has_diag(&d, 17, "countries", "ISO 3166"));
  assert_true(has_diag(&d, 19, "adapters", "missing 'kind'"));
  assert_int_equal(err.code, GW_ECONFIG);
  assert_int_equal(err.line, 4); /* the first problem in file order */
  gw_config_free(&c);
  gw_config_diags_free(&d);
  free(p);
}

static void yaml_syntax_error_has_line(void **state) {
  (void)state;
  char *p = tu_write(dir, "syntax.yaml", "gateway:\n  country: TH\n  - oops: [\n");
  gw_config c;
  gw_config_diags d = {0};
  gw_error err = {0};
  assert_int_equal(gw_config_load(&c, p, &d, &err), GW_ECONFIG);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.items[0].line, 3);
  assert_non_null(strstr(err.msg, "YAML"));
  gw_config_free(&c);
  gw_config_diags_free(&d);
  free(p);
}

static void environment_overrides_file(void **state) {
  (void)state;
  char *p = tu_write(dir, "env.yaml", good);
  setenv("LMCGW_HTTP_LISTEN", "127.0.0.1:7777", 1);
  setenv("LMCGW_KAFKA_BOOTSTRAP_SERVERS", "10.0.0.1:9092", 1);
  setenv("LMCGW_PIPELINE_PRODUCE_TIMEOUT_MS", "1500", 1);
  gw_config c;
  gw_error err = {0};
  int rc = gw_config_load(&c, p, NULL, &err);
  unsetenv("LMCGW_HTTP_LISTEN");
  unsetenv("LMCGW_KAFKA_BOOTSTRAP_SERVERS");
  unsetenv("LMCGW_PIPELINE_PRODUCE_TIMEOUT_MS");
  if (rc) fail_msg("%s", err.msg);
  assert_string_equal(c.listen, "127.0.0.1:7777");
  assert_int_equal(c.produce_timeout_ms, 1500);
  assert_string_equal(c.kafka[0].key, "bootstrap.servers");
  assert_string_equal(c.kafka[0].value, "10.0.0.1:9092");
  gw_config_free(&c);
  free(p);
}

static void missing_file_is_an_error(void **state) {
  (void)state;
  gw_config c;
  gw_error err = {0};
  assert_int_equal(gw_config_load(&c, "/nonexistent/lmcgw.yaml", NULL, &err), GW_ECONFIG);
  assert_non_null(strstr(err.msg, "cannot open"));
  gw_config_free(&c);
}

static void example_config_is_valid(void **state) {
  (void)state;
  /* The documented example must stay loadable; it names files relative to
   * itself, which the dev PKI does not create, so only shape problems count. */
  gw_config c;
  gw_config_diags d = {0};
  gw_error err = {0};
  gw_config_load(&c, LMCGW_SOURCE_DIR "/examples/lmcgw.yaml", &d, &err);
  for (size_t i = 0; i < d.n; i++)
    if (!strstr(d.items[i].msg, "cannot read")) fail_msg("examples/lmcgw.yaml: %s: %s", d.items[i].key, d.items[i].msg);
  assert_string_equal(c.country, "TH");
  gw_config_free(&c);
  gw_config_diags_free(&d);
}

static void dev_defaults(void **state) {
  (void)state;
  gw_config c;
  gw_error err = {0};
  assert_int_equal(gw_config_dev(&c, "/data", "/state", &err), 0);
  assert_string_equal(c.listen, "127.0.0.1:8080");
  assert_int_equal(c.plain_http, 1);
  assert_int_equal(c.kafka_mock, 1);
  assert_string_equal(c.sign_key, "/state/dev-signing.key");
  assert_int_equal(c.n_schemas, 0); /* the adapters bring their schemas */
  assert_non_null(gw_config_country(&c, "TH"));
  gw_config_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(loads_good_file_with_defaults), cmocka_unit_test(reports_every_problem_with_line),
      cmocka_unit_test(yaml_syntax_error_has_line),    cmocka_unit_test(environment_overrides_file),
      cmocka_unit_test(missing_file_is_an_error),      cmocka_unit_test(example_config_is_valid),
      cmocka_unit_test(dev_defaults),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
