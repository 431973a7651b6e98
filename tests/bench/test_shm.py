"""Left-over /dev/shm files are removed only when new and no longer used."""

import mmap
import os
import uuid

import shm


def test_removes_new_unused_files_and_keeps_mapped_ones():
    before = shm.snapshot()
    tag = uuid.uuid4().hex
    unused, mapped = shm.SHM / f"bench-test-{tag}-a", shm.SHM / f"bench-test-{tag}-b"
    unused.write_bytes(b"x" * 4096)
    mapped.write_bytes(b"y" * 4096)
    fd = os.open(mapped, os.O_RDWR)
    try:
        mapping = mmap.mmap(fd, 4096)
        os.close(fd)  # only the mapping keeps it in use now
        removed = shm.remove_leftovers(before)
        assert unused.name in removed and not unused.exists()
        assert mapped.name not in removed and mapped.exists()
        mapping.close()
        assert mapped.name in shm.remove_leftovers(before) and not mapped.exists()
    finally:
        for path in (unused, mapped):
            path.unlink(missing_ok=True)


def test_files_present_before_are_left_alone():
    path = shm.SHM / f"bench-test-{uuid.uuid4().hex}"
    path.write_bytes(b"z")
    try:
        assert path.name not in shm.remove_leftovers(shm.snapshot())
        assert path.exists()
    finally:
        path.unlink(missing_ok=True)
