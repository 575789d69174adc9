list(APPEND ELIT_SOURCES
  src/models/diffusion_model.cpp
  src/models/registry.cpp
  src/models/sit_config.cpp
  src/models/budget.cpp
  src/models/embeddings.cpp
  src/models/attention.cpp
  src/models/mlp.cpp
  src/models/sit_block.cpp
  src/models/latent_interface.cpp
  src/models/sit.cpp
  src/models/mmdit_config.cpp
  src/models/mmdit_block.cpp
  src/models/text_encoder.cpp
  src/models/mmdit.cpp
  src/models/mmdit_conditioning.cpp
)
