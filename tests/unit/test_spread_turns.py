"""`spread.Turns`: which batches a spread may write now, so that batches that share an order or
a document number are written in arrival order and the others side by side."""

from __future__ import annotations

from gateway.services.spread import EVERYTHING, Turns


def keys(*names: str) -> frozenset[str]:
    return frozenset(names)


def test_batches_that_share_nothing_are_written_side_by_side() -> None:
    turns = Turns()
    turns.told(1, keys("order 2"))
    assert turns.ready() == []            # batch 0 has not said what it writes
    turns.told(0, keys("order 1"))
    assert turns.ready() == [0, 1]
    assert turns.ready() == []            # each released once


def test_a_batch_that_shares_an_order_waits_until_the_earlier_one_is_written() -> None:
    turns = Turns()
    turns.told(0, keys("order 1", "order 2"))
    turns.told(1, keys("order 2"))
    turns.told(2, keys("order 3"))
    assert turns.ready() == [0, 2]
    turns.wrote(0)
    assert turns.ready() == [1]


def test_a_batch_waits_for_every_earlier_batch_that_shares_with_it() -> None:
    turns = Turns()
    for index, names in enumerate([("a",), ("b",), ("a", "b")]):
        turns.told(index, keys(*names))
    assert turns.ready() == [0, 1]
    turns.wrote(1)
    assert turns.ready() == []
    turns.wrote(0)
    assert turns.ready() == [2]


def test_a_batch_whose_keys_are_unknown_goes_alone_in_its_turn() -> None:
    turns = Turns()
    turns.told(0, keys("a"))
    turns.told(1, EVERYTHING)
    turns.told(2, keys("z"))
    assert turns.ready() == [0]
    turns.wrote(0)
    assert turns.ready() == [1]
    turns.wrote(1)
    assert turns.ready() == [2]


def test_after_a_stop_the_later_batches_waiting_are_given_back_and_the_earlier_go_on() -> None:
    turns = Turns()
    turns.told(0, keys("a"))
    turns.told(1, keys("b"))
    turns.told(2, keys("b"))
    turns.told(3, keys("c"))
    assert turns.ready() == [0, 1, 3]
    turns.stop(1)
    assert turns.given_back() == [2]
    turns.told(4, keys("d"))
    assert turns.ready() == []
    assert turns.given_back() == [4]
    turns.wrote(0)
    assert turns.ready() == []
    assert turns.given_back() == []


def test_a_batch_stopped_while_it_waited_is_never_released() -> None:
    turns = Turns()
    turns.told(0, keys("a"))
    turns.told(1, keys("a"))
    turns.told(2, keys("b"))
    turns.stop(1)              # its worker was lost while it waited for batch 0
    turns.stop(0)
    assert turns.stopped_at == 0
    assert turns.ready() == []
    assert turns.given_back() == [2]
