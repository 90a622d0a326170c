// Plain-text tables laid out like kubectl's, for canaryctl's output.
#pragma once

#include <string>
#include <vector>

namespace canaryd::ctl {

using TableRow = std::vector<std::string>;

/// Rows as columns two spaces apart, each as wide as its widest cell, like kubectl's tables. The last
/// cell of a row is not padded and no line ends in spaces. Every line ends with '\n'.
std::string render_table(const std::vector<TableRow>& rows);

}  // namespace canaryd::ctl
