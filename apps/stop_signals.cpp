#include "apps/stop_signals.hpp"

#include <pthread.h>

namespace meshrt::cli {

stop_signals::stop_signals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

int stop_signals::wait() {
  int sig = 0;
  sigwait(&set_, &sig);
  return sig;
}

} // namespace meshrt::cli
