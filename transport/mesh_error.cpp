#include "transport/mesh_error.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

namespace meshrt {

namespace {

constexpr caf::atom_value category = caf::atom("meshrt");

} // namespace

std::string to_string(mesh_errc code) {
  switch (code) {
    case mesh_errc::network_error:
      return "network_error";
    case mesh_errc::message_too_large:
      return "message_too_large";
    case mesh_errc::invalid_address:
      return "invalid_address";
    case mesh_errc::unknown_node:
      return "unknown_node";
    case mesh_errc::invalid_argument:
      return "invalid_argument";
  }
  return "unknown_error";
}

caf::error make_error(mesh_errc code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), category, caf::make_message(std::move(context))};
}

bool is(const caf::error& err, mesh_errc code) {
  return err.category() == category && err.code() == static_cast<uint8_t>(code);
}

std::string context_of(const caf::error& err) {
  if (err.category() != category || !err.context().match_elements<std::string>())
    return {};
  return err.context().get_as<std::string>(0);
}

void add_mesh_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    std::string result = "meshrt." + to_string(static_cast<mesh_errc>(code));
    if (ctx.match_elements<std::string>())
      result += ": " + ctx.get_as<std::string>(0);
    return result;
  });
}

} // namespace meshrt
