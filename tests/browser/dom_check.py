#!/usr/bin/env python3
"""Checks expectations against a DOM dumped by headless chromium (tests/browser/ui_check.sh).

    dom_check.py DOM_FILE EXPECTATION...

An expectation is one of
    TEXT                       TEXT occurs in the page's text (whitespace collapsed) or in its markup
    data-test=NAME             an element with data-test="NAME" exists
    data-test=NAME:TEXT        an element with data-test="NAME" whose text contains TEXT
    data-test=NAME#N           exactly N elements with data-test="NAME" (N may be 0)
    data-test=NAME#N:TEXT      exactly N of them contain TEXT
    !EXPECTATION               the expectation must NOT hold (e.g. !data-test=error)
Matching is case-sensitive; text is compared with runs of whitespace collapsed to one space.
Prints one line per expectation (ok / MISSING) and, when something is missing, what the page did
show; exits 0 when all hold, 1 otherwise, 2 on bad usage.
"""
import html.parser
import re
import sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
# Content that is not visible text: scripts and styles, and noscript (scripting is on in chromium).
HIDDEN = {"script", "style", "noscript", "template"}
EXPECT = re.compile(r"^data-test=([A-Za-z0-9_.-]+)(?:#(\d+))?(?::(.*))?$", re.S)


def squash(s):
    return re.sub(r"\s+", " ", s).strip()


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []      # [tag, element-record or None]
        self.elements = []   # {"name": data-test, "text": [...], "attrs": {...}}
        self.text = []
        self.hidden = 0

    def boundary(self):
        # Tags separate words as a browser's layout mostly would ("<dt>Route</dt><dd>TH</dd>").
        self.handle_data(" ")

    def handle_starttag(self, tag, attrs):
        self.boundary()
        a = dict(attrs)
        rec = None
        if "data-test" in a:
            rec = {"name": a.get("data-test") or "", "text": [], "attrs": a}
            self.elements.append(rec)
        if tag in VOID:
            return
        self.stack.append((tag, rec))
        if tag in HIDDEN:
            self.hidden += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        self.boundary()
        # The dump is serialised from a DOM, so tags nest; pop to the matching one anyway.
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for t, _ in self.stack[i:]:
                    if t in HIDDEN:
                        self.hidden -= 1
                del self.stack[i:]
                return

    def handle_data(self, data):
        if self.hidden:
            return
        self.text.append(data)
        for _, rec in self.stack:
            if rec is not None:
                rec["text"].append(data)


def check(dom, raw, exp):
    neg = exp.startswith("!")
    body = exp[1:] if neg else exp
    m = EXPECT.match(body)
    if m:
        name, count, want = m.group(1), m.group(2), m.group(3)
        els = [e for e in dom.elements if e["name"] == name]
        if want is not None:
            w = squash(want)
            els = [e for e in els if w in squash("".join(e["text"]))]
        ok = (len(els) == int(count)) if count is not None else bool(els)
        seen = [squash("".join(e["text"]))[:120] for e in dom.elements if e["name"] == name]
        if count is not None:
            why = "found %d" % len(els)
        elif seen:
            why = "data-test=%s holds: %s" % (name, " | ".join(repr(s) for s in seen[:8]))
        else:
            why = "no element with data-test=%s" % name
    else:
        text = squash("".join(dom.text))
        ok = squash(body) in text or body in raw
        why = "not in the page's text or markup"
    if neg:
        ok = not ok
        why = "present but must not be"
    return ok, why


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="utf-8", errors="replace") as f:
        raw = f.read()
    dom = Dom()
    dom.feed(raw)
    dom.close()
    failed = 0
    for exp in argv[2:]:
        ok, why = check(dom, raw, exp)
        if ok:
            print("  ok       %s" % exp)
        else:
            failed += 1
            print("  MISSING  %s  (%s)" % (exp, why))
    if failed:
        names = sorted({e["name"] for e in dom.elements})
        print("page text: %s" % squash("".join(dom.text))[:1500])
        print("data-test names present: %s" % " ".join(names))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
