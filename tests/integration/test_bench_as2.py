"""`gateway bench as2` measures what it says: every side opens every message, every MDN the
endpoint answered verifies with the right MIC, and each message is stored once (the run
raises otherwise). No timing is asserted."""

from __future__ import annotations

from gateway.as2.mdn import read_receipt
from gateway.bench.as2 import (
    PAYLOAD_BYTES,
    make_material,
    open_and_answer,
    payload,
    run_as2_benchmark,
)
from tests.as2_material import require_openssl


def test_the_payload_is_about_100_kb_and_differs_per_message() -> None:
    assert PAYLOAD_BYTES <= len(payload(1)) < PAYLOAD_BYTES + 200
    assert payload(1) != payload(2)


def test_a_small_run_checks_every_side_and_reports_the_ratios() -> None:
    require_openssl()
    # Two worker processes, as `gateway as2` serves on two CPUs: every MDN still verifies
    # and each message is stored once.
    result = run_as2_benchmark(3, 1, lambda _text: None, clients=2, workers=2)
    assert set(result["sides"]) == {"endpoint", "layer", "layer_threads", "layer_mdn", "openssl"}
    assert all(len(side["seconds"]) == 1 for side in result["sides"].values())
    assert result["ratio_to_layer"] > 0
    assert result["ratio_to_openssl"] > 0
    assert (result["clients"], result["workers"]) == (2, 2)
    assert result["cpu_ms_per_message"]["endpoint"] > 0
    assert result["cpu_ms_per_message"]["layer_mdn"] > 0
    assert result["layer_mdn_to_layer"] > 0
    assert result["messages"] == 3


def test_the_messages_are_signed_and_encrypted_with_a_signed_mdn_asked(tmp_path) -> None:
    material = make_material(tmp_path, 1)
    fields = dict(material.messages[0].headers)
    assert fields["Content-Type"].startswith("application/pkcs7-mime; smime-type=enveloped")


def test_the_floor_that_opens_and_answers_signs_an_mdn_with_each_message_mic(tmp_path) -> None:
    material = make_material(tmp_path, 2)
    receipts = open_and_answer(material)
    assert len(receipts) == 2
    for receipt, message in zip(receipts, material.messages, strict=True):
        read = read_receipt(receipt.headers, receipt.body, [material.ours.certificate])
        assert read.signed_with is not None
        assert read.mic_matches(message.mic)
        assert not read.is_error
