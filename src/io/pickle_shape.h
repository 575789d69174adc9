// The shape check an unpickled value passes before anything walks it (private to io/pickle.cpp).
#pragma once
#include <set>
#include <string>

#include "elit/io/pickle.h"

namespace elit::io::pickle_detail {

// Walks `root` without recursion and refuses (elit::Error, `where` naming the pickle) cycles,
// nesting deeper than 1000 levels and shared references that expand past 2^26 values. Returns
// every value the root reaches.
std::set<const PyValue*> check_shape(const PyRef& root, const std::string& where);

}  // namespace elit::io::pickle_detail
