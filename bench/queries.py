"""Realistic catalogue queries: what citizens type, with and without diacritics."""

from __future__ import annotations

QUERIES: tuple[str, ...] = (
    "dang ky khai sinh",
    "ket hon",
    "giay phep xay dung",
    "ly lich tu phap",
    "thuong tru",
    "doanh nghiep",
    "dat dai",
    "thue",
    "khai tu",
    "tam tru",
    "ho kinh doanh",
    "chung thuc",
    "bao hiem xa hoi",
    "giay phep lai xe",
    "ho chieu",
    "can cuoc",
    "dang ky xe",
    "quyen su dung dat",
    "tro cap",
    "nguoi co cong",
    "giam ho",
    "nhan con nuoi",
    "cap ban sao",
    "giay phep kinh doanh",
    "moi truong",
    "đăng ký khai sinh",
    "kết hôn",
    "cấp phép xây dựng",
    "hộ tịch",
    "chứng thực bản sao",
)


def prefixes(query: str, shortest: int = 2) -> list[str]:
    """What the search box sends while the query is typed (every keystroke, no trailing blank)."""
    out = []
    for end in range(shortest, len(query) + 1):
        part = query[:end]
        if not part.endswith(" "):
            out.append(part)
    return out
