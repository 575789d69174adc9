// The key mapping between diffusers' AutoencoderKL and the ldm layout, the one diffusers'
// scripts/convert_diffusers_to_original_stable_diffusion.py applies (generalised to any number of
// levels and blocks): down_blocks.i.resnets.j <-> down.i.block.j, up_blocks.i <-> up.(L-1-i),
// mid_block.resnets.k <-> mid.block_(k+1), mid_block.attentions.0 <-> mid.attn_1,
// conv_shortcut <-> nin_shortcut, conv_norm_out <-> norm_out, and in attention group_norm <-> norm,
// to_q|query <-> q, to_k|key <-> k, to_v|value <-> v, to_out.0|proj_attn <-> proj_out, with Linear
// weights [C, C] reshaped to 1x1 convolutions [C, C, 1, 1].
#pragma once
#include "elit/io/safetensors.h"

namespace elit::io {

// True when any key is in the diffusers layout ("encoder.down_blocks.", "decoder.up_blocks.",
// "mid_block.").
bool is_diffusers_vae_layout(const TensorMap& weights);

// diffusers names -> ldm names. A key that is not part of a diffusers AutoencoderKL is an error
// naming it (`origin` names the file).
TensorMap diffusers_vae_to_ldm(const TensorMap& weights, const std::string& origin);

// ldm names -> diffusers names: current attention names (to_q, to_out.0) with Linear weights, or
// with `legacy` the old names (query, proj_attn) with 1x1-conv weights.
TensorMap ldm_vae_to_diffusers(const TensorMap& weights, bool legacy = false);

}  // namespace elit::io
