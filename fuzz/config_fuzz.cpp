// libFuzzer target: the config readers. The same bytes go through the YAML reader and the strict
// JSON reader, and what they accept is fed to every backbone's and the training config's reader.
#include "config_file.h"
#include "elit/models/registry.h"
#include "elit/runtime/strict_json.h"
#include "elit/train/train_config.h"
#include "fuzz_common.h"

namespace {
void read_as_configs(const nlohmann::json& j) {
  if (!j.is_object()) return;
  elit::fuzz::expect_clean([&] { elit::models::resolve_model_config(j); });
  elit::fuzz::expect_clean([&] { elit::train::train_config_from_json(j); });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = elit::fuzz::bytes_of(data, size);
  elit::fuzz::expect_clean([&] { read_as_configs(elit::app::yaml_to_json(text, "fuzz.yaml")); });
  elit::fuzz::expect_clean([&] { read_as_configs(elit::parse_json_strictly(text, "fuzz.json")); });
  return 0;
}
