"""The receipt's printable copy goes to the storage handed in, once the transaction has committed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.db import Database
from domain.documents.storage import LocalStorage
from domain.dossiers.models import WalletDocument
from domain.payments.gateways.base import Notice
from domain.payments.models import Payment, Receipt
from domain.payments.operations import apply_notice, create_payment
from tests import factories
from tests.helpers import payment_context


class CommittedFirst(LocalStorage):
    """A storage that, on every write, checks from another connection that the receipt it stores is
    already committed (so no write happens inside the transaction that issues it)."""

    def __init__(self, root: Path, url: str, payment_id: int) -> None:
        super().__init__(root)
        self.url, self.payment_id, self.keys = url, payment_id, list[str]()

    def put(self, key: str, source: Path | bytes, content_type: str) -> None:
        other = Database(self.url)  # its own engine and connection: sees only what is committed
        try:
            committed = other.read_sync(
                lambda s: s.scalar(select(Receipt.id).where(Receipt.payment_id == self.payment_id)))
        finally:
            if other.sync_engine is not None:
                other.sync_engine.dispose()
        assert committed is not None, "the receipt's file was written before its transaction committed"
        self.keys.append(key)
        super().put(key, source, content_type)


@pytest.fixture
def db(catalogue_db: str) -> Database:
    return Database(catalogue_db)


def _created(db: Database) -> tuple[int, dict[str, object]]:
    owner = factories.citizen(db)
    dossier_id = factories.submitted(db, owner)
    ctx = payment_context()
    return owner.id, db.run(lambda s: create_payment(s, owner.id, dossier_id, "sandbox", ctx=ctx))


def _success(view: dict[str, object]) -> Notice:
    return Notice(reference=str(view["reference"]), outcome="success", amount_vnd=int(str(view["amount_vnd"])),
                  signature_ok=True, gateway_txn="RCPT1", paid_at=datetime.now(UTC))


def test_the_receipt_file_is_written_after_commit(db: Database, catalogue_db: str, tmp_path: Path) -> None:
    _owner, view = _created(db)
    storage = CommittedFirst(tmp_path / "files", catalogue_db, int(str(view["id"])))
    ctx = dataclasses.replace(payment_context(), storage=storage)
    db.run(lambda s: apply_notice(s, "sandbox", _success(view), kind="callback", ctx=ctx))
    assert len(storage.keys) == 1
    key = db.run(lambda s: s.scalar(select(WalletDocument.storage_key).join(
        Receipt, Receipt.document_id == WalletDocument.id).where(Receipt.payment_id == view["id"])))
    assert storage.keys == [key] and storage.exists(key)
    assert b"BI\xc3\x8aN LAI" in storage.open(key).read()  # the printable copy: "BIÊN LAI"


def test_a_rolled_back_issue_writes_no_file_and_leaves_no_receipt(db: Database, catalogue_db: str,
                                                                   tmp_path: Path) -> None:
    _owner, view = _created(db)
    storage = CommittedFirst(tmp_path / "files", catalogue_db, int(str(view["id"])))
    ctx = dataclasses.replace(payment_context(), storage=storage)

    def paid_then_failed(s: object) -> None:
        assert apply_notice(s, "sandbox", _success(view), kind="callback", ctx=ctx).status == "success"  # type: ignore[arg-type]
        raise RuntimeError("something later in the same transaction failed")

    with pytest.raises(RuntimeError, match="later"):
        db.run(paid_then_failed)
    assert storage.keys == []
    assert db.run(lambda s: s.scalar(select(Receipt.id).where(Receipt.payment_id == view["id"]))) is None
    assert db.run(lambda s: s.get(Payment, view["id"]).status) == "created"
