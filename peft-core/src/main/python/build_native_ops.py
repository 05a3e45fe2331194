#!/usr/bin/env python3
"""Builds the TorchScript files behind io.peft4j.core.ops.NativeOps (ops DJL 0.35 lacks).

Re-run it from the repository root when an op changes:

    python3 -m venv /tmp/ops-venv && /tmp/ops-venv/bin/pip install torch   # torch >= 2.1, CPU build is enough
    /tmp/ops-venv/bin/python peft-core/src/main/python/build_native_ops.py
    mvn -B -o -q -pl peft-core -am test -Dtest='NativeOpsTest,ScaledDotProductAttentionTest,MixedPrecisionTest' -Dsurefire.failIfNoSpecifiedTests=false

It writes one small .pt file per op into peft-core/src/main/resources/io/peft4j/ops/ (or the directory given
as the first argument) and checks each scripted op against eager PyTorch before saving it. The committed files
were written by torch 2.13 (CPU) and load in DJL 0.35's libtorch 2.7.1: TorchScript stores each op as source
text that libtorch compiles when it loads the file, and every call below passes its arguments positionally in
a form 2.7.1 knows. A torch older than 2.1 has no scaled_dot_product_attention (Debian's python3-torch 1.13
cannot build these files). The tests above call every file, so one that libtorch 2.7.1 cannot read fails them.

Why one module per op: DJL calls a TorchScript module with autograd on only through the module's forward
with tensor arguments (IValueUtils.forward(block, NDList, true)). A separate module per op keeps every
forward tensor-only, so no op-code tensor has to be created per call and no TorchScript dispatch has to
reconcile ops with different output dtypes; each file is loaded only when its op is first used.

Why these ops: DJL's NDArray.toType runs under no-grad, so a cast inside a differentiable path needs another
route (cast_*); DJL aborts the JVM on any bfloat16 NDArray, so bfloat16 values travel as their 16 bits in an
int32 array (or as raw bytes) and only cross into float32 inside TorchScript (bf16_bits_to_float32,
float32_to_bf16_bits); DJL has no fused attention (attention*).
"""

import os
import sys

import torch
import torch.nn.functional as F

OUT_DEFAULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "io", "peft4j", "ops")


class CastFloat16(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float16)


class CastFloat32(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(torch.float32)


def bf16_values():
    """The float32 value of every bfloat16 bit pattern 0..65535, from eager PyTorch's own reinterpretation."""
    bits = torch.arange(0, 65536, dtype=torch.int32).to(torch.int16)
    return bits.view(torch.bfloat16).to(torch.float32)


class Bf16BitsToFloat32(torch.nn.Module):
    """bfloat16 to float32, NaN payloads included, from either the bits (the low 16 bits of each int32) or
    raw little-endian bytes (uint8, pairs along the last dimension, as safetensors stores bfloat16).

    TorchScript cannot reinterpret bits (x.view(dtype) resolves to view(size) when scripted), so the 65,536
    possible values are a table written here by eager PyTorch and the op is a look-up.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("values", bf16_values())

    def forward(self, bits: torch.Tensor) -> torch.Tensor:
        if bits.dtype == torch.uint8:
            shape = bits.shape[:-1] + [bits.size(-1) // 2, 2]
            pairs = bits.to(torch.int64).reshape(shape)
            index = pairs[..., 0] + pairs[..., 1] * 256
        else:
            index = torch.bitwise_and(bits.to(torch.int64), 0xFFFF)
        return self.values[index]


class Float32ToBf16Bits(torch.nn.Module):
    """float32 to bfloat16 as torch rounds it (to nearest, ties to even), returned as bits 0..65535 in int32.

    torch does the rounding (x.to(bfloat16)); the rounded magnitude is then found in the ascending table of
    the non-negative bfloat16 values (bits 0x0000..0x7F80, +0 to +inf), whose index is its bit pattern.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("magnitudes", bf16_values()[: 0x7F81].clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The bfloat16 tensor exists only here: DJL never sees one.
        rounded = x.to(torch.float32).to(torch.bfloat16).to(torch.float32)
        magnitude = torch.searchsorted(self.magnitudes, rounded.abs().contiguous())
        bits = magnitude + torch.signbit(rounded).to(torch.int64) * 0x8000
        # torch rounds every NaN to the quiet NaN 0x7FC0, whatever its sign and payload.
        bits = torch.where(torch.isnan(rounded), torch.full_like(bits, 0x7FC0), bits)
        return bits.to(torch.int32)


class Attention(torch.nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v)


class CausalAttention(torch.nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class MaskedAttention(torch.nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


class MaskedCausalAttention(torch.nn.Module):
    """A padding mask and the causal mask together: torch refuses attn_mask with is_causal, so combine them."""

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        length = q.size(-2)
        source = k.size(-2)
        # torch's is_causal: query i sees keys 0..i (the top-left aligned lower triangle).
        causal = torch.ones(length, source, dtype=torch.bool, device=q.device).tril()
        if mask.dtype == torch.bool:
            combined = torch.logical_and(mask, causal)
        else:
            blocked = torch.zeros(length, source, dtype=mask.dtype, device=q.device)
            combined = mask + blocked.masked_fill(torch.logical_not(causal), float("-inf"))
        return F.scaled_dot_product_attention(q, k, v, attn_mask=combined)


# NativeOps names these files in its calls; keep both in step.
OPS = {
    "cast_float16.pt": CastFloat16,
    "cast_float32.pt": CastFloat32,
    "bf16_bits_to_float32.pt": Bf16BitsToFloat32,
    "float32_to_bf16_bits.pt": Float32ToBf16Bits,
    "attention.pt": Attention,
    "attention_causal.pt": CausalAttention,
    "attention_masked.pt": MaskedAttention,
    "attention_masked_causal.pt": MaskedCausalAttention,
}


def check(scripted):
    """Each scripted op against eager PyTorch, so a file is never saved with a wrong op (gradients are
    checked by NativeOpsTest against finite differences)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, generator=g, dtype=torch.float64)
    assert scripted["cast_float16.pt"](x).dtype == torch.float16
    assert scripted["cast_float32.pt"](x.half()).dtype == torch.float32
    bits = torch.arange(0, 65536, dtype=torch.int32)
    f = scripted["bf16_bits_to_float32.pt"](bits)
    raw = torch.bitwise_and(f.view(torch.int32).to(torch.int64), 0xFFFFFFFF)
    assert torch.equal(raw, bits.to(torch.int64) * 65536), "bf16 bits -> float32 keeps every bit"
    raw_bytes = bits.to(torch.int16).view(torch.uint8).reshape(256, 512)
    assert torch.equal(scripted["bf16_bits_to_float32.pt"](raw_bytes).reshape(-1).view(torch.int32), f.view(torch.int32))
    expected = bits.to(torch.int16).view(torch.bfloat16).float()
    same = (f == expected) | (torch.isnan(f) & torch.isnan(expected))
    assert bool(same.all()), "bf16 bits -> float32"
    y = torch.randn(1000, generator=g)
    back = scripted["float32_to_bf16_bits.pt"](y)
    assert torch.equal(back.to(torch.int16).view(torch.bfloat16).float(), y.bfloat16().float()), "float32 -> bf16 bits"
    q, k, v = (torch.randn(2, 3, 4, 8, generator=g, dtype=torch.float64) for _ in range(3))
    pad = torch.ones(2, 1, 1, 4, dtype=torch.bool)
    pad[0, :, :, 3] = False
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    cases = [
        ("attention.pt", (q, k, v), F.scaled_dot_product_attention(q, k, v)),
        ("attention_causal.pt", (q, k, v), F.scaled_dot_product_attention(q, k, v, is_causal=True)),
        ("attention_masked.pt", (q, k, v, pad), F.scaled_dot_product_attention(q, k, v, attn_mask=pad)),
        ("attention_masked_causal.pt", (q, k, v, pad),
         F.scaled_dot_product_attention(q, k, v, attn_mask=pad & causal)),
    ]
    for name, args, want in cases:
        got = scripted[name](*args)
        assert torch.allclose(got, want, atol=1e-12), name


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else OUT_DEFAULT)
    os.makedirs(out, exist_ok=True)
    scripted = {name: torch.jit.script(cls()) for name, cls in OPS.items()}
    check(scripted)
    for name, module in scripted.items():
        path = os.path.join(out, name)
        torch.jit.save(module, path, _extra_files={"producer.txt": "torch " + torch.__version__})
        print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
