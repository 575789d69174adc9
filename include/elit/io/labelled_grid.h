// An image grid with its captions drawn into the pixels, for the many viewers that open the PNG
// rather than the SVG: a title on top, a caption above every column and left of every row, the
// cells magnified by an integer factor. Text is drawn with stb_easy_font (printable ASCII; other
// bytes become '?'), black on white.
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace elit::io {

// images: uint8 [N, H, W, C] (C = 1 or 3), row-major with `columns` per row; `scale` >= 1
// magnifies every cell. Row and column labels may be fewer than the rows and columns (the rest
// stay blank) -> uint8 [H', W', 3].
torch::Tensor labelled_grid_image(const torch::Tensor& images, int64_t columns,
                                  const std::vector<std::string>& row_labels,
                                  const std::vector<std::string>& column_labels,
                                  const std::string& title, int64_t scale);

// Width and height in pixels of `text` drawn at `size` (1 = stb_easy_font's 12-pixel lines).
std::pair<int64_t, int64_t> text_extent(const std::string& text, int64_t size);

// Draws `text` (one line) into `canvas` (uint8 [H, W, 3]) with its top-left corner at (x, y),
// each font pixel `size` x `size`; what falls outside the canvas is clipped.
void draw_text(torch::Tensor& canvas, const std::string& text, int64_t x, int64_t y, int64_t size);

}  // namespace elit::io
