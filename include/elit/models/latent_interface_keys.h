// The configuration keys of the latent interface that every class-conditional backbone spells
// the same way (SiT, U-ViT, HDiT): one description, added to each backbone's ConfigSchema.
// `Config` has members enable_elit, group_size, elit_max_mask_prob, elit_min_mask_prob and
// latent_pos_embed_rows.
#pragma once
#include <string>

#include "elit/runtime/config_schema.h"

namespace elit::models {

template <typename Config>
ConfigSchema<Config>& add_latent_interface_keys(ConfigSchema<Config>& schema,
                                                const std::string& latent_rows_default) {
  using C = Config;
  return schema.key("enable_elit", &C::enable_elit, "ELIT: latent interface")
      .key("group_size", &C::group_size, "ELIT: latent group size g (g x g latents per group)")
      .key("elit_max_mask_prob", &C::elit_max_mask_prob,
           "ELIT: largest fraction of each group's latents dropped in training")
      .key("elit_min_mask_prob", &C::elit_min_mask_prob,
           "ELIT: smallest fraction dropped; null: the largest (one budget)")
      .key("latent_pos_embed_rows", &C::latent_pos_embed_rows,
           "ELIT: latent positional table rows; 0: " + latent_rows_default)
      .own();
}

}  // namespace elit::models
