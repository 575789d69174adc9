// Bytes for HTTP answers: base64 (RFC 4648, with padding) and images as PNG.
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace elit::serve {

std::string base64_encode(const std::string& bytes);
// Throws elit::Error on a character outside the alphabet.
std::string base64_decode(const std::string& text);

// Model-space samples [N, C, H, W] -> one PNG file's bytes per image (published pixel mapping).
std::vector<std::string> encode_pngs(const torch::Tensor& samples);

}  // namespace elit::serve
