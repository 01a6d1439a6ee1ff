/* libFuzzer target for the UN/EDIFACT syntax layer (adapters/cusdec/edifact.c)
 * and the CUSDEC/CUSRES decoder on top of it: any input must give either a
 * result or problems, never a crash, leak or overread. A successful decode is
 * encoded and decoded again, which must succeed. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "adapters/adapter.h"
#include "adapters/cusdec/cusdec.h"
#include "adapters/cusdec/edifact.h"

extern const gw_adapter gw_adapter_cusdec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gw_edi_interchange ix = {0};
  gw_problems p = {0};
  if (gw_edi_parse((const char *)data, size, &ix, &p) == 0) {
    (void)gw_edi_check_controls(&ix, &p);
    for (size_t m = 0; m < ix.n_msgs; m++) {
      const gw_edi_structure *st = gw_cusdec_structure(ix.msgs[m].type, ix.msgs[m].release);
      if (st) (void)gw_edi_check_structure(&ix, m, st, &p);
    }
  }
  gw_edi_free(&ix);
  gw_problems_free(&p);

  (void)gw_adapter_cusdec.detect((const char *)data, size);
  gw_adapter_input in = {(const char *)data, size, NULL, "fuzz"};
  gw_consignment c = {0};
  if (gw_adapter_cusdec.decode(&gw_adapter_cusdec, &in, &c, &p) == 0) {
    gw_adapter_output out = {0};
    if (gw_cusdec_encode_dir(&c, (size & 1) ? "96B" : "99B", &out, &p) == 0) {
      gw_adapter_input in2 = {out.data, out.len, NULL, "fuzz-again"};
      gw_consignment again = {0};
      gw_problems p2 = {0};
      if (gw_adapter_cusdec.decode(&gw_adapter_cusdec, &in2, &again, &p2) != 0) {
        for (size_t i = 0; i < p2.n; i++)
          fprintf(stderr, "%s %s: %s\n", p2.items[i].code, p2.items[i].path, p2.items[i].message);
        fprintf(stderr, "%.*s\n", (int)out.len, out.data);
        abort();
      }
      gw_problems_free(&p2);
      gw_model_free(&again);
      free(out.data);
    }
  }
  gw_model_free(&c);
  gw_problems_free(&p);
  return 0;
}
