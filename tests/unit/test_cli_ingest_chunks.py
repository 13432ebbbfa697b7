"""`gateway ingest` hands its files to the ingest service in chunks of several batches,
bounded in bytes."""

from __future__ import annotations

from pathlib import Path

from gateway.cli.store import BATCH, CHUNK_BATCHES, CHUNK_BYTES, handed_in


def test_small_files_go_in_chunks_of_several_batches_in_order() -> None:
    files = [Path(f"m{n}.edi") for n in range(CHUNK_BATCHES * BATCH * 2 + 3)]
    chunks = list(handed_in(files, [1_000] * len(files)))
    assert [len(chunk) for chunk in chunks] == [CHUNK_BATCHES * BATCH] * 2 + [3]
    assert [path for chunk in chunks for path in chunk] == files


def test_a_chunk_holds_at_most_its_bytes_and_a_bigger_file_goes_alone() -> None:
    files = [Path(f"m{n}.edi") for n in range(5)]
    sizes = [CHUNK_BYTES // 2, CHUNK_BYTES // 2, 1, CHUNK_BYTES * 3, 1]
    chunks = list(handed_in(files, sizes))
    assert chunks == [files[0:2], [files[2]], [files[3]], [files[4]]]


def test_no_files_no_chunks() -> None:
    assert list(handed_in([], [])) == []
