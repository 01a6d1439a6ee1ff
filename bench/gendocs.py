#!/usr/bin/env python3
"""Benchmark messages of given sizes, made at run time from the repository's
examples (never committed): SPS certificates grown with more consignment
lines (realistic: one line per product lot, each with its treatment), and
with ePhyto-style attachments (ReferenceSPSReferencedDocument carrying an
AttachmentBinaryObject of base64, as the ePhyto hub sends PDFs of permits).

    gendocs.py OUTDIR        writes decl-4k.xml, sps-20k.xml, sps-200k.xml and
                             size-1k/4k/20k/200k/1m.xml; prints one line per file

The documents must stay valid: bench/pipeline.sh checks every one with
`lmcgw validate` before using it."""
import base64
import os
import random
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples")
rnd = random.Random(20261129)


def sps_with_lines(target):
    """The Thai durian/longan phytosanitary certificate with more trade lines
    (copies of the longan line, new sequence numbers and lot names) until it
    reaches about target bytes."""
    doc = open(os.path.join(EX, "sps/th-vn-durian-phyto.xml"), encoding="utf-8").read()
    items = re.findall(r"\s*<ram:IncludedSPSTradeLineItem>.*?</ram:IncludedSPSTradeLineItem>", doc, re.S)
    template = items[-1]
    seq = len(items)
    extra = []
    size = len(doc.encode())
    fruits = [("Longan", "Dimocarpus longan", "08109010"), ("Mangosteen", "Garcinia mangostana", "08109094"),
              ("Rambutan", "Nephelium lappaceum", "08109092"), ("Durian", "Durio zibethinus", "08106000")]
    while size < target:
        seq += 1
        common, sci, hs = fruits[seq % len(fruits)]
        line = re.sub(r"<ram:SequenceNumeric>\d+</ram:SequenceNumeric>", f"<ram:SequenceNumeric>{seq}</ram:SequenceNumeric>",
                      template)
        line = line.replace("Fresh longan on the stem, in plastic baskets", f"Fresh {common.lower()}, lot {seq}, in plastic baskets")
        line = line.replace("<ram:CommonName>Longan</ram:CommonName>", f"<ram:CommonName>{common}</ram:CommonName>")
        line = line.replace("<ram:ScientificName>Dimocarpus longan</ram:ScientificName>",
                            f"<ram:ScientificName>{sci}</ram:ScientificName>")
        line = line.replace("<ram:ClassCode>08109010</ram:ClassCode>", f"<ram:ClassCode>{hs}</ram:ClassCode>")
        net = rnd.randint(300, 2000)
        line = line.replace("<ram:NetWeightMeasure unitCode=\"KGM\">900</ram:NetWeightMeasure>",
                            f"<ram:NetWeightMeasure unitCode=\"KGM\">{net}</ram:NetWeightMeasure>")
        line = line.replace("<ram:GrossWeightMeasure unitCode=\"KGM\">960</ram:GrossWeightMeasure>",
                            f"<ram:GrossWeightMeasure unitCode=\"KGM\">{round(net * 1.07)}</ram:GrossWeightMeasure>")
        extra.append(line)
        size += len(line.encode())
    last = doc.rindex("</ram:IncludedSPSTradeLineItem>") + len("</ram:IncludedSPSTradeLineItem>")
    return doc[:last] + "".join(extra) + doc[last:]


def with_attachments(doc, target, n=6):
    """Adds n referenced documents with base64 attachments (76-character
    lines) after the existing reference, to about target bytes in all."""
    room = max(0, target - len(doc.encode()))
    per = room // n
    refs = []
    kinds = [("PDF of Authority", "import-permit.pdf"), ("Laboratory report", "lab-report.pdf"),
             ("Treatment record", "fumigation-record.pdf"), ("Packing list", "packing-list.pdf"),
             ("Orchard registration", "gap-certificate.pdf"), ("Photograph of the seals", "seals.jpg")]
    for i in range(n):
        info, fname = kinds[i % len(kinds)]
        head = (f"\n    <ram:ReferenceSPSReferencedDocument>\n      <ram:IssueDateTime>2025-06-1{i % 3}</ram:IssueDateTime>\n"
                f"      <ram:RelationshipTypeCode>ZZZ</ram:RelationshipTypeCode>\n      <ram:ID>TH-DOA-ATT-{i + 1:04d}</ram:ID>\n"
                f"      <ram:Information languageID=\"en\">{info}</ram:Information>\n"
                f"      <ram:AttachmentBinaryObject filename=\"{fname}\" mimeCode=\"application/pdf\">")
        tail = "</ram:AttachmentBinaryObject>\n    </ram:ReferenceSPSReferencedDocument>"
        b64_len = max(76, per - len(head) - len(tail))
        raw = rnd.randbytes(b64_len * 3 // 4 * 76 // 77)
        b64 = base64.b64encode(raw).decode()
        b64 = "\n".join(b64[k:k + 76] for k in range(0, len(b64), 76))
        refs.append(head + b64 + tail)
    anchor = "</ram:ReferenceSPSReferencedDocument>"
    at = doc.index(anchor) + len(anchor)
    return doc[:at] + "".join(refs) + doc[at:]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    decl = os.path.join(EX, "declarations/th-vn-durian-export.xml")
    files = {}
    files["decl-4k.xml"] = open(decl, encoding="utf-8").read()
    sps20 = sps_with_lines(20 * 1024)
    files["sps-20k.xml"] = sps20
    base = open(os.path.join(EX, "sps/th-vn-durian-phyto.xml"), encoding="utf-8").read()
    files["sps-200k.xml"] = with_attachments(base, 200 * 1024)
    # The size curve: the smallest real declaration, then the same three, then 1 MB.
    files["size-1k.xml"] = open(os.path.join(EX, "declarations/mm-th-mungbean-bare.xml"), encoding="utf-8").read()
    files["size-4k.xml"] = files["decl-4k.xml"]
    files["size-20k.xml"] = sps20
    files["size-200k.xml"] = files["sps-200k.xml"]
    # "1 MB" stays under Kafka's default message limit (message.max.bytes
    # 1,000,000 in the producer, 1,048,588 in the broker) with the gateway's
    # signature and headers added: a 1 MiB message is refused by the broker
    # (the gateway answers 503 although http.max_body allows 8 MiB).
    files["size-1m.xml"] = with_attachments(base, 975 * 1000)
    for name, text in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{name} {len(text.encode())}")


if __name__ == "__main__":
    main()
