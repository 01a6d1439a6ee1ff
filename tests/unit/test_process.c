/* The pipeline's quick look for perishable goods before parsing
 * (gw_sniff_perishable), on the project's own examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/process.h"
#include "testutil.h"

static int sniff_file(const char *rel) {
  char p[1024];
  snprintf(p, sizeof(p), "%s/examples/%s", LMCGW_SOURCE_DIR, rel);
  size_t n;
  char *b = tu_read(p, &n);
  assert_non_null(b);
  int r = gw_sniff_perishable(b, n);
  free(b);
  return r;
}

static void sniff_examples(void **state) {
  (void)state;
  /* durian (08), longan (08), coffee (09), rice (10), mung beans (07): every format */
  assert_true(sniff_file("declarations/th-vn-durian-export.xml"));
  assert_true(sniff_file("declarations/th-cn-longan.json"));
  assert_true(sniff_file("declarations/kh-vn-rice.asycuda.xml"));
  assert_true(sniff_file("declarations/la-cn-coffee.asycuda.xml"));
  assert_true(sniff_file("declarations/cusdec-mm-mungbean-export-th.edi"));
  assert_true(sniff_file("sps/th-vn-durian-phyto.xml"));
  assert_true(sniff_file("certificates/th-cn-longan-form-e.json"));
}

static void sniff_not_perishable(void **state) {
  (void)state;
  static const char laptops[] = "<Classification><ID>84713000</ID></Classification>";
  static const char json[] = "{\"kind\":\"declaration\",\"items\":[{\"hs_code\": \"8471300000\"}]}";
  static const char edi[] = "UNH+1+CUSDEC:D:99B:UN'CST+1+847130:HS'UNT+3+1'";
  static const char short_code[] = "\"hs_code\": \"08\""; /* fewer than 4 digits: no chapter read */
  assert_false(gw_sniff_perishable(laptops, strlen(laptops)));
  assert_false(gw_sniff_perishable(json, strlen(json)));
  assert_false(gw_sniff_perishable(edi, strlen(edi)));
  assert_false(gw_sniff_perishable(short_code, strlen(short_code)));
  assert_false(gw_sniff_perishable("", 0));
  assert_false(gw_sniff_perishable(NULL, 0));
  static const char edi_fish[] = "UNH+1+CUSDEC:D:99B:UN'CST+12+030389:HS'UNT+3+1'";
  assert_true(gw_sniff_perishable(edi_fish, strlen(edi_fish)));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(sniff_examples), cmocka_unit_test(sniff_not_perishable)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
