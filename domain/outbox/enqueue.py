"""The outbox: a notification is written in the caller's transaction, together with the event.

:func:`enqueue` adds the inbox item and one delivery per outward channel the person will get it on
(each subscribed device for Web Push; e-mail when the address is verified; SMS when the number is
verified and the person asked for it), following their preferences. Nothing leaves the process here:
the worker (``notifications.worker``) sends after commit, so a rolled-back event sends nothing, and a
committed one is never lost.

Dossier events come from :func:`domain.dossiers.lifecycle.fire` through its effects
(:class:`domain.dossiers.effects.TellFiler`, :class:`~domain.dossiers.effects.TellOfficer`). The
values a dossier message shows (code, procedure, due date) are read when the transaction commits, since
the caller may still set them after firing (a code is given right after ``submit``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from domain.calendar.engine import TZ as VN  # Asia/Ho_Chi_Minh
from domain.catalog.facts import procedure_facts
from domain.db import SessionReader, SessionSql, tx_state
from domain.dossiers.models import Dossier
from domain.outbox import templates
from domain.outbox.models import CREATED, Notification

log = logging.getLogger("motcua.notifications")
DEFAULTS = {"webpush": True, "email": True, "sms": False}


@dataclass(frozen=True)
class Channels:
    """The outward channels this process writes deliveries for: Web Push when a VAPID key is set, e-mail
    when an SMTP server is (SMS always: its provider decides how it goes)."""

    webpush: bool = False
    email: bool = False


_delivering = Channels()


def deliver_on(channels: Channels) -> None:
    """Say which channels are enabled. Delivery's business, not the write transaction's: whoever reads
    the notification settings (``domain.settings.configure_core``, at start-up) calls this; :func:`enqueue`
    only looks at the value it was given."""
    global _delivering
    _delivering = channels


def delivering() -> Channels:
    return _delivering


def _now() -> datetime:
    return datetime.now(UTC)


def display(value: Any) -> str:
    """How a value is shown in a message (the same in both languages): dates dd/mm/yyyy in Vietnam."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(VN).strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return re.sub(r"[ \t\r\n\f\v]+", " ", str(value)).strip()[:500]  # keeps no-break spaces (1.000\u00a0₫)


def money(amount: int) -> str:
    """50000 → '50.000 ₫'."""
    return f"{amount:,}".replace(",", ".") + "\u00a0₫"


# --- waking the in-process worker after commit --------------------------------------------------
_wakers: list[Callable[[], None]] = []
_wakers_lock = threading.Lock()


def add_waker(fn: Callable[[], None]) -> None:
    with _wakers_lock:
        _wakers.append(fn)


def remove_waker(fn: Callable[[], None]) -> None:
    with _wakers_lock:
        if fn in _wakers:
            _wakers.remove(fn)


def wake() -> None:
    with _wakers_lock:
        wakers = list(_wakers)
    for fn in wakers:
        try:
            fn()
        except RuntimeError:  # its event loop has closed
            remove_waker(fn)


def _dossier_values(session: Session, dossier_id: int) -> dict[str, str] | None:
    """The dossier's values a message shows, as this transaction has them now."""
    d = session.get(Dossier, dossier_id)
    if d is None:
        return None
    proc = procedure_facts(session, d.procedure_code)
    return {"dossier_code": display(d.code), "procedure_name": display(proc.name if proc else d.procedure_code),
            "due_date": display(d.due_at)}


def _with_dossier(context: dict[str, str], values: dict[str, str] | None) -> dict[str, str]:
    return {**context, **{k: v for k, v in (values or {}).items() if k not in context}}


# --- listeners (installed by domain.dossiers.effects.install_listeners) ------------------------------
def complete_at_commit(session: Session) -> None:
    """``before_commit``: fill the dossier's values into notifications written in this transaction, as
    they are at commit (an event's values may change after it fired: the code and due date of a submit)."""
    state = tx_state(session)
    pending, state.outbox_snapshot = state.outbox_snapshot, []
    for n, given in pending:
        assert n.dossier_id is not None
        context = json.dumps(_with_dossier(given, _dossier_values(session, n.dossier_id)), ensure_ascii=False)
        if context != n.context:  # unchanged since enqueue(): no UPDATE
            n.context = context
            SessionSql(session).run("UPDATE notifications SET context = :context WHERE id = :id",
                                    {"context": context, "id": n.id})


def wake_after_commit(session: Session) -> None:
    """``after_commit``: wake the in-process worker when this transaction wrote a delivery."""
    state = tx_state(session)
    state.outbox_recipients, state.outbox_dossiers = {}, []
    wanted, state.wake_worker = state.wake_worker, False
    if wanted:
        wake()


def forget_on_rollback(session: Session) -> None:
    """``after_rollback``: the rows are gone; nothing to complete, nobody to wake."""
    state = tx_state(session)
    state.outbox_snapshot, state.outbox_dossiers, state.outbox_recipients = [], [], {}
    state.wake_worker = False


# --- preferences -------------------------------------------------------------------------------
def preferences(session: Session, user_id: int) -> dict[tuple[str, str], bool]:
    return {(event, channel): bool(enabled) for event, channel, enabled in SessionReader(session).rows(
        "SELECT event, channel, enabled FROM notification_preferences WHERE user_id = :user", {"user": user_id})}


def wants(prefs: dict[tuple[str, str], bool], event: str, channel: str) -> bool:
    return prefs.get((event, channel), DEFAULTS.get(channel, False))


# --- enqueue -----------------------------------------------------------------------------------
class Recipient(NamedTuple):
    email: str | None
    email_verified_at: Any
    phone: str | None
    phone_verified_at: Any
    disabled_at: Any
    kind: str = "citizen"
    contact_phone: str | None = None
    contact_email: str | None = None


def _reach_person(user: Recipient) -> Recipient:
    """A person record (entered at a counter: no account, no preferences) is reached at the contact the officer
    recorded: an SMS to the phone, an e-mail to the address, as the applicant gave them at the counter."""
    if user.kind != "person":
        return user
    given = "contact"  # stands for a verified-at: the applicant gave it in person
    return user._replace(email=user.contact_email, email_verified_at=given if user.contact_email else None,
                         phone=user.contact_phone, phone_verified_at=given if user.contact_phone else None)


def _recipient(session: Session, user_id: int) -> tuple[Recipient | None, dict[tuple[str, str], bool], list[int]]:
    """The person's addresses, preferences and subscribed devices; read once per transaction."""
    cache = tx_state(session).outbox_recipients
    if user_id not in cache:
        session.flush()  # an address changed earlier in this transaction counts
        reader = SessionReader(session)
        found = reader.rows("SELECT email, email_verified_at, phone, phone_verified_at, disabled_at, kind, "
                            "contact_phone, contact_email FROM users WHERE id = :user", {"user": user_id})
        user = _reach_person(Recipient(*found[0])) if found else None
        subs = [sub_id for (sub_id,) in reader.rows(
            "SELECT id FROM push_subscriptions WHERE user_id = :user ORDER BY id", {"user": user_id})
        ] if user is not None else []
        cache[user_id] = (user, preferences(session, user_id) if user is not None else {}, subs)
    return cache[user_id]  # type: ignore[no-any-return]


def enqueue(session: Session, user_id: int, event: str, context: dict[str, Any] | None = None,
            dossier_id: int | None = None, *, now: datetime | None = None) -> Notification | None:
    """Write a notification for ``user_id`` about ``event`` in the caller's transaction.

    ``context`` holds the template's named values (shown as given; dates and datetimes are written
    dd/mm/yyyy). Returns the notification, or None when the person does not exist."""
    tpl = templates.get(event)
    user, prefs, sub_ids = _recipient(session, user_id)
    if user is None:
        return None
    now = now or _now()
    values = {k: display(v) for k, v in (context or {}).items()}
    if dossier_id is not None:
        values["dossier_id"] = str(dossier_id)
    shown = _with_dossier(values, _dossier_values(session, dossier_id)) if dossier_id is not None else values
    n = _write(session, Notification(message_id=uuid.uuid4().hex, user_id=user_id, event=event,
                                     dossier_id=dossier_id, context=json.dumps(shown, ensure_ascii=False),
                                     inbox=not tpl.sensitive, created_at=now, read_at=None),
               lambda n: _deliveries(user, prefs, sub_ids, tpl, n, now) if user.disabled_at is None else [])
    if dossier_id is not None:
        tx_state(session).outbox_snapshot.append((n, values))
    return n


NOTIFICATION_INSERT = (
    "INSERT INTO notifications (message_id, user_id, event, dossier_id, context, inbox, created_at) "
    "VALUES (:message_id, :user_id, :event, :dossier_id, :context, :inbox, :created_at) RETURNING id")
DELIVERY_INSERT = (
    "INSERT INTO notification_deliveries (notification_id, channel, subscription_id, destination, status, "
    "attempts, next_attempt_at, created_at, updated_at, locked_by, last_error) VALUES (:notification_id, "
    ":channel, :subscription_id, :destination, :status, 0, :now, :now, :now, '', '')")


def _write(session: Session, n: Notification, deliveries: Callable[[Notification], list[dict[str, Any]]]
           ) -> Notification:
    """Insert a notification and its deliveries with plain statements (every dossier event writes
    them); ``n`` comes back with its id, outside the session."""
    sql = SessionSql(session)
    (n.id,), = sql.run(NOTIFICATION_INSERT, {
        "message_id": n.message_id, "user_id": n.user_id, "event": n.event, "dossier_id": n.dossier_id,
        "context": n.context, "inbox": n.inbox, "created_at": n.created_at})
    rows = deliveries(n)
    sql.many(DELIVERY_INSERT, rows)
    if rows:  # wake the worker after commit only when there is something for it to send
        tx_state(session).wake_worker = True
    return n


def _delivery(n: Notification, channel: str, now: datetime, *, destination: str = "",
              subscription_id: int | None = None) -> dict[str, Any]:
    return {"notification_id": n.id, "channel": channel, "subscription_id": subscription_id,
            "destination": destination, "status": CREATED, "now": now}


def _deliveries(user: Recipient, prefs: dict[tuple[str, str], bool], sub_ids: list[int], tpl: templates.Template,
                n: Notification, now: datetime) -> list[dict[str, Any]]:
    channels = _delivering
    out: list[dict[str, Any]] = []
    if "webpush" in tpl.channels and channels.webpush and wants(prefs, tpl.event, "webpush"):
        out.extend(_delivery(n, "webpush", now, subscription_id=sub_id) for sub_id in sub_ids)
    if "email" in tpl.channels and channels.email and user.email and user.email_verified_at is not None \
            and wants(prefs, tpl.event, "email"):
        out.append(_delivery(n, "email", now, destination=user.email))
    if "sms" in tpl.channels and user.phone and user.phone_verified_at is not None and (
            wants(prefs, tpl.event, "sms") or user.kind == "person"):
        out.append(_delivery(n, "sms", now, destination=user.phone))
    return out


def enqueue_code(session: Session, user_id: int, channel: str, destination: str, code: str, *,
                 event: str | None = None, values: dict[str, Any] | None = None) -> Notification | None:
    """A one-time code: to the address being verified (not yet verified, by nature), never the inbox.
    None when no channel can carry it here (no SMTP server for an e-mail code). ``event`` names another
    (sensitive) template than the verification codes', ``values`` its other placeholders."""
    if channel == "email" and _delivering.email:
        kind, event = "email", event or "code.email"
    elif channel == "phone":
        kind, event = "sms", event or "code.phone"
    else:
        return None
    now = _now()
    context = {**{k: display(v) for k, v in (values or {}).items()}, "code": code}
    return _write(session, Notification(message_id=uuid.uuid4().hex, user_id=user_id, event=event, dossier_id=None,
                                        context=json.dumps(context, ensure_ascii=False), inbox=False,
                                        created_at=now, read_at=None),
                  lambda n: [_delivery(n, kind, now, destination=destination)])


PAYMENT_EVENTS = {"success": "payment.succeeded", "failed": "payment.failed", "error": "payment.failed",
                  "expired": "payment.failed"}


def payment_event(session: Session, dossier_id: int, amount_vnd: int, status: str) -> Notification | None:
    """For the payments state machine: a payment reached ``status`` (success | failed | error | expired
    notify the filer; other states do not). Call it in the transaction that changes the status."""
    event = PAYMENT_EVENTS.get(status)
    if event is None:
        return None
    d = session.get(Dossier, dossier_id)
    if d is None:
        return None
    return enqueue(session, d.owner_id, event, {"amount": money(amount_vnd)}, dossier_id=dossier_id)
