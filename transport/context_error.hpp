#pragma once

// What meshrt's error categories (transport and mesh "meshrt", the store's
// "store") share: a code, and a context line for humans.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace caf {
class actor_system_config;
} // namespace caf

namespace meshrt::transport {

/// A caf::error of `category` and `code` whose context is `context`.
caf::error make_context_error(caf::atom_value category, uint8_t code, std::string context);

/// The context line of an error of `category` ("" for any other error).
std::string context_line(const caf::error& err, caf::atom_value category);

/// Lets CAF render errors of `category` as "<prefix>.<name_of(code)>:
/// <context>".
void add_context_category(caf::actor_system_config& cfg, caf::atom_value category,
                          const std::string& prefix, std::string (*name_of)(uint8_t code));

} // namespace meshrt::transport
