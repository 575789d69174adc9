// Every key of each model family's configuration, with its struct default, type and doc, from the
// family's ConfigSchema: the model part of `elit train --help`.
#pragma once
#include <vector>

#include "elit/runtime/config_key.h"

namespace elit::models {

std::vector<ConfigKey> sit_config_keys();
std::vector<ConfigKey> uvit_config_keys();
std::vector<ConfigKey> hdit_config_keys();
std::vector<ConfigKey> mmdit_config_keys();

}  // namespace elit::models
