"""The features we know of, with the first AITER release that had each.

Data from AITER's public release history. "First" is the lowest version (PEP
440 order, not tagging order: tags are cut from several branches) of a release
tag that has it. A release is only a hint for a reader (where to upgrade to);
it never decides ``supported``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    name: str
    first: str  # first release tag, or a phrase where no release has it


_NO_COMBINE = "in no release; pull-request builds only, ROCm/aiter#3361"

PARAMETERS: tuple[Known, ...] = (
    *(
        Known(name, "v0.1.1")
        for name in (
            "hidden_states",
            "w1",
            "w2",
            "topk_weight",
            "topk_ids",
            "expert_mask",
            "activation",
            "quant_type",
            "doweight_stage1",
            "w1_scale",
            "w2_scale",
            "a1_scale",
            "a2_scale",
            "block_size_M",
        )
    ),
    Known("num_local_tokens", "v0.1.4"),
    Known("dtype", "v0.1.4"),
    Known("moe_sorting_dispatch_policy", "v0.1.5"),
    Known("hidden_pad", "v0.1.6.post2"),
    Known("intermediate_pad", "v0.1.6.post2"),
    Known("bias1", "v0.1.6.post2"),
    Known("bias2", "v0.1.6.post2"),
    Known("splitk", "v0.1.9"),
    Known("swiglu_limit", "v0.1.14-rc0"),
    Known("gate_mode", "v0.1.14-rc0"),
    Known("beta", "v0.1.19"),
    Known("linear_beta", "v0.1.19"),
    Known("shared_w1", "v0.1.19.post1"),
    Known("shared_w2", "v0.1.19.post1"),
    Known("shared_w1_scale", "v0.1.19.post1"),
    Known("shared_w2_scale", "v0.1.19.post1"),
    Known("shared_expert_id", "v0.1.19.post1"),
    Known("stage2_scatter", "in no release yet; AITER main after v0.1.20.post1"),
    Known("no_combine", _NO_COMBINE),
)

# Enum members are features named "Enum.member".
ENUMS: dict[str, tuple[Known, ...]] = {
    "ActivationType": (
        Known("No", "v0.1.1"),
        Known("Silu", "v0.1.1"),
        Known("Gelu", "v0.1.1"),
        Known("Swiglu", "v0.1.6.post2"),
        Known("Situv2", "v0.1.19"),
    ),
    "QuantType": (
        Known("No", "v0.1.1"),
        Known("per_Tensor", "v0.1.1"),
        Known("per_Token", "v0.1.1"),
        Known("per_1x32", "v0.1.2"),
        Known("per_1x128", "v0.1.1"),
        Known("per_128x128", "v0.1.1"),
        Known("per_256x128", "v0.1.12"),
        Known("per_1024x128", "v0.1.12"),
    ),
}

FIRST_RELEASE: dict[str, str] = {k.name: k.first for k in PARAMETERS} | {
    f"{enum}.{k.name}": k.first for enum, members in ENUMS.items() for k in members
}

