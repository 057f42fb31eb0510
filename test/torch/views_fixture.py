#!/usr/bin/python3
"""Writes, with torch.save, a state dict of the tensor layouts torch produces beyond the course's
plain ones: views with storage offsets and strides sharing one storage, a transposed view, fp16 and
bf16 storages, a 0-d tensor. The engine's reader must see in it exactly what torch.load sees.

    /usr/bin/python3 test/torch/views_fixture.py <out.pt>
"""
import sys

import torch

g = torch.Generator().manual_seed(7)
base = torch.randn(4, 3, generator=g)
half = torch.randn(3, 5, generator=g).half()
sd = {
    "base": base,
    "rows_from_1": base[1:],          # storage offset 3, shares base's storage
    "column_1": base[:, 1],           # offset 1, stride 3
    "transposed": base.t(),           # strides (1, 3): not contiguous
    "half": half,
    "half_every_other": half[:, ::2],  # fp16 view with strides (5, 2)
    "bf16": torch.randn(2, 3, generator=g).bfloat16(),
    "scalar": torch.tensor(2.5),
}
torch.save(sd, sys.argv[1])
