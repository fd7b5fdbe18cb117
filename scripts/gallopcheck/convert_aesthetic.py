"""LAION's aesthetic head (a PyTorch `.pth` state dict: `weight` (1, 768), `bias` (1)) as a `.safetensors` file.

VBench's `aesthetic_quality` loads `sa_0_4_vit_l_14_linear.pth` from LAION-AI/aesthetic-predictor (GitHub, not the
Hugging Face Hub). Gallop reads only safetensors and never unpickles, so this converts the file once. It needs no
PyTorch: a `.pth` written by `torch.save` (PyTorch >= 1.6) is a zip holding `data.pkl` and one raw storage file per
tensor; the pickle is read with an unpickler that admits only what a state dict of float tensors uses (an
OrderedDict, `torch._utils._rebuild_tensor_v2`, the float storage types), so a hostile file cannot run code.

Usage: python3 -m gallopcheck.convert_aesthetic IN.pth OUT.safetensors
"""

import collections
import json
import os
import pickle
import struct
import sys
import zipfile

STORAGES = {"FloatStorage": ("F32", 4, "<f"), "HalfStorage": ("F16", 2, "<e"), "DoubleStorage": ("F64", 8, "<d")}


class Refused(Exception):
    pass


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    return _Tensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, data, archive, zf):
        super().__init__(data)
        self.archive, self.zf = archive, zf

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGES:
            return name
        raise Refused(f"the pickle asks for {module}.{name}, which a state dict of float tensors does not use")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and pid[1] in STORAGES):
            raise Refused(f"unexpected storage reference {pid!r}")
        _, kind, key, _location, numel = pid
        dtype, width, fmt = STORAGES[kind]
        raw = self.zf.read(f"{self.archive}/data/{key}")
        if len(raw) != numel * width:
            raise Refused(f"storage {key} holds {len(raw)} bytes, not {numel} × {width}")
        return (dtype, width, fmt, raw)


def read_state_dict(path):
    """The file's tensors as {name: (shape, [floats])}, contiguous ones only."""
    if not zipfile.is_zipfile(path):
        raise Refused("not a zip-format PyTorch file (torch.save before PyTorch 1.6); load and save it again with a newer PyTorch")
    with zipfile.ZipFile(path) as zf:
        pkls = [n for n in zf.namelist() if n.endswith("/data.pkl")]
        if len(pkls) != 1:
            raise Refused("no single data.pkl inside")
        archive = pkls[0][: -len("/data.pkl")]
        with zf.open(pkls[0]) as f:
            state = _Unpickler(f, archive, zf).load()
    if not isinstance(state, dict):
        raise Refused(f"it holds a {type(state).__name__}, not a state dict")
    out = {}
    for name, t in state.items():
        if not isinstance(t, _Tensor):
            raise Refused(f"entry {name!r} is not a tensor")
        dtype, width, fmt, raw = t.storage
        count = 1
        for n in t.size:
            count *= n
        expected, step = [], 1
        for n in reversed(t.size):
            expected.insert(0, step)
            step *= n
        if count > 1 and list(t.stride) != expected:
            raise Refused(f"tensor {name!r} is not contiguous")
        values = struct.unpack_from(f"<{count}{fmt[1]}", raw, t.offset * width)
        out[name] = (list(t.size), values)
    return out


def write_safetensors(path, tensors):
    """Float32 tensors {name: (shape, values)} in the safetensors layout: u64 header length, JSON header, data."""
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    part = path + ".part"
    with open(part, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(part, path)


def convert(source, dest):
    tensors = read_state_dict(source)
    if set(tensors) != {"weight", "bias"} or len(tensors["weight"][0]) != 2 or tensors["weight"][0][0] != 1 \
            or tensors["bias"][0] != [1]:
        shapes = {k: v[0] for k, v in tensors.items()}
        raise Refused(f"it holds {shapes}, not a linear head (weight (1, D), bias (1)); the improved-aesthetic MLP "
                      "(sac+logos+ava1-l14-linearMSE.pth) is not VBench's head")
    write_safetensors(dest, tensors)
    return tensors["weight"][0][1]


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(0 if len(sys.argv) == 2 else 64)
    source, dest = sys.argv[1], sys.argv[2]
    try:
        width = convert(source, dest)
    except (Refused, OSError, zipfile.BadZipFile, pickle.UnpicklingError, struct.error, EOFError) as e:
        print(f"convert-aesthetic: {source}: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"convert-aesthetic: {dest}: weight (1, {width}), bias (1), F32", file=sys.stderr)


if __name__ == "__main__":
    main()
