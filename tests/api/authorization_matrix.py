"""The authorization matrix's table: one row per (method, path template) of the app, with the status each
kind of caller gets (``tests/api/test_authorization_matrix.py`` sends the requests).

The columns, in order (one status each, separated by spaces):

    anon           nobody signed in (API: 401; pages: 303 to the sign-in page)
    citizen_a      a citizen: owns the dossier, document, payment, session and notification the paths name
    citizen_b      another citizen (someone else's object is 404: authorization is a query)
    org_member     a staff member of the organisation the paths name (org_id, member_id)
    org_admin      that organisation's owner
    officer_x_pwd  officer X (receiver, processor, accountant of unit X, where A's dossiers go) signed in
                   with the password only: no back office (API 403, pages 303 to a passkey sign-in)
    officer_x      the same officer in a passkey session
    officer_y      an officer of unit Y (receiver, processor, accountant, unit admin): unit X's dossier is 404
    approver       an approver (leader) of unit X, in a passkey session
    admin          a system admin, in a passkey session

Requests carry an empty body (JSON ``{}`` on the API, an empty form on pages) unless the row gives one
(in a body or ``params``, a string ``"{name}"`` stands for that object's id, ``"{phone}"`` for a new phone
number; in ``query``, ``{name}`` too):
what is checked is who gets past the door, so a 400 or 409 for a caller who may use the route is the
expected answer (the body or the state, not the caller, is wrong). Rows of unsafe methods get fresh
objects; ``draft=True`` makes the dossier a draft (with one page) instead of a submitted, paid one.
Rows that change a procedure's offer or form name ``{spare_code}``, a procedure the province does not offer
(the other tests of the session file the offered ones).
When a route is added, add its row here; the matrix test's failure prints the line to start from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRINCIPALS = ("anon", "citizen_a", "citizen_b", "org_member", "org_admin", "officer_x_pwd", "officer_x", "officer_y",
              "approver", "admin")

# routes the matrix does not walk, and why
EXCLUDED = {
    ("GET", "/static/{rel:path}"): "static files (public, no data)",
    ("GET", "/schema/openapi.yml"): "/schema/openapi.json in YAML (public; 0.7 s to render each time)",
    ("GET", "/schema/openapi.yaml"): "/schema/openapi.json in YAML (public; 0.7 s to render each time)",
}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict[str, int]
    draft: bool = False
    body: Any = None
    signs_out: bool = False  # the request ends the caller's session: each caller sends it from a new one
    query: str = ""  # the query string the route needs (without it, every caller gets the same 400)
    params: dict[str, Any] | None = None  # path parameters other than the shared ones (e.g. another action)

    @property
    def fresh(self) -> bool:
        return self.method != "GET"

    def source(self, statuses: dict[str, int]) -> str:
        """This row as a line of the table, with ``statuses``."""
        extra = (", draft=True" if self.draft else "") + (f", body={self.body!r}" if self.body is not None else "") + (
            ", signs_out=True" if self.signs_out else "") + (f", query={self.query!r}" if self.query else "") + (
            f", params={self.params!r}" if self.params else "")
        extra = extra.replace("'", '"')
        route, codes = f'"{self.method} {self.path}",', '"' + " ".join(str(statuses[p]) for p in PRINCIPALS) + '"'
        line = f"    row({route:<{ROUTE_WIDTH}} {codes}"
        if len(line) > LINE - 2:  # a long path: its statuses under it, in the same column
            line = f"    row({route}\n{'':<{ROUTE_WIDTH + 8}} {codes}"
        if len(line.rsplit("\n", 1)[-1] + extra) <= LINE - 2:
            return f"{line}{extra}),"
        return f"{line},\n        {extra[2:]}),"


LINE, ROUTE_WIDTH = 120, 66


def row(route: str, statuses: str, *, draft: bool = False, body: Any = None, signs_out: bool = False,
        query: str = "", params: dict[str, Any] | None = None) -> Row:
    method, path = route.split(" ", 1)
    values = [int(v) for v in statuses.split()]
    assert len(values) == len(PRINCIPALS), f"{route}: {len(values)} statuses for {len(PRINCIPALS)} principals"
    return Row(method, path, dict(zip(PRINCIPALS, values, strict=True)), draft=draft, body=body, signs_out=signs_out,
               query=query, params=params)


def key_of(r: Row) -> tuple[str, str]:
    return r.method, r.path


#                                                                           anon A   B   mem org oXp oX  oY  apr adm
MATRIX: tuple[Row, ...] = (
    # --- the JSON API ----------------------------------------
    row("GET /healthz",                                                    "200 200 200 200 200 200 200 200 200 200"),
    row("GET /api/v1/procedures/{code:str}",                               "200 200 200 200 200 200 200 200 200 200"),
    row("GET /api/v1/fields",                                              "200 200 200 200 200 200 200 200 200 200"),
    row("GET /api/v1/procedures",                                          "200 200 200 200 200 200 200 200 200 200"),
    row("POST /api/v1/auth/login",                                         "401 401 401 401 401 401 401 401 401 401",
        body={"username": "{phone}", "password": "sai mật khẩu"}),
    row("POST /api/v1/auth/logout",                                        "401 204 204 204 204 204 204 204 204 204",
        signs_out=True),
    row("POST /api/v1/auth/refresh",                                       "400 400 400 400 400 400 400 400 400 400"),
    row("POST /api/v1/auth/register",                                      "400 400 400 400 400 400 400 400 400 400"),
    row("POST /api/v1/auth/codes",                                         "401 400 400 400 400 400 400 400 400 400"),
    row("POST /api/v1/auth/codes/verify",                                  "401 400 400 400 400 400 400 400 400 400"),
    row("POST /api/v1/me/invitations/{invitation_id:int}/code",            "401 404 202 404 404 404 404 404 404 404"),
    row("POST /api/v1/me/invitations/{invitation_id:int}/accept",          "401 404 400 404 404 404 404 404 404 404",
        body={"code": "000000"}),
    row("GET /api/v1/me/organisations",                                    "401 200 200 200 200 200 200 200 200 200"),
    row("POST /api/v1/me/organisations",                                   "401 400 400 400 400 400 400 400 400 400"),
    row("DELETE /api/v1/me/sessions/{session_id:str}",                     "401 204 404 404 404 404 404 404 404 404"),
    row("POST /api/v1/me/organisations/{org_id:int}/invitations",          "401 404 404 403 201 404 404 404 404 404",
        body={"username": "{phone}", "role": "staff"}),
    row("GET /api/v1/me",                                                  "401 200 200 200 200 200 200 200 200 200"),
    row("GET /api/v1/me/sessions",                                         "401 200 200 200 200 200 200 200 200 200"),
    row("GET /api/v1/calendar/days-off",                                   "400 400 400 400 400 400 400 400 400 400"),
    row("GET /api/v1/calendar/due-date",                                   "400 400 400 400 400 400 400 400 400 400"),
    row("GET /api/v1/procedures/{code:str}/form",                          "200 200 200 200 200 200 200 200 200 200"),
    row("POST /api/v1/dossiers/{dossier_id:int}/clone",                    "401 201 404 404 404 404 404 404 404 404"),
    row("GET /api/v1/dossiers",                                            "401 200 200 200 200 200 200 200 200 200"),
    row("POST /api/v1/dossiers/claim",                                     "401 404 404 404 404 403 403 403 403 403",
        body={"code": "MATRIX-CLAIM-1", "cccd": "001090000001"}),
    row("POST /api/v1/dossiers/claim/verify",                              "401 404 404 404 404 403 403 403 403 403",
        body={"code": "MATRIX-CLAIM-2", "otp": "000000"}),
    row("POST /api/v1/dossiers",                                           "401 400 400 400 400 400 400 400 400 400"),
    row("DELETE /api/v1/dossiers/{dossier_id:int}/documents/{attachment_id:int}",
                                                                           "401 204 404 404 404 404 404 404 404 404",
        draft=True),
    row("POST /api/v1/dossiers/{dossier_id:int}/documents/from-wallet",    "401 400 404 404 404 404 404 404 404 404",
        draft=True, body={"slot": "x", "document_id": "{document_id}"}),
    row("GET /api/v1/dossiers/{dossier_id:int}/history",                   "401 200 404 404 404 404 404 404 404 404"),
    row("DELETE /api/v1/dossiers/{dossier_id:int}",                        "401 204 404 404 404 404 404 404 404 404",
        draft=True),
    row("GET /api/v1/dossiers/{dossier_id:int}",                           "401 200 404 404 404 404 404 404 404 404"),
    row("PATCH /api/v1/dossiers/{dossier_id:int}",                         "401 200 404 404 404 404 404 404 404 404",
        draft=True, body={"data": {}}),
    row("POST /api/v1/dossiers/{dossier_id:int}/submit",                   "401 400 404 404 404 404 404 404 404 404",
        draft=True),
    row("POST /api/v1/dossiers/{dossier_id:int}/documents",                "401 400 400 400 400 400 400 400 400 400",
        draft=True),
    row("POST /api/v1/dossiers/{dossier_id:int}/withdraw",                 "401 200 404 404 404 404 404 404 404 404",
        body={"reason": "Không cần nữa"}),
    row("GET /api/v1/documents/{document_id:int}/content",                 "401 200 404 404 404 404 404 404 404 404"),
    row("GET /api/v1/documents",                                           "401 200 200 200 200 200 200 200 200 200"),
    row("GET /api/v1/lookup/{code:str}",                                   "200 200 200 200 200 200 200 200 200 200",
        params={"code": "{dossier_code}"}),
    row("POST /api/v1/officer/dossiers/{dossier_id:int}/actions/{action:str}",
                                                                           "401 403 403 403 403 403 409 404 409 404",
        body={"version": 1, "reason": "Ghi chú"}),
    row("GET /api/v1/officer/logbook.csv",                                 "401 403 403 403 403 403 200 404 200 404",
        query="unit=000.31.11.H56&from=2026-01-01&to=2026-12-31"),
    row("POST /api/v1/officer/dossiers/{dossier_id:int}/actions/{action:str}/options",
                                                                           "401 403 403 403 403 403 409 404 409 404",
        params={"action": "approve"}),
    row("POST /api/v1/officer/intake",                                     "401 403 403 403 403 403 201 201 403 403",
        body={"procedure_code": "1.004222", "applicant": {"full_name": "Người Thử Quầy"}}),
    row("GET /api/v1/officer/intake/procedures",                           "401 403 403 403 403 403 200 200 403 403"),
    row("GET /api/v1/officer/intake/{dossier_id:int}",                     "401 403 403 403 403 403 404 404 403 403"),
    row("PATCH /api/v1/officer/intake/{dossier_id:int}",                   "401 403 403 403 403 403 404 404 403 403",
        body={"data": {}}),
    row("POST /api/v1/officer/intake/{dossier_id:int}/documents/{slot:str}/not-kept",
                                                                           "401 403 403 403 403 403 404 404 403 403",
        params={"slot": "d1"}),
    row("GET /api/v1/officer/intake/{dossier_id:int}/receipt.pdf",         "401 403 403 403 403 403 404 404 403 403"),
    row("GET /api/v1/dossiers/{dossier_id:int}/forms",                     "401 200 404 404 404 404 404 404 404 404"),
    row("GET /api/v1/dossiers/{dossier_id:int}/forms/{form_id:int}/form.pdf",
                                                                           "401 404 404 404 404 404 404 404 404 404",
        params={"form_id": "1"}),
    row("GET /api/v1/officer/dossiers/{dossier_id:int}/forms",             "401 403 403 403 403 403 200 404 200 404"),
    row("GET /api/v1/officer/dossiers/{dossier_id:int}/forms/{form_id:int}/form.pdf",
                                                                           "401 403 403 403 403 403 404 404 404 404",
        params={"form_id": "1"}),
    row("GET /api/v1/officer/intake/{dossier_id:int}/digitisation",        "401 403 403 403 403 403 404 404 403 403"),
    row("GET /api/v1/officer/intake/{dossier_id:int}/wallet",              "401 403 403 403 403 403 404 404 403 403"),
    row("PUT /api/v1/officer/intake/{dossier_id:int}/documents/{slot:str}/validity",
                                                                           "401 403 403 403 403 403 404 404 403 403",
        body={"valid_until": None}, params={"slot": "d1"}),
    row("POST /api/v1/officer/intake/{dossier_id:int}/receive",            "401 403 403 403 403 403 404 404 403 403"),
    row("GET /api/v1/officer/persons",                                     "401 403 403 403 403 403 200 200 403 403",
        query="cccd=079090000001"),
    row("GET /api/v1/officer/queue",                                       "401 403 403 403 403 403 200 200 200 200"),
    row("GET /api/v1/officer/received",                                    "401 403 403 403 403 403 200 200 200 200"),
    row("GET /api/v1/officer/dossiers/{dossier_id:int}",                   "401 403 403 403 403 403 200 404 200 404"),
    row("POST /api/v1/officer/dossiers/{dossier_id:int}/result",           "401 403 403 403 403 403 409 404 409 404"),
    row("GET /api/v1/dossiers/{dossier_id:int}/decision/verify",           "401 200 404 404 404 403 200 404 200 404"),
    row("GET /api/v1/verify/{public_id:str}",                              "404 404 404 404 404 404 404 404 404 404"),
    row("POST /api/v1/admin/procedures/{code:str}/form",                   "401 403 403 403 403 403 403 403 403 201",
        body={"steps": [], "fields": [], "documents": []}, params={"code": "{spare_code}"}),
    row("POST /api/v1/officer/users/{user_id:int}/verify-identity",        "401 404 404 404 404 403 200 404 404 200",
        body={"cccd": "072090001234", "reason": "CCCD gốc"}),
    row("POST /api/v1/auth/passkeys/authentication/options",               "200 200 200 200 200 200 200 200 200 200"),
    row("POST /api/v1/auth/passkeys/authentication/verify",                "400 400 400 400 400 400 400 400 400 400"),
    row("POST /api/v1/auth/passkeys/registration/options",                 "401 200 200 200 200 403 200 200 200 200"),
    row("POST /api/v1/auth/passkeys/registration/verify",                  "401 400 400 400 400 400 400 400 400 400"),
    row("POST /api/v1/auth/step-up/options",                               "401 400 400 400 400 200 200 200 200 200"),
    row("POST /api/v1/auth/step-up/verify",                                "401 400 400 400 400 400 400 400 400 400"),
    row("GET /api/v1/me/passkeys",                                         "401 200 200 200 200 200 200 200 200 200"),
    row("DELETE /api/v1/me/passkeys/{passkey_id:int}",                     "401 404 404 404 404 403 204 404 404 404"),
    row("PATCH /api/v1/me/passkeys/{passkey_id:int}",                      "401 404 404 404 404 200 200 404 404 404",
        body={"name": "Khóa mới"}),
    row("POST /api/v1/officer/users/{user_id:int}/enrolment-code",         "401 404 404 404 404 403 404 404 404 404"),
    row("GET /api/v1/dossiers/{dossier_id:int}/payments",                  "401 200 404 404 404 404 404 404 404 404"),
    row("POST /api/v1/dossiers/{dossier_id:int}/payments",                 "401 409 404 404 404 404 404 404 404 404",
        body={"gateway": "sandbox"}),
    row("GET /api/v1/dossiers/{dossier_id:int}/fee",                       "401 200 404 404 404 404 404 404 404 404"),
    row("POST /api/v1/payments/{payment_id:int}/cancel",                   "401 409 404 404 404 404 404 404 404 404"),
    row("GET /api/v1/payments/{payment_id:int}",                           "401 200 404 404 404 404 404 404 404 404"),
    row("GET /api/v1/payments/{payment_id:int}/receipt",                   "401 200 404 404 404 404 404 404 404 404"),
    row("POST /api/v1/payments/{payment_id:int}/transferred",              "401 200 404 404 404 404 404 404 404 404"),
    row("PUT /api/v1/officer/dossiers/{dossier_id:int}/fee",               "401 404 404 404 404 403 200 404 404 200",
        body={"amount_vnd": 10000, "reason": "Lệ phí"}),
    row("POST /api/v1/officer/refunds/{refund_id:int}/complete",           "401 404 404 404 404 403 404 404 404 404",
        body={"ok": True}),
    row("POST /api/v1/officer/payments/{payment_id:int}/confirm",          "401 404 404 404 404 403 409 404 404 409",
        body={"amount_vnd": 10000, "bank_ref": "FT001"}),
    row("GET /api/v1/officer/dossiers/{dossier_id:int}/payments",          "401 404 404 404 404 403 200 404 404 200"),
    row("GET /api/v1/officer/payments/reconciliation",                     "401 404 404 404 404 403 200 200 404 200"),
    row("POST /api/v1/officer/payments/{payment_id:int}/refunds",          "401 403 403 403 403 403 409 404 404 409"),
    row("POST /api/v1/officer/payments/bank-statement",                    "401 404 404 404 404 403 400 400 404 400"),
    row("GET /api/v1/payments/callbacks/{gateway:str}",                    "401 401 401 401 401 401 401 401 401 401"),
    row("POST /api/v1/payments/callbacks/{gateway:str}",                   "401 401 401 401 401 401 401 401 401 401"),
    row("GET /api/v1/notifications/preferences",                           "401 200 200 200 200 200 200 200 200 200"),
    row("PUT /api/v1/notifications/preferences",                           "401 200 200 200 200 200 200 200 200 200"),
    row("GET /api/v1/notifications",                                       "401 200 200 200 200 200 200 200 200 200"),
    row("POST /api/v1/notifications/{notification_id:int}/read",           "401 200 404 404 404 404 404 404 404 404"),
    row("POST /api/v1/notifications/read-all",                             "401 200 200 200 200 200 200 200 200 200"),
    row("DELETE /api/v1/push/subscriptions",                               "400 400 400 400 400 400 400 400 400 400"),
    row("GET /api/v1/push/subscriptions",                                  "401 200 200 200 200 200 200 200 200 200"),
    row("POST /api/v1/push/subscriptions",                                 "401 400 400 400 400 400 400 400 400 400"),
    row("DELETE /api/v1/push/subscriptions/{sub_id:int}",                  "401 404 404 404 404 404 404 404 404 404"),
    row("GET /api/v1/push/vapid-public-key",                               "503 503 503 503 503 503 503 503 503 503"),
    row("GET /api/v1/admin/notifications/failed",                          "401 403 403 403 403 403 403 403 403 200"),
    row("GET /api/v1/admin/notifications/templates/{event:str}/preview",   "401 403 403 403 403 403 403 403 403 200"),
    row("POST /api/v1/admin/notifications/deliveries/{delivery_id:int}/retry",
                                                                           "401 403 403 403 403 403 403 403 403 404"),
    row("GET /api/v1/admin/notifications/templates",                       "401 403 403 403 403 403 403 403 403 200"),
    row("GET /api/v1/stats/summary",                                       "200 200 200 200 200 200 200 200 200 200"),
    row("GET /api/v1/dossiers/{dossier_id:int}/rating",                    "401 200 404 404 404 404 404 404 404 404"),
    row("POST /api/v1/dossiers/{dossier_id:int}/rating",                   "401 409 404 404 404 404 404 404 404 404",
        body={"scores": {"timeliness": 5, "attitude": 5, "clarity": 5, "ease": 5}}),
    row("GET /api/v1/officer/ratings",                                     "401 403 403 403 403 403 200 404 200 200",
        query="unit=000.31.11.H56&from=2026-01-01&to=2026-12-31"),
    row("GET /api/v1/officer/reports/{kind:str}",                          "401 403 403 403 403 403 200 404 200 200",
        query="unit=000.31.11.H56&from=2026-01-01&to=2026-12-31"),
    # --- the pages (303 for nobody: to the sign-in page; for a password-only officer on the back office:
    # to a passkey sign-in) --------------------
    row("GET /",                                                           "200 200 200 200 200 200 200 200 200 200"),
    row("GET /thu-tuc",                                                    "200 200 200 200 200 200 200 200 200 200"),
    row("GET /thu-tuc/{code:str}",                                         "200 200 200 200 200 200 200 200 200 200"),
    row("GET /linh-vuc",                                                   "200 200 200 200 200 200 200 200 200 200"),
    row("GET /offline",                                                    "200 200 200 200 200 200 200 200 200 200"),
    row("GET /dang-ky",                                                    "200 200 200 200 200 200 200 200 200 200"),
    row("POST /dang-ky",                                                   "400 400 400 400 400 400 400 400 400 400"),
    row("GET /dang-nhap",                                                  "200 303 303 303 303 303 303 303 303 303"),
    row("POST /dang-nhap",                                                 "401 401 401 401 401 401 401 401 401 401",
        body={"username": "{phone}", "password": "sai mật khẩu"}),
    row("POST /dang-xuat",                                                 "303 303 303 303 303 303 303 303 303 303",
        signs_out=True),
    row("GET /tai-khoan",                                                  "303 200 200 200 200 200 200 200 200 200"),
    row("POST /tai-khoan/phien/{session_id:str}/ket-thuc",                 "303 303 404 404 404 404 404 404 404 404"),
    row("POST /tai-khoan/dang-xuat-thiet-bi-khac",                         "303 403 403 403 403 403 303 303 303 303",
        signs_out=True),
    row("POST /tai-khoan/passkeys/{passkey_id:int}/doi-ten",               "303 404 404 404 404 400 400 404 404 404"),
    row("POST /tai-khoan/passkeys/{passkey_id:int}/xoa",                   "303 404 404 404 404 403 303 404 404 404"),
    row("GET /tai-khoan/xac-minh",                                         "303 200 200 200 200 200 200 200 200 200"),
    row("POST /tai-khoan/xac-minh",                                        "303 200 200 200 200 200 200 200 200 200"),
    row("GET /to-chuc",                                                    "303 200 200 200 200 200 200 200 200 200"),
    row("POST /to-chuc",                                                   "303 400 400 400 400 400 400 400 400 400"),
    row("GET /to-chuc/{org_id:int}",                                       "303 404 404 200 200 404 404 404 404 404"),
    row("POST /to-chuc/{org_id:int}/moi",                                  "303 404 404 403 400 404 404 404 404 404"),
    row("POST /to-chuc/{org_id:int}/thanh-vien/{member_id:int}",           "303 404 404 403 303 404 404 404 404 404"),
    row("POST /tai-khoan/loi-moi/{invitation_id:int}/ma",                  "303 404 200 404 404 404 404 404 404 404"),
    row("POST /tai-khoan/loi-moi/{invitation_id:int}/nhan",                "303 404 400 404 404 404 404 404 404 404",
        body={"code": "000000"}),
    row("GET /quan-tri/dich-vu",                                           "303 403 403 403 403 303 403 403 403 200"),
    row("GET /quan-tri/dich-vu/{code:str}",                                "303 403 403 403 403 303 403 403 403 200"),
    row("POST /quan-tri/dich-vu/{code:str}",                               "303 403 403 403 403 303 403 403 403 303",
        params={"code": "{spare_code}"}),
    row("GET /ho-so",                                                      "303 200 200 200 200 200 200 200 200 200"),
    row("GET /ho-so/nhan",                                                 "303 200 200 200 200 200 200 200 200 200"),
    row("POST /ho-so/nhan",                                                "303 400 400 400 400 400 400 400 400 400"),
    row("POST /ho-so/nhan/xac-nhan",                                       "303 400 400 400 400 400 400 400 400 400"),
    row("POST /ho-so",                                                     "303 400 400 400 400 400 400 400 400 400"),
    row("GET /ho-so/{dossier_id:int}",                                     "303 200 404 404 404 404 404 404 404 404"),
    row("POST /ho-so/{dossier_id:int}/luu",                                "303 303 404 404 404 404 404 404 404 404",
        draft=True),
    row("GET /dia-chi/phuong",                                             "400 400 400 400 400 400 400 400 400 400"),
    row("POST /ho-so/{dossier_id:int}/giay-to",                            "303 400 404 404 404 404 404 404 404 404",
        draft=True),
    row("POST /ho-so/{dossier_id:int}/giay-to/vi",                         "303 400 400 400 400 400 400 400 400 400",
        draft=True),
    row("POST /ho-so/{dossier_id:int}/giay-to/{attachment_id:int}/bo",     "303 303 404 404 404 404 404 404 404 404",
        draft=True),
    row("POST /ho-so/{dossier_id:int}/nhan-ket-qua",                       "303 303 404 404 404 404 404 404 404 404",
        draft=True, body={"return_method": "online"}),
    row("POST /ho-so/{dossier_id:int}/nop",                                "303 400 404 404 404 404 404 404 404 404",
        draft=True),
    row("GET /ho-so/{dossier_id:int}/bien-nhan",                           "303 200 404 404 404 404 404 404 404 404"),
    row("GET /ho-so/{dossier_id:int}/bieu-mau",                            "303 200 404 404 404 404 404 404 404 404"),
    row("GET /ho-so/{dossier_id:int}/bieu-mau/{form_id:int}",              "303 404 404 404 404 404 404 404 404 404",
        params={"form_id": "1"}),
    row("GET /ho-so/{dossier_id:int}/bieu-mau/{form_id:int}/mau.pdf",      "303 404 404 404 404 404 404 404 404 404",
        params={"form_id": "1"}),
    row("POST /ho-so/{dossier_id:int}/nop-lai",                            "303 303 404 404 404 404 404 404 404 404"),
    row("POST /ho-so/{dossier_id:int}/rut",                                "303 400 404 404 404 404 404 404 404 404"),
    row("POST /ho-so/{dossier_id:int}/xoa",                                "303 303 404 404 404 404 404 404 404 404",
        draft=True),
    row("GET /vi-giay-to",                                                 "303 200 200 200 200 200 200 200 200 200"),
    row("GET /tai-lieu/{document_id:int}",                                 "303 200 404 404 404 404 404 404 404 404"),
    row("GET /tra-cuu",                                                    "200 200 200 200 200 200 200 200 200 200",
        query="ma={dossier_code}"),
    row("GET /sw.js",                                                      "200 200 200 200 200 200 200 200 200 200"),
    row("GET /manifest.webmanifest",                                       "200 200 200 200 200 200 200 200 200 200"),
    row("GET /favicon.ico",                                                "200 200 200 200 200 200 200 200 200 200"),
    row("POST /tai-khoan/passkeys/options",                                "401 200 200 200 200 403 200 200 200 200"),
    row("POST /tai-khoan/passkeys/verify",                                 "401 400 400 400 400 400 400 400 400 400"),
    row("POST /dang-nhap/passkey/options",                                 "200 200 200 200 200 200 200 200 200 200"),
    row("POST /dang-nhap/passkey/verify",                                  "400 400 400 400 400 400 400 400 400 400"),
    row("POST /tai-khoan/xac-thuc-lai/options",                            "401 400 400 400 400 200 200 200 200 200"),
    row("POST /tai-khoan/xac-thuc-lai/verify",                             "401 400 400 400 400 400 400 400 400 400"),
    row("GET /ho-so/{dossier_id:int}/thanh-toan",                          "303 200 404 404 404 404 404 404 404 404"),
    row("POST /ho-so/{dossier_id:int}/thanh-toan",                         "303 400 404 404 404 404 404 404 404 404"),
    row("GET /ho-so/{dossier_id:int}/thanh-toan/tom-tat",                  "303 200 404 404 404 404 404 404 404 404"),
    row("GET /thanh-toan/chuyen/{reference:str}",                          "303 303 303 303 303 303 303 303 303 303"),
    row("GET /thanh-toan/ve/{gateway:str}",                                "400 400 400 400 400 400 400 400 400 400"),
    row("GET /thanh-toan/{payment_id:int}",                                "303 200 404 404 404 404 404 404 404 404"),
    row("GET /thanh-toan/{payment_id:int}/trang-thai",                     "303 303 404 404 404 404 404 404 404 404"),
    row("POST /thanh-toan/{payment_id:int}/da-chuyen",                     "303 303 404 404 404 404 404 404 404 404"),
    row("POST /thanh-toan/{payment_id:int}/huy",                           "303 409 404 404 404 404 404 404 404 404"),
    row("GET /thanh-toan/{payment_id:int}/bien-lai",                       "303 200 404 404 404 404 404 404 404 404"),
    row("GET /bien-lai/{public_id:str}",                                   "404 404 404 404 404 404 404 404 404 404"),
    row("GET /cong-thu-nghiem",                                            "400 400 400 400 400 400 400 400 400 400"),
    row("POST /cong-thu-nghiem",                                           "400 400 400 400 400 400 400 400 400 400"),
    row("GET /can-bo/ho-so/{dossier_id:int}/thanh-toan",                   "303 404 404 404 404 303 200 404 404 200"),
    row("POST /can-bo/ho-so/{dossier_id:int}/thanh-toan/{payment_id:int}/xac-nhan",
                                                                           "303 404 404 404 404 303 400 404 404 400"),
    row("POST /can-bo/ho-so/{dossier_id:int}/thanh-toan/{payment_id:int}/hoan-tra",
                                                                           "303 404 404 404 404 303 409 404 404 409"),
    row("POST /can-bo/ho-so/{dossier_id:int}/hoan-tra/{refund_id:int}",    "303 404 404 404 404 303 404 404 404 404"),
    row("POST /can-bo/ho-so/{dossier_id:int}/le-phi",                      "303 404 404 404 404 303 400 404 404 400"),
    row("GET /can-bo/thanh-toan/doi-soat",                                 "303 404 404 404 404 303 200 200 404 200"),
    row("GET /can-bo/thanh-toan/doi-soat.csv",                             "303 404 404 404 404 303 200 200 404 200"),
    row("POST /can-bo/thanh-toan/sao-ke",                                  "303 400 400 400 400 303 400 400 400 400"),
    row("GET /thong-bao",                                                  "303 200 200 200 200 200 200 200 200 200"),
    row("GET /thong-bao/{notification_id:int}/mo",                         "303 303 404 404 404 404 404 404 404 404"),
    row("POST /thong-bao/{notification_id:int}/da-doc",                    "303 303 404 404 404 404 404 404 404 404"),
    row("POST /thong-bao/da-doc-het",                                      "303 303 303 303 303 303 303 303 303 303"),
    row("GET /thong-bao/cai-dat",                                          "303 200 200 200 200 200 200 200 200 200"),
    row("POST /thong-bao/cai-dat",                                         "303 303 303 303 303 303 303 303 303 303"),
    row("POST /thong-bao/thiet-bi",                                        "401 400 400 400 400 400 400 400 400 400"),
    row("POST /thong-bao/thiet-bi/huy",                                    "401 400 400 400 400 400 400 400 400 400"),
    row("GET /quan-tri/thong-bao",                                         "303 403 403 403 403 303 403 403 403 200"),
    row("POST /quan-tri/thong-bao/{delivery_id:int}/gui-lai",              "303 403 403 403 403 303 403 403 403 404"),
    row("GET /quan-tri/thong-bao/mau/{event:str}",                         "303 403 403 403 403 303 403 403 403 200"),
    row("GET /can-bo",                                                     "303 403 403 403 403 303 200 200 200 200"),
    row("GET /can-bo/ho-so/{dossier_id:int}",                              "303 403 403 403 403 303 200 404 200 404"),
    row("POST /can-bo/ho-so/{dossier_id:int}/xu-ly/{action:str}",          "303 403 403 403 403 303 400 404 400 404"),
    row("POST /can-bo/ho-so/{dossier_id:int}/ky/{decision:str}/options",   "401 403 403 403 403 303 409 404 409 404"),
    row("POST /can-bo/ho-so/{dossier_id:int}/ky/{decision:str}",           "303 403 403 403 403 303 400 404 400 404"),
    row("GET /can-bo/ho-so/{dossier_id:int}/tai-lieu/{document_id:int}",   "303 403 403 403 403 303 404 404 404 404"),
    row("GET /can-bo/ho-so/{dossier_id:int}/ket-qua/{result_id:int}",      "303 403 403 403 403 303 404 404 404 404"),
    row("POST /can-bo/ho-so/{dossier_id:int}/ket-qua",                     "303 403 403 403 403 303 400 404 400 404"),
    row("POST /can-bo/ho-so/{dossier_id:int}/ket-qua/tao",                 "303 403 403 403 403 303 400 404 400 404"),
    row("GET /can-bo/so-theo-doi.csv",                                     "303 403 403 403 403 303 200 404 200 404",
        query="unit=000.31.11.H56&from=2026-01-01&to=2026-12-31"),
    row("GET /can-bo/so-theo-doi.xlsx",                                    "303 403 403 403 403 303 200 404 200 404",
        query="unit=000.31.11.H56&from=2026-01-01&to=2026-12-31"),
    row("GET /can-bo/tiep-nhan",                                           "303 403 403 403 403 303 200 200 403 403"),
    row("POST /can-bo/tiep-nhan/doc-qr",                                   "303 403 403 403 403 303 400 400 403 403"),
    row("POST /can-bo/tiep-nhan/thu-tuc",                                  "303 403 403 403 403 303 400 400 403 403"),
    row("POST /can-bo/tiep-nhan/bat-dau",                                  "303 403 403 403 403 303 400 400 403 403"),
    row("GET /can-bo/tiep-nhan/{dossier_id:int}",                          "303 403 403 403 403 303 404 404 403 403"),
    row("POST /can-bo/tiep-nhan/{dossier_id:int}/luu",                     "303 403 403 403 403 303 404 404 403 403"),
    row("POST /can-bo/tiep-nhan/{dossier_id:int}/tiep-nhan",               "303 403 403 403 403 303 404 404 403 403"),
    row("POST /can-bo/tiep-nhan/{dossier_id:int}/giay-to",                 "303 403 403 403 403 303 404 404 403 403"),
    row("POST /can-bo/tiep-nhan/{dossier_id:int}/giay-to/vi",              "303 403 403 403 403 303 404 404 403 403"),
    row("POST /can-bo/tiep-nhan/{dossier_id:int}/giay-to/{slot:str}/khong-luu",
                                                                           "303 403 403 403 403 303 404 404 403 403",
        params={"slot": "giay_to"}),
    row("GET /can-bo/tiep-nhan/{dossier_id:int}/trang/{page_id:int}",      "303 403 403 403 403 303 404 404 403 403",
        params={"page_id": "{attachment_id}"}),
    row("POST /can-bo/tiep-nhan/{dossier_id:int}/trang/{page_id:int}/chup-lai",
                                                                           "303 403 403 403 403 303 404 404 403 403",
        params={"page_id": "{attachment_id}"}),
    row("POST /can-bo/tiep-nhan/{dossier_id:int}/trang/{page_id:int}/{how:str}",
                                                                           "303 403 403 403 403 303 404 404 403 403",
        params={"page_id": "{attachment_id}", "how": "len"}),
    row("GET /can-bo/tiep-nhan/{dossier_id:int}/bien-nhan",                "303 403 403 403 403 303 404 404 403 403"),
    row("GET /can-bo/tiep-nhan/{dossier_id:int}/bien-nhan.pdf",            "303 403 403 403 403 303 404 404 403 403"),
    row("GET /can-bo/ho-so/{dossier_id:int}/bieu-mau",                     "303 403 403 403 403 303 200 404 200 404"),
    row("GET /can-bo/ho-so/{dossier_id:int}/bieu-mau/{form_id:int}",       "303 403 403 403 403 303 404 404 404 404",
        params={"form_id": "1"}),
    row("GET /can-bo/ho-so/{dossier_id:int}/bieu-mau/{form_id:int}/mau.pdf",
                                                                           "303 403 403 403 403 303 404 404 404 404",
        params={"form_id": "1"}),
    row("GET /xac-minh/{public_id:str}",                                   "404 404 404 404 404 404 404 404 404 404"),
    row("POST /xac-minh/{public_id:str}",                                  "404 404 404 404 404 404 404 404 404 404"),
    row("GET /thong-ke",                                                   "200 200 200 200 200 200 200 200 200 200"),
    row("GET /ho-so/{dossier_id:int}/danh-gia",                            "303 200 404 404 404 404 404 404 404 404"),
    row("POST /ho-so/{dossier_id:int}/danh-gia",                           "303 409 404 404 404 404 404 404 404 404"),
    row("GET /can-bo/bao-cao",                                             "303 403 403 403 403 303 200 200 200 200"),
    row("GET /can-bo/bao-cao/tai-ve",                                      "303 403 403 403 403 303 200 404 200 200",
        query="kind=dossiers&unit=000.31.11.H56&from=2026-01-01&to=2026-12-31"),
    row("GET /schema/elements",                                            "200 200 200 200 200 200 200 200 200 200"),
    row("GET /schema/rapidoc",                                             "200 200 200 200 200 200 200 200 200 200"),
    row("GET /schema/redoc",                                               "200 200 200 200 200 200 200 200 200 200"),
    row("GET /schema",                                                     "200 200 200 200 200 200 200 200 200 200"),
    row("GET /schema/swagger",                                             "200 200 200 200 200 200 200 200 200 200"),
    row("GET /schema/openapi.json",                                        "200 200 200 200 200 200 200 200 200 200"),
    row("GET /schema/{path:str}",                                          "200 200 200 200 200 200 200 200 200 200"),
    row("GET /schema/oauth2-redirect.html",                                "200 200 200 200 200 200 200 200 200 200"),
)
