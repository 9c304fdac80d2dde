#include "runtime/metrics_server.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

#include <sys/socket.h>

#include <httplib.h>

#include <spdlog/spdlog.h>

#include "runtime/logging.hpp"

namespace meshrt {

struct metrics_server::impl {
  httplib::Server http;
  std::thread thread;
};

metrics_server::metrics_server(const std::string& address, uint16_t port,
                               std::function<std::string()> scrape) :
  impl_(std::make_unique<impl>()) {
  auto& http = impl_->http;
  // httplib's default adds SO_REUSEPORT, with which a second server binds a
  // port already taken and shares it; a taken port must be an error.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.Get("/metrics",
           [scrape = std::move(scrape)](const httplib::Request&, httplib::Response& res) {
             res.set_content(scrape(), "text/plain; version=0.0.4; charset=utf-8");
           });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404)
      res.set_content("meshrt serves its metrics at /metrics\n", "text/plain");
  });
  int bound
    = port == 0 ? http.bind_to_any_port(address) : (http.bind_to_port(address, port) ? port : -1);
  if (bound <= 0)
    throw std::runtime_error("metrics: cannot listen on " + address + ":" + std::to_string(port)
                             + " (metricsPort)");
  port_ = static_cast<uint16_t>(bound);
  impl_->thread = std::thread{[this] { impl_->http.listen_after_bind(); }};
  // stop() only stops a server that runs: wait for it (bounded), so a
  // destructor right after the constructor does not hang.
  for (int i = 0; i < 5000 && !http.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  logger("metrics")->info("serving Prometheus metrics on http://{}:{}/metrics", address, port_);
}

metrics_server::~metrics_server() {
  impl_->http.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

} // namespace meshrt
