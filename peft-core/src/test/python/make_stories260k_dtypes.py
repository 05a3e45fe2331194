"""Writes stories260K rounded to float16 and to bfloat16 as transformers directories, with reference outputs.

Run from the repository root (PyTorch only; no transformers, peft or safetensors package is needed):

    /work/venv/bin/python peft-core/src/test/python/make_stories260k_dtypes.py

Reads   peft-core/src/test/resources/models/stories260K/{config.json, model.safetensors, expected.json}
Writes  peft-core/src/test/resources/models/stories260K-f16/ and .../stories260K-bf16/, each with
        config.json (torch_dtype float16 / bfloat16), model.safetensors (F16 / BF16 tensors, rounded by torch's
        tensor.to(dtype): round to nearest, ties to even) and expected.json: for the four prompts of
        stories260K's expected.json, the last-position logits of the ROUNDED weights and their 48-token greedy
        continuation, and the mean cross-entropy of the three stories, all computed here in float64 by a
        plain-PyTorch Llama forward written from transformers' modeling_llama (RMSNorm, rotate-half RoPE,
        repeat_kv, causal softmax attention, SiLU-gated MLP, tied head).

That forward is first checked on the original float32 weights against stories260K's expected.json (written by
transformers-semantics and llama2.c-semantics references that agree to 5e-14): the script stops unless its
logits agree to 1e-6 (expected.json stores them rounded to 6 decimals) and its greedy ids and cross-entropy are identical, so the numbers it writes for the
rounded weights come from a forward known to be right. safetensors files are written by hand (8-byte
little-endian header length, JSON header padded with spaces to a multiple of 8, raw little-endian data),
tensors in the original file's order.
"""
import json
import math
import os
import struct
import sys

import torch

ROOT = os.path.join("peft-core", "src", "test", "resources", "models")
SRC = os.path.join(ROOT, "stories260K")
GREEDY_TOKENS = 48


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        assert info["dtype"] == "F32", (name, info["dtype"])
        b, e = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[base + b:base + e]), dtype=torch.float32).reshape(info["shape"])
    return out, meta


def write_safetensors(path, tensors, dtype_name, meta):
    header = {"__metadata__": meta}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        raw = t.contiguous().view(torch.int16).numpy().tobytes()  # the 16 bits of each value, little-endian
        header[name] = {"dtype": dtype_name, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def logits(cfg, w, ids):
    """float64 logits [T, vocab] of one sequence, transformers' LlamaForCausalLM semantics."""
    hid, heads, kv_heads = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    d = cfg.get("head_dim", hid // heads)
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    t = len(ids)
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = torch.outer(torch.arange(t, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(t, heads, d).transpose(0, 1)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(t, kv_heads, d).transpose(0, 1)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(t, kv_heads, d).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = heads // kv_heads
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)
        scores = (q @ k.transpose(1, 2)) / math.sqrt(d)
        scores = scores.masked_fill(~causal, float("-inf"))
        att = torch.softmax(scores, dim=-1) @ v
        x = x + att.transpose(0, 1).reshape(t, heads * d) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    return x @ w["model.embed_tokens.weight"].T


def greedy(cfg, w, prompt, n):
    ids = list(prompt)
    margins = []
    for _ in range(n):
        last = logits(cfg, w, ids)[-1]
        top = torch.topk(last, 2).values
        margins.append(float(top[0] - top[1]))
        ids.append(int(last.argmax()))
    return ids[len(prompt):], min(margins)


def mean_ce(cfg, w, stories):
    total, count = 0.0, 0
    for s in stories:
        seq = [1] + s["ids"]
        lg = logits(cfg, w, seq)[:-1]
        lp = torch.log_softmax(lg, dim=-1)
        target = torch.tensor(seq[1:])
        total += float(-lp[torch.arange(len(target)), target].sum())
        count += len(target)
    return total / count


def outputs(cfg, w, expected):
    prompts = []
    for p in expected["prompts"]:
        last = logits(cfg, w, p["ids"])[-1]
        ids, margin = greedy(cfg, w, p["ids"], GREEDY_TOKENS)
        prompts.append({"text": p["text"], "ids": p["ids"], "last_logits": [float(v) for v in last],
                        "greedy_ids": ids, "min_top1_top2_margin_along_greedy": margin})
    return prompts, mean_ce(cfg, w, expected["cross_entropy"]["stories"])


def main():
    with open(os.path.join(SRC, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(SRC, "expected.json")) as f:
        expected = json.load(f)
    weights, meta = read_safetensors(os.path.join(SRC, "model.safetensors"))
    w64 = {k: v.double() for k, v in weights.items()}

    # The forward must reproduce the published references on the original weights before it is trusted.
    prompts, ce = outputs(cfg, w64, expected)
    for got, want in zip(prompts, expected["prompts"]):
        diff = max(abs(a - b) for a, b in zip(got["last_logits"], want["last_logits"]))
        if diff > 1e-6 or got["greedy_ids"] != want["greedy"]["ids"]:
            sys.exit("float64 forward disagrees with expected.json on '%s': max |diff| %g" % (want["text"], diff))
    if abs(ce - expected["cross_entropy"]["mean_ce"]) > 1e-6:
        sys.exit("cross-entropy %r disagrees with expected.json %r" % (ce, expected["cross_entropy"]["mean_ce"]))
    print("float64 forward reproduces expected.json (logits to 1e-6, greedy ids, cross-entropy)")

    for name, dtype, st_name in (("stories260K-f16", torch.float16, "F16"), ("stories260K-bf16", torch.bfloat16, "BF16")):
        out = os.path.join(ROOT, name)
        os.makedirs(out, exist_ok=True)
        rounded = {k: v.to(dtype) for k, v in weights.items()}
        write_safetensors(os.path.join(out, "model.safetensors"), rounded, st_name, meta)
        c = dict(cfg)
        c["torch_dtype"] = str(dtype).replace("torch.", "")
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(c, f, indent=2, sort_keys=True)
            f.write("\n")
        r64 = {k: v.double() for k, v in rounded.items()}
        prompts, ce = outputs(cfg, r64, expected)
        shift = max(abs(a - b) for p, q in zip(prompts, expected["prompts"]) for a, b in zip(p["last_logits"], q["last_logits"]))
        same_greedy = [p["greedy_ids"] == q["greedy"]["ids"] for p, q in zip(prompts, expected["prompts"])]
        doc = {
            "description": "stories260K with every weight rounded to %s by torch's tensor.to(); outputs of the rounded "
                           "weights in float64 (make_stories260k_dtypes.py)" % c["torch_dtype"],
            "torch_version": torch.__version__,
            "max_abs_logit_shift_from_float32_weights": shift,
            "greedy_same_as_float32_weights": same_greedy,
            "prompts": prompts,
            "cross_entropy": {"mean_ce": ce, "float32_weights_mean_ce": expected["cross_entropy"]["mean_ce"]},
        }
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print("%s: max |logit shift| %.3g, greedy same as float32: %s, mean CE %.6f, min greedy margin %.3g"
              % (name, shift, same_greedy, ce, min(p["min_top1_top2_margin_along_greedy"] for p in prompts)))


if __name__ == "__main__":
    main()
