"""What admins see of notifications: failed deliveries (with their attempts) and template previews."""

from __future__ import annotations

from sqlalchemy.orm import Session

from auth import accounts
from domain.errors import Forbidden


def require_admin(session: Session, user_id: int) -> None:
    user = accounts.get_user(session, user_id)
    if user.kind != "admin" or user.disabled_at is not None:
        raise Forbidden("Trang này dành cho quản trị hệ thống.")
    if accounts.needs_passkey_enrolment(session, user):
        raise Forbidden("Quản trị viên phải đăng ký passkey trước (trang Tài khoản).")
