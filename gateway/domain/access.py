"""Who may see and do what in the web app and the API: roles and the ownership rule.

- a **buyer** reads every exception and acts on those owned by them or by a buyer of their
  group; elsewhere the page is read-only;
- an **admin** acts on every exception and manages users and tokens;
- **IT** reads exceptions and works the messages (quarantine, retry); it does not decide on a
  supplier's change.

An exception's owner is the email of a buyer (the order's owner, else the supplier's buyer
contact). An integration's API token acts within its scopes, as an admin would.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    BUYER = "buyer"
    ADMIN = "admin"
    IT = "it"


class Scope(StrEnum):
    EXCEPTIONS_READ = "exceptions:read"
    EXCEPTIONS_WRITE = "exceptions:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    SUPPLIERS_READ = "suppliers:read"
    SUPPLIERS_WRITE = "suppliers:write"  # new tolerance profile versions (an admin's job)
    OUTBOX_READ = "outbox:read"
    MESSAGES_READ = "messages:read"
    MESSAGES_WRITE = "messages:write"


# A token bound to a supplier carries `supplier:CODE` among its stored scopes.
SUPPLIER_BINDING = "supplier:"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a signed-in user, or an integration's token (`role` None)."""

    name: str
    email: str | None
    role: Role | None
    group: str | None
    scopes: frozenset[Scope] = frozenset()
    # The suppliers an integration's token is bound to (an EDI provider, a supplier portal):
    # it uploads only as them and reads only their messages. Empty: the buyer's own system.
    suppliers: frozenset[str] = frozenset()

    @property
    def audit_name(self) -> str:
        return self.email or f"token:{self.name}"


def may_act_on_exception(actor: Actor, owner: str | None, owner_group: str | None) -> bool:
    """`owner`: the exception's owner email; `owner_group`: that buyer's group, if known."""
    if actor.role is None:
        return Scope.EXCEPTIONS_WRITE in actor.scopes
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.BUYER or owner is None:
        return False
    if actor.email is not None and owner.lower() == actor.email.lower():
        return True
    return actor.group is not None and owner_group == actor.group


def may_read_exceptions(actor: Actor) -> bool:
    if actor.role is None:
        return bool({Scope.EXCEPTIONS_READ, Scope.EXCEPTIONS_WRITE} & actor.scopes)
    return True


def token_may(actor: Actor, scope: Scope) -> bool:
    """A `:write` scope includes its `:read` (a token that imports orders may read them)."""
    if scope in actor.scopes:
        return True
    resource, _, access = scope.value.partition(":")
    return access == "read" and f"{resource}:write" in {s.value for s in actor.scopes}


def upload_supplier(actor: Actor, asked: str | None) -> str | None:
    """Whose message an upload is, by the trust rule of `POST /api/v1/messages`: a token bound
    to suppliers uploads as one of them (the one, or the `supplier` it names among them); a
    token bound to none may not name one, and its upload is identified by its content like a
    file handed in by an operator. Raises PermissionError (403) or ValueError (422)."""
    if asked is not None:
        if asked not in actor.suppliers:
            raise PermissionError(f"this token may not upload as supplier {asked!r}")
        return asked
    if len(actor.suppliers) > 1:
        raise ValueError("this token is bound to several suppliers: name one as `supplier`")
    return next(iter(actor.suppliers), None)


def may_read_message(actor: Actor, sender: str, supplier: str | None) -> bool:
    """A bound token reads what it uploaded and its suppliers' messages; another token with
    `messages:read` reads all."""
    if not actor.suppliers:
        return True
    return sender == actor.audit_name or supplier in actor.suppliers


def may_manage_users(actor: Actor) -> bool:
    return actor.role is Role.ADMIN
