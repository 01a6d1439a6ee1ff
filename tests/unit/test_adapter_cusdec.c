/* CUSDEC/CUSRES adapter and the EDIFACT syntax layer: goldens, round trips
 * through D.99B and D.96B, syntax/envelope/structure errors with their codes
 * and paths, the writer's escaping, and the public corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/cusdec/cusdec.h"
#include "adapters/cusdec/edifact.h"
#include "adapters/cusdec/structures.h"
#include "model/json.h"
#include "testutil.h"

extern const gw_adapter gw_adapter_cusdec;

#define GOLDEN_DIR LMCGW_SOURCE_DIR "/tests/golden/cusdec"

static void dump_problems(const gw_problems *p) {
  for (size_t i = 0; i < p->n; i++)
    fprintf(stderr, "  [%s] %s line %ld %s: %s\n", p->items[i].severity, p->items[i].code, p->items[i].line,
            p->items[i].path, p->items[i].message);
}

static int decode_text(const char *text, size_t len, gw_consignment *c, gw_problems *p) {
  gw_adapter_input in = {text, len, NULL, "test"};
  return gw_adapter_cusdec.decode(&gw_adapter_cusdec, &in, c, p);
}

/* First error problem, or NULL. */
static const gw_problem *first_error(const gw_problems *p) {
  for (size_t i = 0; i < p->n; i++)
    if (!strcmp(p->items[i].severity, "error")) return &p->items[i];
  return NULL;
}

static char *replace(const char *s, const char *from, const char *to) {
  const char *at = strstr(s, from);
  assert_non_null(at);
  size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
  char *r = malloc(n);
  assert_non_null(r);
  snprintf(r, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
  return r;
}

static char *golden_text(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", GOLDEN_DIR, name);
  size_t len;
  char *t = tu_read(path, &len);
  assert_non_null(t);
  return t;
}

/* ---- goldens and round trips -------------------------------------------------- */

static void check_golden(const char *base) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.edi", GOLDEN_DIR, base);
  size_t len;
  char *edi = tu_read(path, &len);
  assert_non_null(edi);
  gw_consignment c = {0};
  gw_problems p = {0};
  int rc = decode_text(edi, len, &c, &p);
  if (rc) dump_problems(&p);
  assert_int_equal(rc, 0);
  assert_null(first_error(&p));
  char *json = gw_model_to_json(&c, 1);
  assert_non_null(json);
  snprintf(path, sizeof path, "%s/%s.json", GOLDEN_DIR, base);
  const char *upd = getenv("LMCGW_UPDATE_GOLDEN");
  if (upd && *upd == '1') {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fputs("\n", f);
    fclose(f);
  }
  size_t jlen;
  char *want = tu_read(path, &jlen);
  assert_non_null(want);
  gw_consignment expect = {0};
  gw_problems jp = {0};
  assert_int_equal(gw_model_from_json(want, jlen, &expect, &jp), 0);
  char where[256] = "";
  if (gw_model_compare(&expect, &c, where, sizeof where)) fail_msg("%s: decode differs from golden at %s", base, where);

  /* encode (both directories), then decode again: the same model */
  const char *dirs[] = {"99B", "96B"};
  for (int k = 0; k < 2; k++) {
    gw_adapter_output out = {0};
    gw_problems ep = {0};
    rc = k == 0 ? gw_adapter_cusdec.encode(&gw_adapter_cusdec, &expect, &out, &ep)
                : gw_cusdec_encode_dir(&expect, dirs[k], &out, &ep);
    if (rc) dump_problems(&ep);
    assert_int_equal(rc, 0);
    char unh[32];
    snprintf(unh, sizeof unh, ":D:%s:UN'", dirs[k]);
    assert_non_null(strstr(out.data, unh));
    gw_consignment again = {0};
    gw_problems dp = {0};
    rc = decode_text(out.data, out.len, &again, &dp); /* includes the structure check */
    if (rc) {
      dump_problems(&dp);
      fprintf(stderr, "%s\n", out.data);
    }
    assert_int_equal(rc, 0);
    if (gw_model_compare(&expect, &again, where, sizeof where))
      fail_msg("%s: round trip through %s differs at %s\n%s", base, dirs[k], where, out.data);
    gw_model_free(&again);
    gw_problems_free(&dp);
    gw_problems_free(&ep);
    free(out.data);
  }
  gw_model_free(&expect);
  gw_problems_free(&jp);
  free(want);
  free(json);
  gw_model_free(&c);
  gw_problems_free(&p);
  free(edi);
}

static void golden_cusdec(void **state) {
  (void)state;
  check_golden("cusdec-mm-mungbean-export-th");
}

static void golden_cusres(void **state) {
  (void)state;
  check_golden("cusres-th-inspection-mungbean");
}

static void decodes_release_characters(void **state) {
  (void)state;
  char *t = golden_text("cusdec-mm-mungbean-export-th.edi");
  gw_consignment c = {0};
  gw_problems p = {0};
  assert_int_equal(decode_text(t, strlen(t), &c, &p), 0);
  assert_string_equal(gw_model_party(&c, "exporter")->name, "Daw Khin's Pulses Co. Ltd.");
  assert_string_equal(gw_model_party(&c, "declarant")->name, "Irrawaddy Forwarding+Customs Agency");
  assert_string_equal(c.items[0].description, "Green mung beans (Vigna radiata), dried, shelled, grade: A");
  assert_string_equal(c.issued_at, "2026-03-12T09:15:00");
  assert_string_equal(c.items[0].hs_code, "071331");
  assert_string_equal(c.items[0].value.currency, "USD");
  gw_model_free(&c);
  gw_problems_free(&p);
  free(t);
}

/* ---- negative tests ------------------------------------------------------------ */

typedef struct neg_case {
  const char *name;
  const char *file;
  const char *from, *to;
  int rc;
  const char *code;
  const char *path_part;
} neg_case;

static const neg_case neg_cases[] = {
    {"bad UNT count", "cusdec-mm-mungbean-export-th.edi", "UNT+44+1'", "UNT+43+1'", GW_ESCHEMA, "unt_count",
     "segment 45 (UNT) at byte"},
    {"bad UNT reference", "cusdec-mm-mungbean-export-th.edi", "UNT+44+1'", "UNT+44+2'", GW_ESCHEMA, "unt_reference",
     "(UNT)"},
    {"bad UNZ count", "cusdec-mm-mungbean-export-th.edi", "UNZ+1+", "UNZ+2+", GW_ESCHEMA, "unz_count",
     "segment 46 (UNZ)"},
    {"bad UNZ reference", "cusdec-mm-mungbean-export-th.edi", "UNZ+1+MM2603120042'", "UNZ+1+MM2603120043'",
     GW_ESCHEMA, "unz_reference", "(UNZ)"},
    {"release at end", "cusres-th-inspection-mungbean.edi", "UNZ+1+TH26031200077'\n", "UNZ+1+TH26031200077?",
     GW_EPARSE, "release_at_end", "end of input"},
    {"unterminated", "cusres-th-inspection-mungbean.edi", "UNZ+1+TH26031200077'\n", "UNZ+1+TH26031200077",
     GW_EPARSE, "unterminated_segment", "segment 15 at byte"},
    {"missing UNZ", "cusres-th-inspection-mungbean.edi", "UNZ+1+TH26031200077'\n", "", GW_ESCHEMA, "missing_unz",
     "(UNT)"},
    {"missing mandatory BGM", "cusres-th-inspection-mungbean.edi", "BGM+962+THRES-2026-000777+9'\n", "",
     GW_ESCHEMA, "unt_count", "(UNT)"},
    {"wrong order", "cusdec-mm-mungbean-export-th.edi", "LOC+36+TH'\nDTM+137:202603120915:203'",
     "DTM+137:202603120915:203'\nLOC+36+TH'", GW_ESCHEMA, "structure_order", "segment 9 (LOC)"},
    {"unknown segment", "cusdec-mm-mungbean-export-th.edi", "LOC+36+TH'", "INV+36+TH'", GW_ESCHEMA,
     "structure_unknown", "segment 8 (INV)"},
    {"bad UNA", "cusres-th-inspection-mungbean.edi", "UNA:+.? '", "UNA::.? '", GW_EPARSE, "bad_una", "UNA"},
    {"bad tag", "cusres-th-inspection-mungbean.edi", "GIS+5'", "gIS+5'", GW_EPARSE, "bad_segment_tag",
     "segment 5 at byte"},
    {"control character", "cusres-th-inspection-mungbean.edi", "GIS+5'", "GIS+5\x01'", GW_EPARSE,
     "invalid_character", "segment 5"},
    {"unsupported directory", "cusres-th-inspection-mungbean.edi", "CUSRES:D:96B:UN", "CUSRES:D:01B:UN",
     GW_EUNSUPPORTED, "unsupported_directory", "segment 2 (UNH)"},
    {"bad date", "cusres-th-inspection-mungbean.edi", "20260312110215:204", "2026031211:204", GW_ESCHEMA,
     "bad_date", "segment 4 (DTM)"},
    {"segment outside message", "cusres-th-inspection-mungbean.edi", "UNZ+1+", "GIS+1'\nUNZ+1+", GW_ESCHEMA,
     "segment_outside_message", "segment 15 (GIS)"},
};

static void run_neg(const neg_case *k) {
  char *t = golden_text(k->file);
  char *bad = replace(t, k->from, k->to);
  gw_consignment c = {0};
  gw_problems p = {0};
  int rc = decode_text(bad, strlen(bad), &c, &p);
  const gw_problem *e = first_error(&p);
  if (rc != k->rc || !e || strcmp(e->code, k->code) || !strstr(e->path, k->path_part)) {
    dump_problems(&p);
    fail_msg("%s: rc %d (want %d), first error %s at \"%s\" (want %s at \"%s\")", k->name, rc, k->rc,
             e ? e->code : "-", e ? e->path : "-", k->code, k->path_part);
  }
  gw_model_free(&c);
  gw_problems_free(&p);
  free(bad);
  free(t);
}

static void negative_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof neg_cases / sizeof neg_cases[0]; i++)
    run_neg(&neg_cases[i]);
}

/* Removing BGM and fixing UNT leaves only the structure error. */
static void missing_mandatory_segment(void **state) {
  (void)state;
  char *t = golden_text("cusres-th-inspection-mungbean.edi");
  char *a = replace(t, "BGM+962+THRES-2026-000777+9'\n", "");
  char *b = replace(a, "UNT+13+", "UNT+12+");
  gw_consignment c = {0};
  gw_problems p = {0};
  assert_int_equal(decode_text(b, strlen(b), &c, &p), GW_ESCHEMA);
  const gw_problem *e = first_error(&p);
  assert_non_null(e);
  assert_string_equal(e->code, "structure_missing");
  assert_non_null(strstr(e->path, "segment 3 (DTM)"));
  assert_non_null(strstr(e->message, "BGM"));
  gw_model_free(&c);
  gw_problems_free(&p);
  free(a);
  free(b);
  free(t);
}

static void too_many_repetitions(void **state) {
  (void)state;
  char *t = golden_text("cusdec-mm-mungbean-export-th.edi");
  char *a = replace(t, "BGM+830+MMEX-2026-0042+9'\n", "BGM+830+MMEX-2026-0042+9'\nBGM+830+MMEX-2026-0043+9'\n");
  char *b = replace(a, "UNT+44+", "UNT+45+");
  gw_consignment c = {0};
  gw_problems p = {0};
  assert_int_equal(decode_text(b, strlen(b), &c, &p), GW_ESCHEMA);
  const gw_problem *e = first_error(&p);
  assert_non_null(e);
  assert_string_equal(e->code, "structure_repeat");
  assert_non_null(strstr(e->path, "segment 4 (BGM)"));
  gw_model_free(&c);
  gw_problems_free(&p);
  free(a);
  free(b);
  free(t);
}

static void element_too_long(void **state) {
  (void)state;
  char *t = golden_text("cusres-th-inspection-mungbean.edi");
  char big[700];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  char to[800];
  snprintf(to, sizeof to, "FTX+AAO+++%s'", big);
  char *a = replace(t, "FTX+AAO+++Physical inspection at Khlong Toei port?: present the phytosanitary certificate'", to);
  gw_consignment c = {0};
  gw_problems p = {0};
  assert_int_equal(decode_text(a, strlen(a), &c, &p), GW_EPARSE);
  assert_string_equal(first_error(&p)->code, "element_too_long");
  assert_non_null(strstr(first_error(&p)->path, "segment 10 at byte"));
  gw_model_free(&c);
  gw_problems_free(&p);
  free(a);
  free(t);
}

/* ---- syntax layer -------------------------------------------------------------- */

static void writer_escapes_and_parser_unescapes(void **state) {
  (void)state;
  const char *nasty = "a:b+c'd?e f";
  gw_edi_delims d = {':', '+', '.', '?', '*', '\''};
  gw_edi_writer w;
  gw_edi_w_init(&w, &d, 1, 0);
  gw_edi_w_seg(&w, "UNB");
  gw_edi_w_el(&w, "UNOW");
  gw_edi_w_comp(&w, "4");
  gw_edi_w_el(&w, "S");
  gw_edi_w_el(&w, "R");
  gw_edi_w_el(&w, "260101");
  gw_edi_w_comp(&w, "0000");
  gw_edi_w_el(&w, "9");
  gw_edi_w_seg(&w, "UNH");
  gw_edi_w_el(&w, "1");
  gw_edi_w_el(&w, "TEST");
  gw_edi_w_comp(&w, "D");
  gw_edi_w_seg(&w, "FTX");
  gw_edi_w_el(&w, NULL);
  gw_edi_w_el(&w, "x*y");
  gw_edi_w_comp(&w, NULL);
  gw_edi_w_comp(&w, nasty);
  gw_edi_w_el(&w, NULL); /* trailing empties are dropped */
  gw_edi_w_comp(&w, NULL);
  gw_edi_w_seg(&w, "UNT");
  gw_edi_w_el(&w, "3");
  gw_edi_w_el(&w, "1");
  gw_edi_w_seg(&w, "UNZ");
  gw_edi_w_el(&w, "1");
  gw_edi_w_el(&w, "9");
  char *out;
  size_t len;
  assert_int_equal(gw_edi_w_take(&w, &out, &len), 0);
  assert_non_null(strstr(out, "FTX++x?*y::a?:b?+c?'d??e f'"));
  gw_edi_interchange ix = {0};
  gw_problems p = {0};
  int rc = gw_edi_parse(out, len, &ix, &p);
  if (rc) dump_problems(&p);
  assert_int_equal(rc, 0);
  assert_int_equal(ix.n_msgs, 1);
  assert_string_equal(gw_edi_get(&ix, 2, 1, 2), nasty);
  assert_string_equal(gw_edi_get(&ix, 2, 1, 0), "x*y");
  assert_null(gw_edi_get(&ix, 2, 1, 1));
  assert_null(gw_edi_get(&ix, 2, 0, 0));
  assert_string_equal(ix.syntax, "UNOW");
  gw_edi_free(&ix);
  gw_problems_free(&p);
  free(out);
}

static void latin1_is_converted(void **state) {
  (void)state;
  const char *t = "UNB+UNOC:3+S+R+260101:0000+1'UNH+1+X:D:99B:UN'FTX+AAA+++Caf\xE9'UNT+3+1'UNZ+1+1'";
  gw_edi_interchange ix = {0};
  gw_problems p = {0};
  assert_int_equal(gw_edi_parse(t, strlen(t), &ix, &p), 0);
  assert_string_equal(gw_edi_get(&ix, 2, 3, 0), "Caf\xC3\xA9");
  gw_edi_free(&ix);
  gw_problems_free(&p);
  const char *u = "UNB+UNOA:3+S+R+260101:0000+1'UNH+1+X:D:99B:UN'FTX+AAA+++Caf\xE9'UNT+3+1'UNZ+1+1'";
  gw_edi_interchange iy = {0};
  assert_int_equal(gw_edi_parse(u, strlen(u), &iy, &p), GW_EPARSE);
  assert_string_equal(first_error(&p)->code, "invalid_character");
  gw_edi_free(&iy);
  gw_problems_free(&p);
}

static void detects(void **state) {
  (void)state;
  char *t = golden_text("cusdec-mm-mungbean-export-th.edi");
  assert_int_equal(gw_adapter_cusdec.detect(t, strlen(t)), 95);
  const char *bom = "\xEF\xBB\xBF\r\nUNB+UNOC:3+S+R+260101:0000+1'UNH+1+CUSRES:D:96B:UN'";
  assert_int_equal(gw_adapter_cusdec.detect(bom, strlen(bom)), 95);
  const char *inv = "UNB+UNOC:3+S+R+260101:0000+1'UNH+1+INVOIC:D:96A:UN'";
  assert_true(gw_adapter_cusdec.detect(inv, strlen(inv)) < 50);
  assert_int_equal(gw_adapter_cusdec.detect("<?xml version='1.0'?><a/>", 25), 0);
  assert_int_equal(gw_adapter_cusdec.detect("", 0), 0);
  free(t);
}

static void tables_are_well_formed(void **state) {
  (void)state;
  const gw_edi_structure *all[] = {&gw_cusdec_st_cusdec_d96b, &gw_cusdec_st_cusdec_d99b, &gw_cusdec_st_cusres_d96b,
                                   &gw_cusdec_st_cusres_d99b};
  for (size_t k = 0; k < 4; k++) {
    const gw_edi_structure *s = all[k];
    assert_true(s->n_nodes > 10);
    assert_string_equal(s->nodes[0].tag, "UNH");
    assert_string_equal(s->nodes[s->n_nodes - 1].tag, "UNT");
    for (size_t i = 0; i < s->n_nodes; i++) {
      if (i) assert_true(s->nodes[i].depth <= s->nodes[i - 1].depth + 1);
      if (s->nodes[i].group) {
        /* a group is followed by its mandatory trigger segment */
        assert_true(i + 1 < s->n_nodes);
        assert_int_equal(s->nodes[i + 1].depth, s->nodes[i].depth + 1);
        assert_false(s->nodes[i + 1].group);
        assert_true(s->nodes[i + 1].mandatory);
      }
      assert_true(s->nodes[i].max >= 1);
    }
  }
}

static void encode_rejects_other_kinds(void **state) {
  (void)state;
  gw_consignment c = {0};
  assert_int_equal(gw_model_set(&c.kind, GW_KIND_SPS, -1), 0);
  gw_adapter_output out = {0};
  gw_problems p = {0};
  assert_int_equal(gw_adapter_cusdec.encode(&gw_adapter_cusdec, &c, &out, &p), GW_EUNSUPPORTED);
  assert_null(out.data);
  assert_string_equal(first_error(&p)->code, "unsupported_kind");
  gw_model_free(&c);
  gw_problems_free(&p);
}

static void encode_refuses_overlong_value(void **state) {
  (void)state;
  gw_consignment c = {0};
  char big[600];
  memset(big, 'y', sizeof big - 1);
  big[sizeof big - 1] = 0;
  assert_int_equal(gw_model_set(&c.lrn, big, -1), 0);
  gw_adapter_output out = {0};
  gw_problems p = {0};
  assert_int_equal(gw_adapter_cusdec.encode(&gw_adapter_cusdec, &c, &out, &p), GW_ETOOBIG);
  assert_null(out.data);
  assert_string_equal(first_error(&p)->code, "too_big");
  gw_model_free(&c);
  gw_problems_free(&p);
}

static void utf8_names_use_unow(void **state) {
  (void)state;
  gw_consignment c = {0};
  assert_int_equal(gw_model_set(&c.kind, GW_KIND_DECLARATION, -1), 0);
  gw_party *pa = GW_MODEL_PUSH(c.parties, c.n_parties);
  assert_non_null(pa);
  assert_int_equal(gw_model_set(&pa->role, "consignee", -1), 0);
  assert_int_equal(gw_model_set(&pa->name, "\xE0\xB8\x9A\xE0\xB8\xA3\xE0\xB8\xB4\xE0\xB8\xA9\xE0\xB8\xB1\xE0\xB8\x97 ok", -1), 0);
  gw_adapter_output out = {0};
  gw_problems p = {0};
  assert_int_equal(gw_adapter_cusdec.encode(&gw_adapter_cusdec, &c, &out, &p), 0);
  assert_non_null(strstr(out.data, "UNB+UNOW:4+"));
  gw_consignment back = {0};
  assert_int_equal(decode_text(out.data, out.len, &back, &p), 0);
  char where[128];
  if (gw_model_compare(&c, &back, where, sizeof where)) fail_msg("differs at %s\n%s", where, out.data);
  gw_model_free(&back);
  gw_model_free(&c);
  gw_problems_free(&p);
  free(out.data);
}

/* The fuzz seeds are valid interchanges of other shapes: one line, UNG/UNE,
 * a custom UNA, a UNO/UNP object. Each must decode. */
static void fuzz_seeds_decode(void **state) {
  (void)state;
  const char *names[] = {"group-one-line.edi", "una-custom.edi", "object.edi", "cusdec-d99b.edi", "cusres-d96b.edi"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz/corpus/edifact/%s", LMCGW_SOURCE_DIR, names[i]);
    size_t len;
    char *t = tu_read(path, &len);
    assert_non_null(t);
    gw_consignment c = {0};
    gw_problems p = {0};
    int rc = decode_text(t, len, &c, &p);
    if (rc) {
      dump_problems(&p);
      fail_msg("%s does not decode", names[i]);
    }
    if (i == 0) {
      assert_string_equal(c.items[0].description, "Cambodian jasmine rice's finest");
      assert_string_equal(c.type_code, "IM");
    }
    if (i == 1) {
      assert_string_equal(c.response.ref_id, "LA~1");
      assert_string_equal(c.response.decision, "ACCEPTED");
    }
    gw_model_free(&c);
    gw_problems_free(&p);
    free(t);
  }
}

/* ---- corpus -------------------------------------------------------------------- */

static int has_suffix(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

static void print_visit(const char *path, const char *value, void *ud) {
  (void)ud;
  printf("    %s = %s\n", path, value);
}

static void corpus(void **state) {
  (void)state;
  const char *dirs[] = {LMCGW_CORPUS_DIR "/edifact-ts-edifact/samples", LMCGW_CORPUS_DIR "/cii-en16931/edifact-invoic-d14b"};
  size_t tried = 0, syntax_ok = 0, ctl_bad = 0, cus_tried = 0, cus_ok = 0, cus_round = 0;
  int any = 0;
  for (size_t k = 0; k < 2; k++) {
    DIR *dd = opendir(dirs[k]);
    if (!dd) continue;
    any = 1;
    struct dirent *de;
    while ((de = readdir(dd))) {
      if (!has_suffix(de->d_name, ".edi") && !has_suffix(de->d_name, ".TXT")) continue;
      char path[1024];
      snprintf(path, sizeof path, "%s/%s", dirs[k], de->d_name);
      size_t len;
      char *t = tu_read(path, &len);
      if (!t) continue;
      tried++;
      gw_edi_interchange ix = {0};
      gw_problems p = {0};
      int rc = gw_edi_parse(t, len, &ix, &p);
      printf("  %s: syntax %s (%zu segments, %zu messages, %zu objects, %s)\n", de->d_name, rc ? "FAILED" : "ok",
             ix.n_segs, ix.n_msgs, ix.n_packages, ix.syntax);
      if (rc) dump_problems(&p);
      else syntax_ok++;
      for (size_t q = 0; q < p.n; q++)
        if (!strcmp(p.items[q].severity, "warning")) printf("    warning %s: %s\n", p.items[q].code, p.items[q].message);
      if (!rc && gw_edi_check_controls(&ix, &p)) {
        ctl_bad++;
        for (size_t q = 0; q < ix.ctl.n; q++)
          printf("    control: %s %s: %s\n", ix.ctl.items[q].code, ix.ctl.items[q].path, ix.ctl.items[q].message);
      }
      int cus = 0;
      for (size_t m = 0; !rc && m < ix.n_msgs; m++) {
        const gw_edi_structure *st = gw_cusdec_structure(ix.msgs[m].type, ix.msgs[m].release);
        if (st) {
          cus = 1;
          int src = gw_edi_check_structure(&ix, m, st, &p);
          printf("    message %s %s: structure %s\n", ix.msgs[m].ref, st->name, src ? "FAILED" : "ok");
          if (src) dump_problems(&p);
        }
      }
      gw_edi_free(&ix);
      gw_problems_free(&p);
      if (cus) {
        cus_tried++;
        gw_consignment c = {0};
        rc = decode_text(t, len, &c, &p);
        if (rc) dump_problems(&p);
        else {
          cus_ok++;
          printf("    maps %zu fields:\n", gw_model_count_fields(&c));
          gw_model_visit(&c, print_visit, NULL);
          gw_adapter_output out = {0};
          gw_problems ep = {0};
          if (!gw_adapter_cusdec.encode(&gw_adapter_cusdec, &c, &out, &ep)) {
            gw_consignment again = {0};
            char where[256];
            if (!decode_text(out.data, out.len, &again, &ep) && !gw_model_compare(&c, &again, where, sizeof where))
              cus_round++;
            else
              printf("    round trip differs at %s\n", where);
            gw_model_free(&again);
          }
          free(out.data);
          gw_problems_free(&ep);
        }
        gw_model_free(&c);
        gw_problems_free(&p);
      }
      free(t);
    }
    closedir(dd);
  }
  if (!any) {
    printf("skipped: corpus absent (%s)\n", LMCGW_CORPUS_DIR);
    return;
  }
  printf("EDIFACT corpus: %zu files tried, %zu syntax-valid (%zu with wrong control counts/references); "
         "CUSDEC/CUSRES: %zu tried, %zu decoded, %zu round-tripped\n",
         tried, syntax_ok, ctl_bad, cus_tried, cus_ok, cus_round);
  assert_int_equal(syntax_ok, tried);
  assert_int_equal(cus_ok, cus_tried);
  assert_int_equal(cus_round, cus_ok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(golden_cusdec),
      cmocka_unit_test(golden_cusres),
      cmocka_unit_test(decodes_release_characters),
      cmocka_unit_test(negative_cases),
      cmocka_unit_test(missing_mandatory_segment),
      cmocka_unit_test(too_many_repetitions),
      cmocka_unit_test(element_too_long),
      cmocka_unit_test(writer_escapes_and_parser_unescapes),
      cmocka_unit_test(latin1_is_converted),
      cmocka_unit_test(detects),
      cmocka_unit_test(tables_are_well_formed),
      cmocka_unit_test(encode_rejects_other_kinds),
      cmocka_unit_test(encode_refuses_overlong_value),
      cmocka_unit_test(utf8_names_use_unow),
      cmocka_unit_test(fuzz_seeds_decode),
      cmocka_unit_test(corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
