/* lmcgw — code lists and value shapes for the business rules (see codes.h). */
#include "rules/codes.h"

#include <stdlib.h>
#include <string.h>

/* ISO 3166-1 alpha-2, the 249 officially assigned codes. Source: ISO 3166
 * Maintenance Agency list, as enumerated in UN/CEFACT's
 * ISO_ISOTwo-letterCountryCode_SecondEdition2006.xsd (the same 249 codes as
 * the Factur-X 1.09.2 code list 10 without its non-ISO 1A and XI). */
static const char *const countries[] = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW",
    "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN",
    "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG",
    "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ",
    "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI",
    "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL",
    "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR",
    "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA",
    "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME",
    "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU",
    "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP",
    "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR",
    "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD",
    "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV",
    "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE",
    "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

/* ISO 4217 List One, active alphabetic codes (including fund and X codes),
 * as of the 2025 amendments (XCG, ZWG, VED, SLE in; ANG, HRK, BGN... out).
 * Source: ISO 4217 via the Factur-X 1.09.2 code list database (list 31), less
 * CNH, which is a market convention and not an ISO 4217 code. */
static const char *const currencies[] = {
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP",
    "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR",
    "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD",
    "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN",
    "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
    "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF",
    "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF",
    "XPT", "XSU", "XTS", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWG",
};

/* UN/ECE Recommendation 20 common codes; see gen_units.sh for the source. */
static const char *const units[] = {
#include "rules/units_rec20.inc"
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int codes_cmp(const void *key, const void *elem) {
  return strcmp((const char *)key, *(const char *const *)elem);
}

static int codes_find(const char *const *tab, size_t n, const char *s) {
  return s && bsearch(s, tab, n, sizeof(*tab), codes_cmp) != NULL;
}

const char *const *gw_codes_table(gw_code_list which, size_t *n) {
  switch (which) {
  case GW_CODES_COUNTRY:
    *n = COUNT(countries);
    return countries;
  case GW_CODES_CURRENCY:
    *n = COUNT(currencies);
    return currencies;
  case GW_CODES_UNIT:
    *n = COUNT(units);
    return units;
  }
  *n = 0;
  return NULL;
}

int gw_codes_country(const char *s) { return codes_find(countries, COUNT(countries), s); }
int gw_codes_currency(const char *s) { return codes_find(currencies, COUNT(currencies), s); }
int gw_codes_unit(const char *s) { return codes_find(units, COUNT(units), s); }

/* Factors from the Rec 20 conversion column (exact by definition of the
 * pound: 0.453 592 37 kg). */
static const struct {
  const char *code;
  double kg;
} mass_units[] = {
    {"2U", 1e3},         /* megagram */
    {"DTN", 1e2},        /* decitonne */
    {"GRM", 1e-3},       /* gram */
    {"KGM", 1.0},        /* kilogram */
    {"KTN", 1e6},        /* kilotonne */
    {"LBR", 0.45359237}, /* pound */
    {"LTN", 1016.0469088}, /* long ton (UK) */
    {"MGM", 1e-6},       /* milligram */
    {"ONZ", 0.028349523125}, /* ounce (avoirdupois) */
    {"STN", 907.18474},  /* short ton (US) */
    {"TNE", 1e3},        /* tonne */
};

int gw_codes_mass_unit(const char *s, double *to_kg) {
  if (!s) return 0;
  for (size_t i = 0; i < COUNT(mass_units); i++)
    if (!strcmp(s, mass_units[i].code)) {
      if (to_kg) *to_kg = mass_units[i].kg;
      return 1;
    }
  return 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }

int gw_codes_package_type(const char *s) {
  return s && strlen(s) == 2 && (is_digit(s[0]) || is_upper(s[0])) && (is_digit(s[1]) || is_upper(s[1]));
}

int gw_codes_hs_chapter(const char *s) {
  if (!s) return -1;
  size_t n = strlen(s);
  if (n < 6 || n > 10) return -1;
  for (size_t i = 0; i < n; i++)
    if (!is_digit(s[i])) return -1;
  int ch = (s[0] - '0') * 10 + (s[1] - '0');
  /* The Harmonized System has chapters 01..97; 77 is reserved for future
   * use, 98 and 99 are left to national use and never travel as HS. */
  if (ch < 1 || ch > 97 || ch == 77) return -1;
  return ch;
}

int gw_codes_hs(const char *s) { return gw_codes_hs_chapter(s) > 0; }

int gw_codes_locode(const char *s) {
  if (!s || strlen(s) != 5) return 0;
  char cc[3] = {s[0], s[1], 0};
  if (!gw_codes_country(cc)) return 0;
  /* UN/LOCODE location parts use letters and the digits 2-9 (0 and 1 are
   * excluded to avoid confusion with O and I). */
  for (int i = 2; i < 5; i++)
    if (!is_upper(s[i]) && !(s[i] >= '2' && s[i] <= '9')) return 0;
  return 1;
}

/* Parses exactly n digits at *p, advancing it; -1 when not digits. */
static int codes_digits(const char **p, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!is_digit((*p)[i])) return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  return v;
}

static int codes_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil algorithm). */
static long long codes_days(int y, int m, int d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  long long yoe = y - era * 400;
  long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* Reads YYYY-MM-DD at *p; returns days since the epoch or sets *ok = 0. */
static long long codes_parse_date(const char **p, int *ok) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y = codes_digits(p, 4);
  if (y < 0 || **p != '-') return *ok = 0, 0;
  (*p)++;
  int m = codes_digits(p, 2);
  if (m < 0 || **p != '-') return *ok = 0, 0;
  (*p)++;
  int d = codes_digits(p, 2);
  if (d < 0 || y < 1900 || y > 2999 || m < 1 || m > 12) return *ok = 0, 0;
  int dim = mdays[m - 1] + (m == 2 && codes_leap(y));
  if (d < 1 || d > dim) return *ok = 0, 0;
  return codes_days(y, m, d);
}

int gw_codes_date(const char *s) {
  if (!s) return 0;
  int ok = 1;
  codes_parse_date(&s, &ok);
  return ok && *s == 0;
}

int gw_codes_datetime(const char *s, long long *epoch) {
  if (!s) return 0;
  int ok = 1;
  long long t = codes_parse_date(&s, &ok) * 86400;
  if (!ok) return 0;
  if (*s == 'T') {
    s++;
    int hh = codes_digits(&s, 2), mm = -1, ss = 0;
    if (hh < 0 || *s != ':') return 0;
    s++;
    mm = codes_digits(&s, 2);
    if (mm < 0) return 0;
    if (*s == ':') {
      s++;
      ss = codes_digits(&s, 2);
      if (ss < 0) return 0;
      if (*s == '.') {
        s++;
        if (!is_digit(*s)) return 0;
        while (is_digit(*s)) s++;
      }
    }
    /* 24:00 and leap seconds are legal ISO 8601 but no trade system sends
     * them; treating them as errors catches more typos than it rejects. */
    if (hh > 23 || mm > 59 || ss > 59) return 0;
    t += hh * 3600LL + mm * 60LL + ss;
    if (*s == 'Z') {
      s++;
    } else if (*s == '+' || *s == '-') {
      int sign = *s == '+' ? 1 : -1;
      s++;
      int oh = codes_digits(&s, 2);
      if (oh < 0) return 0;
      if (*s == ':') s++;
      int om = codes_digits(&s, 2);
      if (om < 0 || oh > 14 || om > 59) return 0;
      t -= sign * (oh * 3600LL + om * 60LL);
    }
  }
  if (*s) return 0;
  if (epoch) *epoch = t;
  return 1;
}

int gw_codes_msg_function(const char *s) {
  if (!s || !*s || strlen(s) > 2) return 0;
  int v = 0;
  for (const char *p = s; *p; p++) {
    if (!is_digit(*p)) return 0;
    v = v * 10 + (*p - '0');
  }
  /* UN/EDIFACT D16A code list 1225 runs from 1 to 69 without gaps. */
  return s[0] != '0' && v >= 1 && v <= 69;
}

int gw_codes_doc_name(const char *s) {
  if (!s) return 0;
  size_t n = strlen(s);
  if (n < 1 || n > 3) return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_digit(s[i])) return 0;
  return 1;
}

int gw_codes_decimal(const char *s) {
  if (!s) return 0;
  if (*s == '-') s++;
  if (!is_digit(*s)) return 0;
  while (is_digit(*s)) s++;
  if (*s == '.') {
    s++;
    if (!is_digit(*s)) return 0;
    while (is_digit(*s)) s++;
  }
  return *s == 0;
}
