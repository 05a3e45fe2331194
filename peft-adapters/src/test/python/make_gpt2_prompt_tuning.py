"""Writes an adapter directory as HF PEFT (0.13+) saves prompt tuning for GPT-2 (token_dim 768).

Run from the repository root:  /work/venv/bin/python peft-adapters/src/test/python/make_gpt2_prompt_tuning.py
Output: peft-adapters/src/test/resources/hf-peft/gpt2-prompt-tuning/{adapter_config.json, adapter_model.safetensors}

No peft/safetensors Python packages are installed here, so the config is the JSON `PeftConfig.save_pretrained`
writes for `PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=8, prompt_tuning_init="TEXT", ...)`
on `gpt2` (json.dumps(indent=2, sort_keys=True) of the dataclass fields, sizes filled from the model config:
token_dim 768, 12 heads, 12 layers, one transformer submodule; inference_mode true as save_pretrained sets it),
and the safetensors file is written by hand (8-byte little-endian header length, JSON header, raw bytes).
The values follow a formula the Java test recomputes: ((row * 768 + col) % 97 - 48) / 64, exact in float32.
"""
import json
import os
import struct

import numpy as np

OUT = "peft-adapters/src/test/resources/hf-peft/gpt2-prompt-tuning"
N, DIM = 8, 768

config = {
    "auto_mapping": None,
    "base_model_name_or_path": "gpt2",
    "inference_mode": True,
    "num_attention_heads": 12,
    "num_layers": 12,
    "num_transformer_submodules": 1,
    "num_virtual_tokens": N,
    "peft_type": "PROMPT_TUNING",
    "prompt_tuning_init": "TEXT",
    "prompt_tuning_init_text": "Write a short story:",
    "revision": None,
    "task_type": "CAUSAL_LM",
    "token_dim": DIM,
    "tokenizer_kwargs": None,
    "tokenizer_name_or_path": "gpt2",
}

idx = np.arange(N * DIM).reshape(N, DIM)
values = ((idx % 97) - 48).astype(np.float32) / np.float32(64)
data = values.astype("<f4").tobytes()
header = {"prompt_embeddings": {"dtype": "F32", "shape": [N, DIM], "data_offsets": [0, len(data)]},
          "__metadata__": {"format": "pt"}}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "adapter_config.json"), "w") as f:
    json.dump(config, f, indent=2, sort_keys=True)
with open(os.path.join(OUT, "adapter_model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)
