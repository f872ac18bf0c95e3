"""PDFs written by hand, byte by byte, with real cross-reference offsets: a minimal correct one with room
for extra catalogue entries and objects, and one whose open action hides in a compressed object stream."""

from __future__ import annotations

import struct
import zlib


def make_pdf(pages: int = 1, catalog_extra: bytes = b"", extra_objects: tuple[bytes, ...] = (),
             page_extra: bytes = b"") -> bytes:
    """A minimal, correct PDF (real xref offsets) written by hand; extra objects are numbered after the pages."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages)).encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(pages).encode() + b" >>"]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] " + page_extra + b">>"] * pages
    objects += list(extra_objects)
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def make_pdf_objstm(action: bytes) -> bytes:
    """A PDF 1.5 whose open action sits in a compressed object stream (so not in the raw bytes)."""
    inner = action
    header = b"5 0 "
    stream = zlib.compress(header + inner)
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        4: b"<< /Type /ObjStm /N 1 /First " + str(len(header)).encode() + b" /Filter /FlateDecode /Length "
           + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    }
    out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    offsets = {}
    for n, body in objects.items():
        offsets[n] = len(out)
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    offsets[6] = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    rows += [struct.pack(">BIH", 1, offsets[n], 0) for n in (1, 2, 3, 4)]
    rows += [struct.pack(">BIH", 2, 4, 0), struct.pack(">BIH", 1, offsets[6], 0)]
    data = b"".join(rows)
    out += (b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length " + str(len(data)).encode()
            + b" >>\nstream\n" + data + b"\nendstream\nendobj\n")
    return out + f"startxref\n{offsets[6]}\n%%EOF\n".encode()
