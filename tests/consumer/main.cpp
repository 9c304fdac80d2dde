// Uses the installed headers under both spellings, the public face and the
// installed library.
#include <iostream>

#include <meshrt/meshrt.hpp>
#include <meshrt/runtime/config.hpp>
#include <runtime/version.hpp>

int main() {
  auto cfg = meshrt::parse_config(R"({"port": "8123"})", "<consumer>");
  std::cout << "meshrt " << meshrt::version() << " port " << cfg.mesh.port << '\n';
  return cfg.mesh.port == 8123 && meshrt::default_role("TCP") == meshrt::tcp_role ? 0 : 1;
}
