"""Writes two bottleneck adapters in exactly the layout AdapterHub's `adapters` library saves
(`model.save_adapter(dir, name, use_safetensors=True)`), for peft4j's import tests.

Hand-written: the `adapters` package is not installed here, so the files follow its code instead of
being produced by it. Names and shapes come from adapters/methods/modeling.py (`Adapter`: `adapter_down`
is an nn.Sequential of Linear(hidden, hidden // reduction_factor) and the activation, so its weight is
`adapter_down.0.weight`; `adapter_up` is Linear(down, hidden)) and from the BERT mixins, which put the
`mh_adapter` adapters into BertSelfOutput (`attention.output.adapters.<name>`) and the
`output_adapter` ones into BertOutput (`output.adapters.<name>`). The config is `BnConfig.to_dict()`
under `config`, beside `model_name`, `model_class`, `model_type`, `hidden_size`, `name` and `version`,
as `AdapterConfigLoader`/`save_adapter` write it. The model is peft4j's TinyBert (hidden size 32, two
layers), so the bottleneck size is 32 // 16 = 2.

Run from the repository root:  /work/venv/bin/python peft-adapters/src/test/python/make_adapterhub_fixtures.py
Output: peft-adapters/src/test/resources/adapterhub/{seq_bn,double_seq_bn}/
"""
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "adapterhub")
HIDDEN = 32
LAYERS = 2
NAME = "sst-2"

BN_DEFAULTS = {
    "architecture": "bottleneck", "adapter_residual_before_ln": False, "cross_adapter": False, "dropout": 0.0,
    "factorized_phm_W": True, "factorized_phm_rule": False, "hypercomplex_nonlinearity": "glorot-uniform",
    "init_weights": "bert", "inv_adapter": None, "inv_adapter_reduction_factor": None, "is_parallel": False,
    "learn_phm": True, "leave_out": [], "ln_after": False, "ln_before": False, "original_ln_after": True,
    "phm_bias": True, "phm_c_init": "normal", "phm_dim": 4, "phm_init_range": 0.0001, "phm_layer": False,
    "phm_rank": 1, "reduction_factor": 16, "residual_before_ln": True, "scaling": 1.0, "shared_W_phm": False,
    "shared_phm_rule": True, "stochastic_depth": 0.0, "use_gating": False,
}
SEQ_BN = dict(BN_DEFAULTS, mh_adapter=False, output_adapter=True, non_linearity="relu", original_ln_before=True)
DOUBLE_SEQ_BN = dict(BN_DEFAULTS, mh_adapter=True, output_adapter=True, non_linearity="swish", original_ln_before=False)


def write_safetensors(path, tensors):
    """safetensors by hand: 8-byte little-endian header length, JSON header, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for key in sorted(tensors):
        data = np.ascontiguousarray(tensors[key], dtype="<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(tensors[key].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def adapter(rng, prefix, down):
    # Non-zero up-projection (a trained adapter), so that the adapter changes the output.
    return {
        prefix + "adapter_down.0.weight": rng.normal(0, 0.3, (down, HIDDEN)),
        prefix + "adapter_down.0.bias": rng.normal(0, 0.1, (down,)),
        prefix + "adapter_up.weight": rng.normal(0, 0.3, (HIDDEN, down)),
        prefix + "adapter_up.bias": rng.normal(0, 0.1, (HIDDEN,)),
    }


def write(dirname, config, seed):
    rng = np.random.default_rng(seed)
    down = HIDDEN // config["reduction_factor"]
    tensors = {}
    for i in range(LAYERS):
        if config["mh_adapter"]:
            tensors.update(adapter(rng, f"bert.encoder.layer.{i}.attention.output.adapters.{NAME}.", down))
        if config["output_adapter"]:
            tensors.update(adapter(rng, f"bert.encoder.layer.{i}.output.adapters.{NAME}.", down))
    d = os.path.join(OUT, dirname)
    os.makedirs(d, exist_ok=True)
    write_safetensors(os.path.join(d, "adapter.safetensors"), tensors)
    meta = {"config": config, "hidden_size": HIDDEN, "model_class": "BertAdapterModel", "model_name": "tiny-bert",
            "model_type": "bert", "name": NAME, "version": "1.1.0"}
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    write("seq_bn", SEQ_BN, 1)
    write("double_seq_bn", DOUBLE_SEQ_BN, 2)
