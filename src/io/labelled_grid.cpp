#include "elit/io/labelled_grid.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>

#include "elit/runtime/error.h"

// stb_easy_font is header-only with static functions: this file is its one user.
#include <stb_easy_font.h>

namespace elit::io {
namespace {

constexpr int64_t kPadding = 2;  // pixels between cells
constexpr int64_t kMargin = 8;   // around the whole figure and between text and cells

// stb_easy_font indexes its tables by (char - 32): only printable ASCII may reach it.
std::string printable(const std::string& text) {
  std::string out = text;
  for (auto& ch : out) {
    if (ch < 32 || ch > 126) ch = '?';
  }
  return out;
}

// The longest prefix of `text` (with "..") that fits in `width` pixels at `size`.
std::string fit_width(const std::string& text, int64_t width, int64_t size) {
  if (text_extent(text, size).first <= width) return text;
  for (size_t n = text.size(); n > 0; --n) {
    auto shorter = text.substr(0, n - 1) + "..";
    if (text_extent(shorter, size).first <= width) return shorter;
  }
  return "";
}

}  // namespace

std::pair<int64_t, int64_t> text_extent(const std::string& text, int64_t size) {
  auto s = printable(text);
  if (s.empty()) return {0, 0};
  return {size * stb_easy_font_width(s.data()), size * 12};
}

void draw_text(torch::Tensor& canvas, const std::string& text, int64_t x, int64_t y, int64_t size) {
  check(canvas.dim() == 3 && canvas.size(2) == 3 && canvas.scalar_type() == torch::kUInt8,
        "draw_text needs a uint8 [H, W, 3] canvas, got ", canvas.sizes());
  auto s = printable(text);
  if (s.empty()) return;
  // ~270 bytes per character (stb_easy_font's estimate); 64 bytes per quad.
  std::vector<char> buffer(400 * (s.size() + 1));
  const int quads =
      stb_easy_font_print(0, 0, s.data(), nullptr, buffer.data(), static_cast<int>(buffer.size()));
  const int64_t H = canvas.size(0), W = canvas.size(1);
  auto* pixels = canvas.data_ptr<uint8_t>();
  for (int q = 0; q < quads; ++q) {
    // Each vertex: x, y, z (float) and 4 colour bytes; a quad is an axis-aligned rectangle.
    float x0 = 1e9f, y0 = 1e9f, x1 = -1e9f, y1 = -1e9f;
    for (int v = 0; v < 4; ++v) {
      float vx = 0, vy = 0;
      std::memcpy(&vx, buffer.data() + (q * 4 + v) * 16, sizeof vx);
      std::memcpy(&vy, buffer.data() + (q * 4 + v) * 16 + 4, sizeof vy);
      x0 = std::min(x0, vx), x1 = std::max(x1, vx), y0 = std::min(y0, vy), y1 = std::max(y1, vy);
    }
    const int64_t px0 = std::max<int64_t>(0, x + static_cast<int64_t>(x0) * size);
    const int64_t px1 = std::min<int64_t>(W, x + static_cast<int64_t>(x1) * size);
    const int64_t py0 = std::max<int64_t>(0, y + static_cast<int64_t>(y0) * size);
    const int64_t py1 = std::min<int64_t>(H, y + static_cast<int64_t>(y1) * size);
    if (px1 <= px0) continue;
    for (int64_t py = py0; py < py1; ++py) {
      std::memset(pixels + (py * W + px0) * 3, 0, static_cast<size_t>(px1 - px0) * 3);
    }
  }
}

torch::Tensor labelled_grid_image(const torch::Tensor& images, int64_t columns,
                                  const std::vector<std::string>& row_labels,
                                  const std::vector<std::string>& column_labels,
                                  const std::string& title, int64_t scale) {
  check(images.dim() == 4 && images.scalar_type() == torch::kUInt8 &&
            (images.size(3) == 1 || images.size(3) == 3),
        "labelled grid: images must be uint8 [N, H, W, 1 or 3], got ", images.sizes());
  check(columns >= 1 && scale >= 1 && scale <= 64, "labelled grid: invalid columns ", columns,
        " or scale ", scale);
  const int64_t n = images.size(0), rows = (n + columns - 1) / columns;
  const int64_t cell_h = images.size(1) * scale, cell_w = images.size(2) * scale;
  const int64_t text = cell_w >= 80 ? 2 : 1;  // font pixel size of the captions
  int64_t label_w = 0;
  for (const auto& l : row_labels) label_w = std::max(label_w, text_extent(l, text).first);
  label_w = std::min<int64_t>(label_w, 400);
  const int64_t grid_x = kMargin + (label_w > 0 ? label_w + kMargin : 0);
  const int64_t title_h = title.empty() ? 0 : text_extent(title, 2).second + kMargin;
  const int64_t header_h = column_labels.empty() ? 0 : 12 * text + kPadding;
  const int64_t grid_y = kMargin + title_h + header_h;
  const int64_t grid_w = columns * (cell_w + kPadding) - kPadding;
  const int64_t W = std::max(grid_x + grid_w + kMargin, 2 * kMargin + text_extent(title, 2).first);
  const int64_t H = grid_y + rows * (cell_h + kPadding) - kPadding + kMargin;
  auto canvas = torch::full({H, W, 3}, 255, torch::kUInt8);
  auto rgb = images.size(3) == 1 ? images.expand({-1, -1, -1, 3}) : images;
  // Magnify every cell by repeating pixels.
  rgb = rgb.repeat_interleave(scale, 1).repeat_interleave(scale, 2);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i / columns, c = i % columns;
    const int64_t y = grid_y + r * (cell_h + kPadding), x = grid_x + c * (cell_w + kPadding);
    canvas.narrow(0, y, cell_h).narrow(1, x, cell_w).copy_(rgb[i]);
  }
  if (!title.empty()) draw_text(canvas, title, kMargin, kMargin, 2);
  for (size_t c = 0; c < column_labels.size() && static_cast<int64_t>(c) < columns; ++c) {
    const auto label = fit_width(column_labels[c], cell_w, text);
    const int64_t x = grid_x + static_cast<int64_t>(c) * (cell_w + kPadding) +
                      (cell_w - text_extent(label, text).first) / 2;
    draw_text(canvas, label, x, kMargin + title_h, text);
  }
  for (size_t r = 0; r < row_labels.size() && static_cast<int64_t>(r) < rows; ++r) {
    const auto label = fit_width(row_labels[r], label_w, text);
    const int64_t y =
        grid_y + static_cast<int64_t>(r) * (cell_h + kPadding) + (cell_h - 12 * text) / 2;
    draw_text(canvas, label, kMargin, y, text);
  }
  return canvas;
}

}  // namespace elit::io
