"""The service's multipart reader against bodies as httpx2 (the test client's library) encodes them, and against
bodies broken as clients and attackers break them."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason='fer-serve needs the serve extra: pip install "fer_runtime[serve]"')
import httpx2  # noqa: E402

from fer_runtime.serve.errors import RequestError  # noqa: E402
from fer_runtime.serve.multipart import FormPart, form_parts  # noqa: E402

XY = "multipart/form-data; boundary=XY"


def _encoded(**kwargs) -> tuple[bytes, str]:
    request = httpx2.Request("POST", "http://127.0.0.1/", **kwargs)
    return request.read(), request.headers["content-type"]


def test_form_parts_reads_files_and_fields_as_httpx_encodes_them():
    payload = bytes(range(256)) * 3 + b"\r\n--not-the-boundary\r\n"  # every byte value, and a near-delimiter
    body, content_type = _encoded(
        data={"note": "hi there"},
        files=[("file", ("a b.png", payload, "image/png")), ("file", ("two.jpg", b"\xff\xd8\xff", "image/jpeg"))],
    )
    assert form_parts(body, content_type, max_parts=8) == [
        FormPart("note", None, b"hi there"),
        FormPart("file", "a b.png", payload),
        FormPart("file", "two.jpg", b"\xff\xd8\xff"),
    ]


def test_form_parts_skips_the_preamble_and_the_epilogue_and_unquotes_parameters():
    body = (
        b"preamble\r\n--XY\r\n"
        b'Content-Disposition: form-data; name=file; filename="say \\"hi\\"; or not.png"\r\n\r\n'
        b'\r\n--XY\r\nCONTENT-DISPOSITION: FORM-DATA; NAME="file"; FILENAME=""\r\n\r\nx\r\n--XY--\r\nepilogue'
    )
    assert form_parts(body, 'multipart/form-data; boundary="XY"', max_parts=2) == [
        FormPart("file", 'say "hi"; or not.png', b""),
        FormPart("file", "", b"x"),
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"--XY\r\n\r\nx\r\n--XY--", "multipart/form-data", "declares no boundary"),
        (b'--XY\r\nContent-Disposition: form-data; name="file"\r\n\r\nx', XY, "closing"),
        (b"--XY\r\nContent-Type: image/png\r\n\r\nx\r\n--XY--", XY, "form-data with a name"),
        (b"--XY\r\nno colon here\r\n\r\nx\r\n--XY--", XY, "no colon"),
        (b"--XY\r\n\r\nno headers at all\r\n--XY--", XY, "form-data with a name"),
        (b'--XYZ\r\nContent-Disposition: form-data; name="a"', XY, "runs on"),
        (b'--XY\r\nContent-Disposition: form-data; name="a"\r\nx', XY, "never end"),
        (b"nothing delimited at all", XY, "closing"),
    ],
)
def test_form_parts_refuses_a_broken_body_with_a_400_naming_the_problem(body, content_type, problem):
    with pytest.raises(RequestError, match=problem) as refused:
        form_parts(body, content_type, max_parts=4)
    assert refused.value.status == 400 and str(refused.value).startswith("bad multipart body")


def test_form_parts_stops_at_max_parts():
    body, content_type = _encoded(files=[("file", (f"{i}.png", b"x")) for i in range(3)])
    assert len(form_parts(body, content_type, max_parts=3)) == 3
    with pytest.raises(RequestError, match="more than 2 parts"):
        form_parts(body, content_type, max_parts=2)
