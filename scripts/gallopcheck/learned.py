"""The learned encoders' reference outputs (issue 25; /work/notes/learned-plan.md §6), in the learned venv
(`scripts/setup --venv-learned`, scripts/gallopcheck/requirements-learned.txt).

  python -m gallopcheck.learned --fixtures DIR
      writes the tiny test fixtures GallopLearnedTests reads (DIR = Tests/GallopLearnedTests/Fixtures/learned): one
      folder per model holding the weights as a user downloads them (safetensors, and the layout's config) and
      expected.json, the reference code's outputs on seeded inputs.

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
import sys
import tempfile
import warnings
from functools import partial

import types

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


def main():
    parser = argparse.ArgumentParser(prog="python -m gallopcheck.learned", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", metavar="DIR", help="write the tiny test fixtures into DIR")
    args = parser.parse_args()
    if args.fixtures:
        fixtures(args.fixtures)
        return
    parser.error("give --fixtures DIR")


if __name__ == "__main__":
    main()
