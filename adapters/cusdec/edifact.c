/* lmcgw — UN/EDIFACT syntax (ISO 9735 versions 1-4): parser, envelope
 * checks, structure checks against tables, and a writer. See edifact.h. */
#include "edifact.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

const gw_edi_delims gw_edi_default_delims = {':', '+', '.', '?', ' ', '\''};

/* Character repertoires (ISO 9735 syntax identifiers). UNOA/UNOB are 7-bit;
 * UNOC is ISO 8859-1 and is converted to UTF-8; UNOW/UNOY are UTF-8 (UNOY is
 * ISO 10646 which we accept as UTF-8). UNOD..UNOK are other 8-bit sets whose
 * non-ASCII bytes we cannot convert without tables, so they are refused. */
enum { EDI_CS_UNKNOWN, EDI_CS_ASCII, EDI_CS_LATIN1, EDI_CS_UTF8, EDI_CS_OTHER8 };

typedef struct edi_ctx {
  gw_edi_interchange *ix;
  gw_problems *p;
  const char *data;
  size_t len;
  int cs;
  int no_release;  /* UNA gave a space as release character */
  int warned_break;
} edi_ctx;

/* ---- growable arrays --------------------------------------------------------- */

static int edi_grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap : 64;
  while (nc < need) {
    if (nc > SIZE_MAX / 2) return GW_ENOMEM;
    nc *= 2;
  }
  if (nc > SIZE_MAX / elem) return GW_ENOMEM;
  void *n = realloc(*arr, nc * elem);
  if (!n) return GW_ENOMEM;
  *arr = n;
  *cap = nc;
  return 0;
}

static int edi_text_put(gw_edi_interchange *ix, const char *s, size_t n) {
  if (n > SIZE_MAX - ix->text_len) return GW_ENOMEM;
  int rc = edi_grow((void **)&ix->text, &ix->text_cap, ix->text_len + n, 1);
  if (rc) return rc;
  memcpy(ix->text + ix->text_len, s, n);
  ix->text_len += n;
  return 0;
}

void gw_edi_free(gw_edi_interchange *ix) {
  if (!ix) return;
  free(ix->segs);
  free(ix->elements);
  free(ix->comps);
  free(ix->text);
  free(ix->msgs);
  gw_problems_free(&ix->ctl);
  memset(ix, 0, sizeof *ix);
}

const char *gw_edi_get(const gw_edi_interchange *ix, size_t seg, size_t el, size_t comp) {
  if (!ix || seg >= ix->n_segs) return NULL;
  const gw_edi_segment *s = &ix->segs[seg];
  if (el >= s->n_el) return NULL;
  const gw_edi_element *e = &ix->elements[s->first_el + el];
  if (comp >= e->n_comp) return NULL;
  const char *t = ix->text + ix->comps[e->first_comp + comp];
  return *t ? t : NULL;
}

void gw_edi_path(const gw_edi_interchange *ix, size_t seg, size_t el, char *buf, size_t cap) {
  if (!cap) return;
  if (!ix || seg >= ix->n_segs) {
    snprintf(buf, cap, "segment %zu", seg + 1);
    return;
  }
  const gw_edi_segment *s = &ix->segs[seg];
  if (el)
    snprintf(buf, cap, "segment %zu (%s) at byte %zu, element %zu", seg + 1, s->tag, s->offset, el);
  else
    snprintf(buf, cap, "segment %zu (%s) at byte %zu", seg + 1, s->tag, s->offset);
}

/* ---- detection --------------------------------------------------------------- */

static size_t edi_skip_bom_ws(const char *d, size_t len) {
  size_t i = 0;
  if (len >= 3 && (unsigned char)d[0] == 0xEF && (unsigned char)d[1] == 0xBB && (unsigned char)d[2] == 0xBF) i = 3;
  while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n')) i++;
  return i;
}

int gw_edi_sniff(const char *data, size_t len) {
  if (!data) return 0;
  size_t i = edi_skip_bom_ws(data, len);
  if (len - i < 4) return 0;
  if (!memcmp(data + i, "UNA", 3)) return 80;
  if (!memcmp(data + i, "UNB", 3) && data[i + 3] == '+') return 70; /* no UNA: default separators */
  return 0;
}

/* ---- tokenizer --------------------------------------------------------------- */

static void edi_err_at(edi_ctx *c, const char *code, size_t off, long line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void edi_err_at(edi_ctx *c, const char *code, size_t off, long line, const char *fmt, ...) {
  char path[96], msg[400];
  snprintf(path, sizeof path, "segment %zu at byte %zu", c->ix->n_segs + 1, off);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  gw_problems_add(c->p, code, "error", line, path, "%s", msg);
}

static const char *edi_nz(const char *s) { return s ? s : "(none)"; }

static int edi_cs_from_syntax(const char *id) {
  if (!id || strlen(id) != 4 || strncmp(id, "UNO", 3)) return -1;
  switch (id[3]) {
    case 'A': case 'B': return EDI_CS_ASCII;
    case 'C': return EDI_CS_LATIN1;
    case 'W': case 'Y': return EDI_CS_UTF8;
    case 'D': case 'E': case 'F': case 'G': case 'H': case 'I': case 'J': case 'K': case 'X':
      return EDI_CS_OTHER8;
    default: return -1;
  }
}

/* Length of a valid UTF-8 sequence at s (max n bytes), 0 when invalid. */
static size_t edi_utf8_len(const unsigned char *s, size_t n) {
  unsigned char b = s[0];
  if (b < 0x80) return 1;
  size_t k;
  unsigned min;
  unsigned cp;
  if (b >= 0xC2 && b <= 0xDF) { k = 2; cp = b & 0x1F; min = 0x80; }
  else if (b >= 0xE0 && b <= 0xEF) { k = 3; cp = b & 0x0F; min = 0x800; }
  else if (b >= 0xF0 && b <= 0xF4) { k = 4; cp = b & 0x07; min = 0x10000; }
  else return 0;
  if (n < k) return 0;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return k;
}

/* Checks the raw bytes of one component against the character set and
 * appends them to the arena in UTF-8. Returns 0, GW_EPARSE or GW_ENOMEM. */
static int edi_put_value(edi_ctx *c, const char *raw, size_t n, size_t off, long line) {
  gw_edi_interchange *ix = c->ix;
  size_t chars = 0;
  int warned = 0;
  for (size_t i = 0; i < n;) {
    unsigned char b = (unsigned char)raw[i];
    if (b < 0x20 || b == 0x7F) {
      char what[8];
      snprintf(what, sizeof what, "0x%02X", b);
      edi_err_at(c, "invalid_character", off, line, "control character %s inside a data element", what);
      return GW_EPARSE;
    }
    chars++;
    if (b < 0x80) {
      if (edi_text_put(ix, raw + i, 1)) return GW_ENOMEM;
      i++;
      continue;
    }
    if (c->cs == EDI_CS_LATIN1) {
      char u[2] = {(char)(0xC0 | (b >> 6)), (char)(0x80 | (b & 0x3F))};
      if (edi_text_put(ix, u, 2)) return GW_ENOMEM;
      i++;
    } else if (c->cs == EDI_CS_UTF8) {
      size_t k = edi_utf8_len((const unsigned char *)raw + i, n - i);
      if (k) {
        if (edi_text_put(ix, raw + i, k)) return GW_ENOMEM;
        i += k;
      } else {
        /* Seen in the wild (a Windows-1252 quote in a UNOW file): keep the
         * message, mark the byte, and say so. */
        if (!warned) {
          char path[96];
          snprintf(path, sizeof path, "segment %zu at byte %zu", ix->n_segs + 1, off);
          gw_problems_add(c->p, "invalid_utf8", "warning", line, path,
                          "byte 0x%02X is not valid UTF-8 although the syntax identifier says %s; replaced by U+FFFD",
                          b, ix->syntax);
          warned = 1;
        }
        if (edi_text_put(ix, "\xEF\xBF\xBD", 3)) return GW_ENOMEM;
        i++;
      }
    } else {
      char what[64];
      snprintf(what, sizeof what, "0x%02X under %s", b, ix->syntax[0] ? ix->syntax : "the UNB syntax identifier");
      edi_err_at(c, "invalid_character", off, line, "byte %s is outside the character repertoire", what);
      return GW_EPARSE;
    }
  }
  if (chars > GW_EDI_MAX_VALUE) {
    char what[64];
    snprintf(what, sizeof what, "%zu characters (limit %d)", chars, GW_EDI_MAX_VALUE);
    edi_err_at(c, "element_too_long", off, line, "data element value of %s", what);
    return GW_EPARSE;
  }
  return edi_text_put(ix, "", 1);
}

static int edi_is_sep(const gw_edi_delims *d, char ch) {
  return ch == d->comp || ch == d->data || ch == d->seg;
}

static int edi_read_una(edi_ctx *c, size_t *pos) {
  size_t i = *pos;
  if (c->len - i < 9) {
    gw_problems_add(c->p, "bad_una", "error", 1, "UNA", "UNA service string advice needs 6 characters after UNA");
    return GW_EPARSE;
  }
  gw_edi_delims d = {c->data[i + 3], c->data[i + 4], c->data[i + 5], c->data[i + 6], c->data[i + 7], c->data[i + 8]};
  const char set[4] = {d.comp, d.data, d.release, d.seg};
  int ok = d.decimal == '.' || d.decimal == ',';
  for (int a = 0; a < 4 && ok; a++) {
    unsigned char ch = (unsigned char)set[a];
    if ((a != 2 && ch == ' ') || ch < 0x20 || ch >= 0x7F || (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= 'a' && ch <= 'z'))
      ok = 0;
    for (int b = a + 1; b < 4 && ok; b++)
      if (set[a] == set[b]) ok = 0;
  }
  if (ok && d.rep != ' ' && (d.rep == d.comp || d.rep == d.data || d.rep == d.seg || d.rep == d.release)) ok = 0;
  if (!ok) {
    gw_problems_add(c->p, "bad_una", "error", 1, "UNA",
                    "UNA service characters \"%.6s\" are not usable (separators must be distinct punctuation, "
                    "decimal mark '.' or ',')",
                    c->data + i + 3);
    return GW_EPARSE;
  }
  c->no_release = d.release == ' ';
  c->ix->delims = d;
  c->ix->has_una = 1;
  *pos = i + 9;
  return 0;
}

/* Reads one component starting at *pos into the arena; stops at an
 * unreleased separator (not consumed). */
static int edi_read_value(edi_ctx *c, size_t *pos, long *line, size_t seg_off, long seg_line, char **tmp,
                          size_t *tmp_cap) {
  const gw_edi_delims *d = &c->ix->delims;
  size_t n = 0, i = *pos;
  while (i < c->len) {
    char ch = c->data[i];
    if (edi_is_sep(d, ch)) break;
    if (ch == '\r' || ch == '\n') {
      /* Line breaks are not EDIFACT data, but editors wrap long free text;
       * drop them (as ISO 9735 readers commonly do) and say so once. */
      if (ch == '\n') (*line)++;
      if (!c->warned_break) {
        char path[96];
        snprintf(path, sizeof path, "segment %zu at byte %zu", c->ix->n_segs + 1, seg_off);
        gw_problems_add(c->p, "line_break_in_data", "warning", *line, path,
                        "unreleased line break inside a data element ignored");
        c->warned_break = 1;
      }
      i++;
      continue;
    }
    if (!c->no_release && ch == d->release) {
      if (i + 1 >= c->len) {
        gw_problems_add(c->p, "release_at_end", "error", *line, "end of input",
                        "release character '%c' at the end of the input escapes nothing", ch);
        return GW_EPARSE;
      }
      i++;
      ch = c->data[i];
    }
    if (ch == '\n') (*line)++;
    if (n >= *tmp_cap) {
      if (edi_grow((void **)tmp, tmp_cap, n + 1, 1)) return GW_ENOMEM;
    }
    (*tmp)[n++] = ch;
    i++;
  }
  *pos = i;
  return edi_put_value(c, *tmp, n, seg_off, seg_line);
}

static int edi_tokenize(edi_ctx *c, size_t pos) {
  gw_edi_interchange *ix = c->ix;
  const gw_edi_delims *d = &ix->delims;
  long line = 1;
  for (size_t i = 0; i < pos; i++)
    if (c->data[i] == '\n') line++;
  char *tmp = NULL;
  size_t tmp_cap = 0;
  int rc = 0;
  for (;;) {
    while (pos < c->len && (c->data[pos] == '\r' || c->data[pos] == '\n' || c->data[pos] == ' ' || c->data[pos] == '\t') &&
           c->data[pos] != d->seg) {
      if (c->data[pos] == '\n') line++;
      pos++;
    }
    if (pos >= c->len) break;
    if (ix->n_segs >= GW_EDI_MAX_SEGMENTS) {
      gw_problems_add(c->p, "too_many_segments", "error", line, "", "more than %d segments in one interchange",
                      GW_EDI_MAX_SEGMENTS);
      rc = GW_ETOOBIG;
      break;
    }
    size_t seg_off = pos;
    long seg_line = line;
    size_t t = 0;
    char tag[4] = {0};
    while (pos < c->len && !edi_is_sep(d, c->data[pos]) && t < 4) {
      if (t < 3) tag[t] = c->data[pos];
      t++;
      pos++;
    }
    int tag_ok = t == 3;
    for (size_t k = 0; k < 3 && tag_ok; k++)
      if (!((tag[k] >= 'A' && tag[k] <= 'Z') || (tag[k] >= '0' && tag[k] <= '9'))) tag_ok = 0;
    if (!tag_ok) {
      char shown[8] = {0};
      memcpy(shown, c->data + seg_off, (c->len - seg_off) < 6 ? (c->len - seg_off) : 6);
      for (size_t k = 0; k < 6; k++)
        if (shown[k] && ((unsigned char)shown[k] < 0x20 || (unsigned char)shown[k] >= 0x7F)) shown[k] = '.';
      edi_err_at(c, "bad_segment_tag", seg_off, seg_line, "expected a 3-letter segment tag, found \"%s\"", shown);
      rc = GW_EPARSE;
      break;
    }
    if ((rc = edi_grow((void **)&ix->segs, &ix->cap_segs, ix->n_segs + 1, sizeof *ix->segs))) break;
    gw_edi_segment *s = &ix->segs[ix->n_segs];
    memset(s, 0, sizeof *s);
    memcpy(s->tag, tag, 4);
    s->offset = seg_off;
    s->line = seg_line;
    s->first_el = ix->n_elements;
    if (pos < c->len && c->data[pos] == d->comp) {
      edi_err_at(c, "bad_segment_tag", seg_off, seg_line, "segment tag \"%s\" followed by a component separator", tag);
      rc = GW_EPARSE;
      break;
    }
    /* elements: each starts after a data separator */
    while (pos < c->len && c->data[pos] == d->data) {
      pos++;
      if (s->n_el >= GW_EDI_MAX_ELEMENTS) {
        edi_err_at(c, "too_many_elements", seg_off, seg_line, "segment %s has more than 99 data elements", tag);
        rc = GW_EPARSE;
        break;
      }
      if ((rc = edi_grow((void **)&ix->elements, &ix->cap_elements, ix->n_elements + 1, sizeof *ix->elements))) break;
      gw_edi_element *e = &ix->elements[ix->n_elements++];
      e->first_comp = ix->n_comps;
      e->n_comp = 0;
      s->n_el++;
      for (;;) {
        if (e->n_comp >= GW_EDI_MAX_COMPONENTS) {
          edi_err_at(c, "too_many_components", seg_off, seg_line,
                     "a data element of segment %s has more than 99 components", tag);
          rc = GW_EPARSE;
          break;
        }
        if ((rc = edi_grow((void **)&ix->comps, &ix->cap_comps, ix->n_comps + 1, sizeof *ix->comps))) break;
        ix->comps[ix->n_comps++] = ix->text_len;
        e->n_comp++;
        if ((rc = edi_read_value(c, &pos, &line, seg_off, seg_line, &tmp, &tmp_cap))) break;
        if (pos < c->len && c->data[pos] == d->comp) {
          pos++;
          continue;
        }
        break;
      }
      if (rc) break;
    }
    if (rc) break;
    if (pos >= c->len) {
      edi_err_at(c, "unterminated_segment", seg_off, seg_line,
                 "segment %s is not closed by the segment terminator before the end of the input", tag);
      rc = GW_EPARSE;
      break;
    }
    if (c->data[pos] != d->seg) {
      edi_err_at(c, "bad_segment", seg_off, seg_line, "unexpected character after the data of segment %s", tag);
      rc = GW_EPARSE;
      break;
    }
    pos++;
    ix->n_segs++;
    if (!strcmp(tag, "UNO")) {
      /* ISO 9735-8 associated data: the object's octets follow the UNO
       * segment directly and are closed by UNP; we skip them unread. */
      const char *olen = gw_edi_get(ix, ix->n_segs - 1, 3, 0), *before = gw_edi_get(ix, ix->n_segs - 1, 3, 1);
      size_t n = 0;
      int ok = olen && strlen(olen) <= 18 && (!before || !strcmp(before, "0"));
      for (size_t k = 0; ok && olen[k]; k++) {
        if (olen[k] < '0' || olen[k] > '9' || n > (SIZE_MAX - 9) / 10) ok = 0;
        else n = n * 10 + (size_t)(olen[k] - '0');
      }
      if (!ok || n > c->len - pos) {
        edi_err_at(c, "bad_object", seg_off, seg_line, "UNO object length \"%s\" is not a count of the octets that follow",
                   olen ? olen : "");
        rc = GW_EPARSE;
        break;
      }
      for (size_t k = pos; k < pos + n; k++)
        if (c->data[k] == '\n') line++;
      pos += n;
      if (c->len - pos < 4 || memcmp(c->data + pos, "UNP", 3) || c->data[pos + 3] != d->data) {
        edi_err_at(c, "bad_object", seg_off, seg_line, "the %s octets of the UNO object are not followed by UNP", olen);
        rc = GW_EPARSE;
        break;
      }
      ix->n_packages++;
    }
    if (ix->n_segs == 1 && !strcmp(tag, "UNB")) {
      const char *id = gw_edi_get(ix, 0, 0, 0), *ver = gw_edi_get(ix, 0, 0, 1);
      int cs = edi_cs_from_syntax(id);
      if (cs < 0) {
        gw_problems_add(c->p, "bad_syntax_identifier", "error", seg_line, "segment 1 (UNB) at byte 0, element 1",
                        "syntax identifier \"%s\" is not one of UNOA..UNOY", id ? id : "");
        rc = GW_EPARSE;
        break;
      }
      c->cs = cs;
      snprintf(ix->syntax, sizeof ix->syntax, "%s", id);
      ix->syntax_version = (ver && ver[0] >= '1' && ver[0] <= '4' && !ver[1]) ? ver[0] - '0' : 0;
      if (!ix->syntax_version) {
        gw_problems_add(c->p, "bad_syntax_identifier", "error", seg_line, "segment 1 (UNB) at byte 0, element 1",
                        "syntax version \"%s\" is not 1..4", ver ? ver : "");
        rc = GW_EPARSE;
        break;
      }
    }
  }
  free(tmp);
  if (rc == GW_ENOMEM) gw_problems_add(c->p, "out_of_memory", "error", 0, "", "out of memory while parsing EDIFACT");
  return rc;
}

/* ---- envelope ---------------------------------------------------------------- */

/* Decimal count of at most 9 digits, -1 when not a number. */
static long edi_count(const char *s) {
  if (!s || !*s) return -1;
  long v = 0;
  for (size_t i = 0; s[i]; i++) {
    if (s[i] < '0' || s[i] > '9' || i >= 9) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static void edi_env_err(const gw_edi_interchange *ix, gw_problems *p, const char *code, size_t seg, size_t el,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void edi_env_err(const gw_edi_interchange *ix, gw_problems *p, const char *code, size_t seg, size_t el,
                        const char *fmt, ...) {
  char path[128], msg[400];
  gw_edi_path(ix, seg, el, path, sizeof path);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  gw_problems_add(p, code, "error", seg < ix->n_segs ? ix->segs[seg].line : 0, path, "%s", msg);
}

static int edi_envelope(gw_edi_interchange *ix, gw_problems *p) {
  int bad = 0;
  if (!ix->n_segs || strcmp(ix->segs[0].tag, "UNB")) {
    edi_env_err(ix, p, "missing_unb", 0, 0, "the interchange must start with UNB");
    return GW_ESCHEMA;
  }
  ix->sender = gw_edi_get(ix, 0, 1, 0);
  ix->recipient = gw_edi_get(ix, 0, 2, 0);
  ix->date = gw_edi_get(ix, 0, 3, 0);
  ix->time = gw_edi_get(ix, 0, 3, 1);
  ix->control_ref = gw_edi_get(ix, 0, 4, 0);
  if (!ix->sender || !ix->recipient || !ix->control_ref) {
    edi_env_err(ix, p, "missing_element", 0, 0, "UNB lacks a mandatory element (sender, recipient or control reference)");
    bad = 1;
  }
  int in_msg = 0, in_grp = 0, seen_unz = 0;
  size_t n_groups = 0, grp_msgs = 0, grp_seg = 0;
  for (size_t i = 1; i < ix->n_segs; i++) {
    const char *tag = ix->segs[i].tag;
    if (seen_unz) {
      edi_env_err(ix, p, "data_after_unz", i, 0, "segment after UNZ: the interchange has ended");
      bad = 1;
      break;
    }
    if (!strcmp(tag, "UNH")) {
      if (in_msg) {
        edi_env_err(ix, p, "missing_unt", i, 0, "UNH while message %s is still open (no UNT)",
                    edi_nz(ix->msgs[ix->n_msgs - 1].ref));
        bad = 1;
      }
      if (edi_grow((void **)&ix->msgs, &ix->cap_msgs, ix->n_msgs + 1, sizeof *ix->msgs)) {
        gw_problems_add(p, "out_of_memory", "error", 0, "", "out of memory");
        return GW_ENOMEM;
      }
      gw_edi_message *m = &ix->msgs[ix->n_msgs++];
      memset(m, 0, sizeof *m);
      m->unh = i;
      m->ref = gw_edi_get(ix, i, 0, 0);
      m->type = gw_edi_get(ix, i, 1, 0);
      m->version = gw_edi_get(ix, i, 1, 1);
      m->release = gw_edi_get(ix, i, 1, 2);
      m->agency = gw_edi_get(ix, i, 1, 3);
      if (!m->ref || !m->type) {
        edi_env_err(ix, p, "missing_element", i, m->ref ? 2 : 1, "UNH lacks its message %s",
                    m->ref ? "type (S009)" : "reference number (0062)");
        bad = 1;
      }
      in_msg = 1;
      grp_msgs++;
    } else if (!strcmp(tag, "UNT")) {
      if (!in_msg) {
        edi_env_err(ix, p, "segment_outside_message", i, 0, "UNT without a preceding UNH");
        bad = 1;
        continue;
      }
      gw_edi_message *m = &ix->msgs[ix->n_msgs - 1];
      m->unt = i;
      in_msg = 0;
      const char *cnt = gw_edi_get(ix, i, 0, 0), *ref = gw_edi_get(ix, i, 1, 0);
      long want = (long)(i - m->unh + 1);
      char actual[32];
      snprintf(actual, sizeof actual, "%ld", want);
      if (edi_count(cnt) != want) {
        edi_env_err(ix, &ix->ctl, "unt_count", i, 1,
                    "UNT says the message has %s segments, but UNH..UNT inclusive are %s", edi_nz(cnt), actual);
      }
      if (!ref || !m->ref || strcmp(ref, m->ref)) {
        edi_env_err(ix, &ix->ctl, "unt_reference", i, 2, "UNT reference %s differs from UNH reference %s", edi_nz(ref), edi_nz(m->ref));
      }
    } else if (!strcmp(tag, "UNG")) {
      if (in_msg || in_grp) {
        edi_env_err(ix, p, "bad_envelope", i, 0, "UNG inside an open %s", in_msg ? "message" : "group");
        bad = 1;
      }
      in_grp = 1;
      n_groups++;
      grp_msgs = 0;
      grp_seg = i;
    } else if (!strcmp(tag, "UNE")) {
      if (!in_grp || in_msg) {
        edi_env_err(ix, p, "bad_envelope", i, 0, "UNE without an open group, or inside a message");
        bad = 1;
      } else {
        char actual[32];
        snprintf(actual, sizeof actual, "%zu", grp_msgs);
        if (edi_count(gw_edi_get(ix, i, 0, 0)) != (long)grp_msgs) {
          edi_env_err(ix, &ix->ctl, "une_count", i, 1, "UNE says %s messages, the group has %s", edi_nz(gw_edi_get(ix, i, 0, 0)), actual);
        }
        const char *r1 = gw_edi_get(ix, i, 1, 0), *r0 = gw_edi_get(ix, grp_seg, 4, 0);
        if (!r1 || !r0 || strcmp(r0, r1)) {
          edi_env_err(ix, &ix->ctl, "une_reference", i, 2, "UNE reference %s differs from UNG reference %s", edi_nz(r1), edi_nz(r0));
        }
      }
      in_grp = 0;
    } else if (!strcmp(tag, "UNZ")) {
      if (in_msg || in_grp) {
        edi_env_err(ix, p, in_msg ? "missing_unt" : "missing_une", i, 0, "UNZ while a %s is still open",
                    in_msg ? "message" : "group");
        bad = 1;
      }
      seen_unz = 1;
      size_t want = n_groups ? n_groups : ix->n_msgs;
      char actual[64];
      snprintf(actual, sizeof actual, "%zu %s", want, n_groups ? "groups" : "messages");
      const char *cnt = gw_edi_get(ix, i, 0, 0), *ref = gw_edi_get(ix, i, 1, 0);
      if (edi_count(cnt) != (long)want) {
        edi_env_err(ix, &ix->ctl, "unz_count", i, 1, "UNZ control count is %s, but the interchange has %s", edi_nz(cnt), actual);
      }
      if (!ref || !ix->control_ref || strcmp(ref, ix->control_ref)) {
        edi_env_err(ix, &ix->ctl, "unz_reference", i, 2, "UNZ control reference %s differs from UNB's %s", edi_nz(ref), edi_nz(ix->control_ref));
      }
    } else if (!strcmp(tag, "UNO") || !strcmp(tag, "UNP")) {
      if (in_msg) {
        edi_env_err(ix, p, "bad_envelope", i, 0, "%s inside a message", tag);
        bad = 1;
      }
    } else if (!strcmp(tag, "UNB") || !strcmp(tag, "UNA")) {
      edi_env_err(ix, p, "bad_envelope", i, 0, "a second %s inside the interchange", tag);
      bad = 1;
    } else if (!in_msg) {
      edi_env_err(ix, p, "segment_outside_message", i, 0, "segment %s outside any UNH..UNT message", tag);
      bad = 1;
    }
  }
  if (!seen_unz && !bad) {
    edi_env_err(ix, p, "missing_unz", ix->n_segs - 1, 0, "the interchange does not end with UNZ");
    bad = 1;
  }
  return bad ? GW_ESCHEMA : 0;
}

int gw_edi_parse(const char *data, size_t len, gw_edi_interchange *ix, gw_problems *p) {
  if (!data || !ix) return GW_EINVAL;
  if (len > GW_EDI_MAX_INPUT) {
    gw_problems_add(p, "too_big", "error", 0, "", "interchange of %zu bytes is over the %zu byte limit", len,
                    GW_EDI_MAX_INPUT);
    return GW_ETOOBIG;
  }
  edi_ctx c = {ix, p, data, len, EDI_CS_UNKNOWN, 0, 0};
  ix->delims = gw_edi_default_delims;
  size_t pos = edi_skip_bom_ws(data, len);
  if (pos >= len) {
    gw_problems_add(p, "missing_unb", "error", 0, "", "empty input: no EDIFACT interchange");
    return GW_EPARSE;
  }
  int rc;
  if (len - pos >= 3 && !memcmp(data + pos, "UNA", 3) && (rc = edi_read_una(&c, &pos))) return rc;
  c.cs = EDI_CS_ASCII; /* until UNB names the repertoire */
  if ((rc = edi_tokenize(&c, pos))) return rc;
  return edi_envelope(ix, p);
}

int gw_edi_check_controls(const gw_edi_interchange *ix, gw_problems *p) {
  if (!ix) return GW_EINVAL;
  for (size_t i = 0; i < ix->ctl.n; i++) {
    const gw_problem *q = &ix->ctl.items[i];
    gw_problems_add(p, q->code, q->severity, q->line, q->path, "%s", q->message);
  }
  return ix->ctl.n ? GW_ESCHEMA : 0;
}

/* ---- structure --------------------------------------------------------------- */

typedef struct edi_st {
  const gw_edi_interchange *ix;
  const gw_edi_structure *st;
  gw_problems *p;
  size_t last;       /* one past UNT */
  size_t repeat_at;  /* segment where a node's maximum stopped matching, or SIZE_MAX */
  const gw_edi_node *repeat_node;
  int failed;
} edi_st;

static size_t edi_subtree_end(const gw_edi_structure *st, size_t i) {
  size_t j = i + 1;
  while (j < st->n_nodes && st->nodes[j].depth > st->nodes[i].depth) j++;
  return j;
}

static const char *edi_node_trigger(const gw_edi_structure *st, size_t i) {
  if (!st->nodes[i].group) return st->nodes[i].tag;
  return i + 1 < st->n_nodes ? st->nodes[i + 1].tag : "";
}

/* Whether tag starts a node placed before node `before` in the table: then
 * the segment came too late rather than a mandatory one being absent. */
static int edi_st_seen_before(const gw_edi_structure *st, size_t before, const char *tag) {
  for (size_t i = 0; i < before && i < st->n_nodes; i++)
    if (!st->nodes[i].group && !strcmp(st->nodes[i].tag, tag)) return 1;
  return 0;
}

/* Says why matching stopped at segment s: a segment the structure does not
 * know, one over its maximum repetitions, a missing mandatory node (missing,
 * non-NULL), or else a segment out of order. */
static void edi_st_report(edi_st *c, size_t s, const gw_edi_node *missing, const char *within) {
  const gw_edi_interchange *ix = c->ix;
  size_t at = s < c->last ? s : c->last - 1;
  const char *tag = ix->segs[at].tag;
  int known = 0;
  for (size_t i = 0; i < c->st->n_nodes && !known; i++)
    if (!c->st->nodes[i].group && !strcmp(c->st->nodes[i].tag, tag)) known = 1;
  char path[128];
  gw_edi_path(ix, at, 0, path, sizeof path);
  long line = ix->segs[at].line;
  if (!known)
    gw_problems_add(c->p, "structure_unknown", "error", line, path, "segment %s is not part of the %s structure", tag,
                    c->st->name);
  else if (c->repeat_at == s && c->repeat_node)
    gw_problems_add(c->p, "structure_repeat", "error", line, path, "%s %s occurs more than its maximum of %u times (%s)",
                    c->repeat_node->group ? "segment group" : "segment", c->repeat_node->tag,
                    (unsigned)c->repeat_node->max, c->st->name);
  else if (missing && !edi_st_seen_before(c->st, (size_t)(missing - c->st->nodes), tag))
    gw_problems_add(c->p, "structure_missing", "error", line, path,
                    "mandatory %s %s%s%s missing before this segment (%s)", missing->group ? "segment group" : "segment",
                    missing->tag, within ? " in " : "", within ? within : "", c->st->name);
  else
    gw_problems_add(c->p, "structure_order", "error", line, path, "segment %s is out of order here (%s)", tag,
                    c->st->name);
}

/* Greedy match of the nodes [first, end) (siblings) from segment s. EDIFACT
 * groups are entered by their trigger segment, which makes greedy matching
 * the standard's own reading. Recursion depth is the table's nesting depth. */
static size_t edi_st_match(edi_st *c, size_t first, size_t end, size_t s, const char *within) {
  for (size_t i = first; i < end && !c->failed; i = edi_subtree_end(c->st, i)) {
    const gw_edi_node *n = &c->st->nodes[i];
    const char *trig = edi_node_trigger(c->st, i);
    uint32_t count = 0;
    while (s < c->last && !strcmp(c->ix->segs[s].tag, trig)) {
      if (count >= n->max) {
        if (c->repeat_at == SIZE_MAX || s > c->repeat_at) {
          c->repeat_at = s;
          c->repeat_node = n;
        }
        break;
      }
      count++;
      if (n->group)
        s = edi_st_match(c, i + 2, edi_subtree_end(c->st, i), s + 1, n->tag);
      else
        s++;
      if (c->failed) return s;
    }
    if (!count && n->mandatory) {
      edi_st_report(c, s, n, within);
      c->failed = 1;
    }
  }
  return s;
}

int gw_edi_check_structure(const gw_edi_interchange *ix, size_t m, const gw_edi_structure *st, gw_problems *p) {
  if (!ix || !st || m >= ix->n_msgs) return GW_EINVAL;
  edi_st c = {ix, st, p, ix->msgs[m].unt + 1, SIZE_MAX, NULL, 0};
  if (c.last <= ix->msgs[m].unh) return GW_EINVAL;
  size_t s = edi_st_match(&c, 0, st->n_nodes, ix->msgs[m].unh, NULL);
  if (c.failed) return GW_ESCHEMA;
  if (s >= c.last) return 0;
  edi_st_report(&c, s, NULL, NULL);
  return GW_ESCHEMA;
}

/* ---- writer ------------------------------------------------------------------ */

static void edi_w_put(gw_edi_writer *w, const char *s, size_t n) {
  if (w->err) return;
  if (n > GW_EDI_MAX_INPUT || w->len + n + 1 > GW_EDI_MAX_INPUT) {
    w->err = GW_ETOOBIG;
    return;
  }
  if (edi_grow((void **)&w->buf, &w->cap, w->len + n + 1, 1)) {
    w->err = GW_ENOMEM;
    return;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = 0;
}

void gw_edi_w_init(gw_edi_writer *w, const gw_edi_delims *d, int una, int newline) {
  memset(w, 0, sizeof *w);
  w->d = d ? *d : gw_edi_default_delims;
  w->newline = newline;
  if (una) {
    char u[9] = {'U', 'N', 'A', w->d.comp, w->d.data, w->d.decimal, w->d.release, w->d.rep, w->d.seg};
    edi_w_put(w, u, 9);
    if (newline) edi_w_put(w, "\n", 1);
  }
}

void gw_edi_w_seg(gw_edi_writer *w, const char *tag) {
  if (w->in_seg) gw_edi_w_end(w);
  edi_w_put(w, tag, strlen(tag));
  w->in_seg = 1;
  w->pend_data = w->pend_comp = 0;
}

static void edi_w_value(gw_edi_writer *w, const char *v) {
  if (!v || !*v) return;
  size_t chars = 0;
  for (const unsigned char *q = (const unsigned char *)v; *q; q++)
    if ((*q & 0xC0) != 0x80) chars++;
  if (chars > GW_EDI_MAX_VALUE) { /* the parser would refuse it */
    if (!w->err) w->err = GW_ETOOBIG;
    return;
  }
  for (; w->pend_data; w->pend_data--) edi_w_put(w, &w->d.data, 1);
  for (; w->pend_comp; w->pend_comp--) edi_w_put(w, &w->d.comp, 1);
  for (const char *q = v; *q; q++) {
    char ch = *q;
    if ((unsigned char)ch < 0x20 || ch == 0x7F) ch = ' '; /* control characters are not allowed in data */
    if (ch == w->d.comp || ch == w->d.data || ch == w->d.seg || ch == w->d.release || (w->d.rep != ' ' && ch == w->d.rep))
      edi_w_put(w, &w->d.release, 1);
    edi_w_put(w, &ch, 1);
  }
}

void gw_edi_w_el(gw_edi_writer *w, const char *v) {
  w->pend_data++;
  w->pend_comp = 0;
  edi_w_value(w, v);
}

void gw_edi_w_comp(gw_edi_writer *w, const char *v) {
  w->pend_comp++;
  edi_w_value(w, v);
}

void gw_edi_w_end(gw_edi_writer *w) {
  if (!w->in_seg) return;
  edi_w_put(w, &w->d.seg, 1);
  if (w->newline) edi_w_put(w, "\n", 1);
  w->in_seg = 0;
  w->pend_data = w->pend_comp = 0;
  w->n_segs++;
}

int gw_edi_w_take(gw_edi_writer *w, char **out, size_t *len) {
  if (w->in_seg) gw_edi_w_end(w);
  int rc = w->err;
  if (!rc && !w->buf) edi_w_put(w, "", 0), rc = w->err;
  if (rc) {
    gw_edi_w_free(w);
    return rc;
  }
  *out = w->buf;
  *len = w->len;
  w->buf = NULL;
  w->len = w->cap = 0;
  return 0;
}

void gw_edi_w_free(gw_edi_writer *w) {
  free(w->buf);
  w->buf = NULL;
  w->len = w->cap = 0;
}
