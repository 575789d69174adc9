// A tiny latent ELIT-SiT (8x8x1 latents, trained-with scale 0.5) and a VAE whose latents have one
// channel (f = 2, RGB), written as files: the CLI tests of the latent-space path use them.
#pragma once
#include <string>

#include "elit/io/checkpoint_path.h"
#include "elit/io/model_file.h"
#include "elit/io/vae_file.h"
#include "elit/models/sit.h"
#include "support/reference.h"
#include "support/tiny_sit.h"

namespace elit::testing {

struct TinyLatentModel {
  std::string dir, ckpt, vae;
};

inline TinyLatentModel write_tiny_latent_model(const std::string& name) {
  TinyLatentModel s;
  s.dir = temp_dir(name);
  torch::manual_seed(0);
  models::SiT model(tiny_sampling_sit_config(32));
  s.ckpt = s.dir + "/latent_model.safetensors";
  io::write_model_file(s.ckpt, *model,
                       {{io::kDataSpaceKey, "latents"}, {"elit.latents_scale", "0.5"}});
  models::AutoencoderKLConfig c;
  c.ch = 32;
  c.ch_mult = {1, 2};
  c.num_res_blocks = 1;
  c.z_channels = c.embed_dim = 1;
  models::AutoencoderKL vae(c);
  s.vae = s.dir + "/vae.safetensors";
  io::write_vae_file(s.vae, *vae);
  return s;
}

}  // namespace elit::testing
