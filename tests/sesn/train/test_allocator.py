import subprocess
import sys

import pytest

from sesn.train.allocator import keep_freed_memory

# Three passes over a 58 MB activation (the toy network's at batch 32, above
# glibc's largest own mmap threshold of 32 MiB), twice; prints the page faults
# of the second time.
WORKLOAD = """
import resource, sys
import torch
from sesn.train.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
x = torch.randn(32, 16, 168, 168)
for _ in range(2):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        y = torch.relu(x)
        z = (y * 2 + y).sum()
        del y
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    run = subprocess.run([sys.executable, "-c", WORKLOAD, mode], capture_output=True, text=True, check=True)
    return int(run.stdout.split()[-1])


@pytest.mark.skipif(not keep_freed_memory(), reason="glibc's mallopt is not available")
def test_kept_memory_is_reused_instead_of_faulted_in_again():
    default, kept = page_faults("default"), page_faults("keep")
    pages = 32 * 16 * 168 * 168 * 4 // 4096
    assert default > 3 * pages  # glibc's default: the large blocks are new pages every time
    assert kept < default / 4


def test_it_is_applied_once_per_process():
    assert keep_freed_memory() is keep_freed_memory()
