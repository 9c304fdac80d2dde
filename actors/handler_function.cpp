#include "actors/handler_function.hpp"

#include "actors/mesh_error.hpp"

namespace meshrt {

caf::expected<byte_buffer> invoke_handler(const handler_function& fn, const byte_buffer& data,
                                          const std::string& sender) {
  try {
    return fn(data, sender);
  } catch (const std::exception& e) {
    return make_error(mesh_errc::handler_error, e.what());
  } catch (...) {
    return make_error(mesh_errc::handler_error, "the handler threw a non-standard exception");
  }
}

} // namespace meshrt
