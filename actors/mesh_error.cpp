#include "actors/mesh_error.hpp"

#include "transport/context_error.hpp"

namespace meshrt {

namespace {

constexpr caf::atom_value category = transport::error_category;

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
    case mesh_errc::handler_error:
      return "handler_error";
    case mesh_errc::request_timeout:
      return "request_timeout";
    case mesh_errc::unhealthy:
      return "unhealthy";
    case mesh_errc::invalid_data:
      return "invalid_data";
    case mesh_errc::no_handler:
      return "no_handler";
  }
  return "unknown_error";
}

caf::error make_error(mesh_errc code, std::string context) {
  return transport::make_context_error(category, static_cast<uint8_t>(code), std::move(context));
}

bool is(const caf::error& err, mesh_errc code) {
  return err.category() == category && err.code() == static_cast<uint8_t>(code);
}

bool is_request_error(const caf::error& err) {
  for (auto code : {mesh_errc::handler_error, mesh_errc::no_handler, mesh_errc::invalid_data,
                    mesh_errc::request_timeout, mesh_errc::unhealthy})
    if (is(err, code))
      return true;
  return false;
}

bool is_request_timeout_error(const caf::error& err) {
  return is(err, mesh_errc::request_timeout);
}

bool is_send_error(const caf::error& err) {
  return is(err, mesh_errc::network_error) || is(err, mesh_errc::message_too_large)
         || is(err, mesh_errc::invalid_address);
}

bool is_unhealthy_error(const caf::error& err) {
  return is(err, mesh_errc::unhealthy);
}

std::string context_of(const caf::error& err) {
  return transport::context_line(err, category);
}

void add_mesh_error_category(caf::actor_system_config& cfg) {
  transport::add_context_category(
    cfg, category, "meshrt", [](uint8_t code) { return to_string(static_cast<mesh_errc>(code)); });
}

} // namespace meshrt
