"""Who may act on an exception: its owner, the owner's group, admins, and tokens with the
write scope; IT and buyers of other groups read only."""

from __future__ import annotations

import pytest

from gateway.domain.access import Actor, Role, Scope, may_act_on_exception, may_read_exceptions

ANNA = Actor("Anna", "anna@buyer.example", Role.BUYER, "north")


@pytest.mark.parametrize(("actor", "owner", "group", "allowed"), [
    (ANNA, "anna@buyer.example", "north", True),
    (ANNA, "ANNA@Buyer.example", None, True),
    (ANNA, "jonas@buyer.example", "north", True),
    (ANNA, "markus@buyer.example", "south", False),
    (ANNA, "markus@buyer.example", None, False),
    (ANNA, None, None, False),
    (Actor("No group", "x@buyer.example", Role.BUYER, None), "y@buyer.example", None, False),
    (Actor("Admin", "admin@buyer.example", Role.ADMIN, None), "markus@buyer.example", "south",
     True),
    (Actor("IT", "it@buyer.example", Role.IT, None), "it@buyer.example", None, False),
    (Actor("erp", None, None, None, frozenset({Scope.EXCEPTIONS_WRITE})), "m@b.example", "s",
     True),
    (Actor("bi", None, None, None, frozenset({Scope.EXCEPTIONS_READ})), "m@b.example", "s",
     False),
])
def test_may_act_on_exception(actor: Actor, owner: str | None, group: str | None,
                              allowed: bool) -> None:
    assert may_act_on_exception(actor, owner, group) is allowed


def test_a_token_without_an_exceptions_scope_reads_nothing() -> None:
    assert not may_read_exceptions(Actor("none", None, None, None))
    assert may_read_exceptions(Actor("bi", None, None, None, frozenset({Scope.EXCEPTIONS_READ})))
    assert may_read_exceptions(ANNA)


BOUND = Actor("portal", None, None, None, frozenset({Scope.MESSAGES_WRITE}),
              frozenset({"ALBRECHT", "HUAXIN"}))
ONE = Actor("albrecht", None, None, None, frozenset({Scope.MESSAGES_WRITE}),
            frozenset({"ALBRECHT"}))
ERP = Actor("erp", None, None, None, frozenset({Scope.MESSAGES_WRITE}))


def test_an_upload_is_the_suppliers_the_token_is_bound_to() -> None:
    from gateway.domain.access import upload_supplier

    assert upload_supplier(ONE, None) == "ALBRECHT"
    assert upload_supplier(BOUND, "HUAXIN") == "HUAXIN"
    assert upload_supplier(ERP, None) is None
    with pytest.raises(ValueError, match="several"):
        upload_supplier(BOUND, None)
    with pytest.raises(PermissionError):
        upload_supplier(ONE, "HUAXIN")
    with pytest.raises(PermissionError):
        upload_supplier(ERP, "ALBRECHT")


def test_a_bound_token_reads_its_own_uploads_and_its_suppliers_messages() -> None:
    from gateway.domain.access import may_read_message

    assert may_read_message(ONE, "token:albrecht", None)
    assert may_read_message(ONE, "auftrag@albrecht.example", "ALBRECHT")
    assert not may_read_message(ONE, "someone@kovolis.example", "KOVOLIS")
    assert not may_read_message(ONE, "token:portal", "HUAXIN")
    assert may_read_message(ERP, "someone@kovolis.example", "KOVOLIS")
